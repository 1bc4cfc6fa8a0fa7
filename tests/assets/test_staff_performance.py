"""staff_performance, materialised from the raw layer through Dagster on SQLite and PostgreSQL.

Expected rows are worked out from the hand-built world (tests/worlds.py) with plain Python.
"""

import datetime as dt
from collections import defaultdict

import pytest

from backroom_reporting.metrics.business_time import BusinessWindow
from backroom_reporting.warehouse.source_contract import CONTRACT
from backroom_reporting.warehouse.tables.customers import staff_performance
from tests.worlds import night_of, small_world, write_source

SPRING = dt.date(2026, 3, 28)  # 23 hours
AUTUMN = dt.date(2026, 10, 24)  # 25 hours
NIGHTS = [dt.date(2026, 3, 27), SPRING, dt.date(2026, 3, 29), AUTUMN]
WINDOWS = [BusinessWindow(dt.date(2026, 3, 27), SPRING), BusinessWindow(AUTUMN, AUTUMN)]
SELECTION = [f"raw_{name}" for name in CONTRACT] + ["staff_performance"]


def expected_rows(world: dict, days: set[dt.date]) -> dict[tuple, dict]:
    rows = defaultdict(lambda: dict(shifts=0, hours=0.0, sales=0, transactions=0, entries=0))
    for s in world["staff_shifts"]:
        if night_of(s["starts_at"]) in days:
            r = rows[(night_of(s["starts_at"]), s["staff_id"])]
            r["shifts"] += 1
            r["hours"] += (s["ends_at"] - s["starts_at"]).total_seconds() / 3600
    for t in world["bar_transactions"]:
        if night_of(t["occurred_at"]) in days:
            r = rows[(night_of(t["occurred_at"]), t["staff_id"])]
            r["sales"] += t["amount_pence"]
            r["transactions"] += 1
    for c in world["check_ins"]:
        if c["direction"] == "in" and night_of(c["scanned_at"]) in days:
            rows[(night_of(c["scanned_at"]), c["staff_id"])]["entries"] += 1
    return dict(rows)


@pytest.fixture
def world(databases):
    world = small_world(NIGHTS)
    write_source(databases.source_url, world)
    return world


def test_staff_days_match_the_world_on_both_dst_nights_and_rerun_identically(databases, materialise, world):
    results = [materialise(window, SELECTION) for window in WINDOWS]
    table = databases.warehouse.read_table(staff_performance)
    staff = {s["staff_id"]: s for s in world["staff"]}
    expected = expected_rows(world, {d for w in WINDOWS for d in w.days})
    actual = {(r["business_date"], r["staff_id"]): r for r in table.to_dicts()}
    assert actual.keys() == expected.keys()
    for key, e in expected.items():
        a = actual[key]
        assert (a["venue_id"], a["staff_name"], a["role"]) == (
            "leeds",
            staff[key[1]]["name"],
            staff[key[1]]["role"],
        )
        assert a["shifts"] == e["shifts"]
        assert a["hours_on_shift"] == pytest.approx(e["hours"])
        assert (a["bar_sales_pence"], a["bar_transactions"], a["entries_processed"]) == (
            e["sales"],
            e["transactions"],
            e["entries"],
        )
        assert a["sales_per_hour_pence"] == (pytest.approx(e["sales"] / e["hours"]) if e["hours"] else None)

    # The door's 20:00-03:30 shift: 6.5 hours on the spring-forward night, 8.5 on the fall-back one.
    assert actual[(SPRING, "s-door")]["hours_on_shift"] == 6.5
    assert actual[(AUTUMN, "s-door")]["hours_on_shift"] == 8.5
    assert actual[(dt.date(2026, 3, 27), "s-door")]["hours_on_shift"] == 7.5
    # The bar worked every night without a shift on the rota: no rate, and a warning.
    assert actual[(SPRING, "s-bar")]["sales_per_hour_pence"] is None
    for stages in results:
        assert "staff_performance:activity_without_shift" in {f for s in stages for f in s.check_failures}

    # Re-running one day replaces that day and nothing else.
    materialise(BusinessWindow(SPRING, SPRING), ["staff_performance"])
    assert databases.warehouse.read_table(staff_performance).equals(table)
