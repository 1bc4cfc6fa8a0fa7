"""The raw layer, materialised through Dagster against real SQLite and PostgreSQL.

Expected rows are derived here from the source rows with plain SQLAlchemy and zoneinfo,
never from the project's own functions.
"""

import datetime as dt
import json

import dagster as dg
import pytest
import sqlalchemy as sa

from backroom_reporting.ingest.guards import ACCEPT_TAG
from backroom_reporting.metrics import business_time
from backroom_reporting.metrics.business_time import BusinessWindow
from backroom_reporting.warehouse.source_contract import CONTRACT
from backroom_reporting.warehouse.tables.raw import RAW, raw_quarantine, raw_snapshot_loads
from tests.worlds import UTC, at, insert_raw, night_of, small_world, source_rows, write_source

RAW_ASSETS = [f"raw_{name}" for name in CONTRACT]

# Friday 27 March and the spring-forward Saturday; the nights either side must not load.
NIGHTS = [dt.date(2026, 3, 26), dt.date(2026, 3, 27), dt.date(2026, 3, 28), dt.date(2026, 3, 29)]
WINDOW = BusinessWindow(dt.date(2026, 3, 27), dt.date(2026, 3, 28))


def as_instant(value) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value.astimezone(UTC)
    parsed = dt.datetime.fromisoformat(value)
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def expected_rows(url: str, table: str) -> dict[str, dict]:
    """Source rows the window owns, by key, with the business date they belong to."""
    rules = CONTRACT[table]
    rows = {}
    for row in source_rows(url, table):
        if rules.is_fact:
            night = night_of(as_instant(row[rules.business_time]))
            if not WINDOW.first_day <= night <= WINDOW.last_day:
                continue
            row["business_date"] = night
        rows[row[rules.key]] = row
    return rows


def warehouse_rows(databases, table: str) -> dict[str, dict]:
    key = CONTRACT[table].key
    return {r[key]: r for r in databases.warehouse.read_table(RAW[table]).to_dicts()}


def same_value(expected, actual) -> bool:
    if isinstance(actual, dt.datetime):
        return as_instant(expected) == actual
    if isinstance(actual, dt.date):
        return dt.date.fromisoformat(str(expected)[:10]) == actual
    if isinstance(actual, bool):
        return bool(int(expected)) == actual if isinstance(expected, str) else bool(expected) == actual
    return expected == actual


def quarantine(databases) -> list[dict]:
    return databases.warehouse.read_table(raw_quarantine).to_dicts()


@pytest.fixture
def world(databases):
    write_source(databases.source_url, small_world(NIGHTS))
    return databases


def test_every_raw_table_holds_exactly_its_window(world, materialise):
    materialise(WINDOW, RAW_ASSETS)
    for table, rules in CONTRACT.items():
        expected = expected_rows(world.source_url, table)
        actual = warehouse_rows(world, table)
        assert actual.keys() == expected.keys(), table
        for key, row in expected.items():
            for column, value in row.items():
                if column in rules.not_kept:  # personal data the warehouse does not keep
                    assert column not in actual[key], (table, column)
                    continue
                assert same_value(value, actual[key][column]), (
                    table,
                    key,
                    column,
                    value,
                    actual[key][column],
                )
    assert quarantine(world) == []


def test_small_hours_belong_to_the_night_before_across_the_dst_change(world, materialise):
    materialise(WINDOW, RAW_ASSETS)
    scans = warehouse_rows(world, "check_ins")
    by_day = {}
    for row in scans.values():
        by_day.setdefault(row["business_date"], []).append(row["scanned_at"])
    # 22:00, 00:30, 02:45 and 05:59 local all belong to the night they started on.
    assert sorted(by_day) == [dt.date(2026, 3, 27), dt.date(2026, 3, 28)]
    saturday = sorted(by_day[dt.date(2026, 3, 28)])
    assert saturday[0] == dt.datetime(2026, 3, 28, 22, 0, tzinfo=UTC)  # 22:00 GMT
    assert saturday[-1] == dt.datetime(2026, 3, 29, 4, 59, tzinfo=UTC)  # 05:59 BST


def test_rematerialising_gives_the_same_warehouse(world, materialise):
    materialise(WINDOW, RAW_ASSETS)
    first = {t: sorted(map(repr, warehouse_rows(world, t).items())) for t in CONTRACT}
    materialise(WINDOW, RAW_ASSETS)
    materialise(BusinessWindow(dt.date(2026, 3, 28), dt.date(2026, 3, 28)), RAW_ASSETS)
    assert {t: sorted(map(repr, warehouse_rows(world, t).items())) for t in CONTRACT} == first


def per_night(stages) -> dict[tuple[str, str], dict]:
    """Each night's metadata of each asset, without what the step cost."""
    return {
        (m.asset_key.to_user_string(), m.partition): {
            k: v.value for k, v in m.metadata.items() if not k.startswith("step_")
        }
        for stage in stages
        for m in stage.materializations
        if m.partition
    }


def test_a_range_loaded_in_chunks_gives_what_one_load_of_it_gives(world, materialise, monkeypatch):
    nights = BusinessWindow(NIGHTS[0], NIGHTS[-1])
    template = next(iter(expected_rows(world.source_url, "feedback").values()))
    insert_raw(world.source_url, "feedback", [{**template, "feedback_id": "bad", "score": 0}])
    monkeypatch.setattr(business_time, "CHUNK_VENUE_NIGHTS", 3)  # one venue: 26-28 March, then the 29th
    chunked = materialise(nights, RAW_ASSETS)
    tables = {t: sorted(map(repr, warehouse_rows(world, t).items())) for t in CONTRACT}
    monkeypatch.setattr(business_time, "CHUNK_VENUE_NIGHTS", 28)
    whole = materialise(nights, RAW_ASSETS)
    assert {t: sorted(map(repr, warehouse_rows(world, t).items())) for t in CONTRACT} == tables
    assert per_night(chunked) == per_night(whole)
    assert len(per_night(whole)) == 7 * len(nights.days)
    assert (
        chunked[1].failed_checks.keys() == whole[1].failed_checks.keys() == {"raw_feedback:quarantine_rate"}
    )
    assert [q["record_id"] for q in quarantine(world)] == ["bad"]


SNAPSHOTS = [f"raw_{name}" for name, rules in CONTRACT.items() if not rules.is_fact]


def snapshot_loads(databases) -> dict[str, dict]:
    return {r["source_table"]: r for r in databases.warehouse.read_table(raw_snapshot_loads).to_dicts()}


def unchanged(stages) -> dict[str, bool]:
    [stage] = stages
    return {
        m.asset_key.to_user_string(): m.metadata["source_unchanged"].value for m in stage.materializations
    }


def test_a_snapshot_whose_source_did_not_change_is_not_written_again(world, materialise):
    customer = source_rows(world.source_url, "customers")[0]
    insert_raw(world.source_url, "customers", [{**customer, "customer_id": "no-email", "email": None}])
    first = materialise(WINDOW, SNAPSHOTS)
    assert not any(unchanged(first).values())
    written = snapshot_loads(world)
    assert written["customers"]["rows_loaded"] == 3 and written["customers"]["rows_quarantined"] == 1

    again = materialise(WINDOW, SNAPSHOTS)
    assert all(unchanged(again).values())
    assert snapshot_loads(world) == written  # not even the ledger was written
    # The skipped load reports what the last one found, its quarantined row included.
    assert again[0].failed_checks.keys() == first[0].failed_checks.keys() == {"raw_customers:quarantine_rate"}

    engine = sa.create_engine(world.source_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE customers SET is_vip = :vip WHERE customer_id = 'c1'"), {"vip": True})
    engine.dispose()
    changed = unchanged(materialise(WINDOW, SNAPSHOTS))
    assert [name for name, same in changed.items() if not same] == ["raw_customers"]
    assert warehouse_rows(world, "customers")["c1"]["is_vip"] is True

    # A new venue: the snapshots that refer to venues are checked against it again.
    venue = source_rows(world.source_url, "venues")[0]
    insert_raw(world.source_url, "venues", [{**venue, "venue_id": "york", "name": "The Backroom York"}])
    changed = unchanged(materialise(WINDOW, SNAPSHOTS))
    assert sorted(name for name, same in changed.items() if not same) == [
        "raw_events",
        "raw_staff",
        "raw_venue_tables",
        "raw_venues",
    ]

    # A raw table emptied behind the ledger's back is loaded again.
    with world.warehouse.engine.begin() as conn:
        conn.execute(sa.delete(RAW["staff"]))
    assert unchanged(materialise(WINDOW, SNAPSHOTS))["raw_staff"] is False
    assert warehouse_rows(world, "staff").keys() == expected_rows(world.source_url, "staff").keys()


def test_each_night_reports_its_own_rows_quarantine_and_load(world, materialise):
    [_, facts] = materialise(WINDOW, RAW_ASSETS)
    nights = {
        m.partition: m.metadata
        for m in facts.materializations
        if m.asset_key.to_user_string() == "raw_bookings"
    }
    assert sorted(nights) == ["2026-03-27", "2026-03-28"]
    expected = expected_rows(world.source_url, "bookings").values()
    for night, metadata in nights.items():
        assert metadata["rows"].value == sum(1 for r in expected if str(r["business_date"]) == night)
        assert metadata["quarantined"].value == 0
        assert metadata["final"].value is True  # loaded long after the night closed
        assert metadata["checks"].value == "all passed"
    assert facts.partitions == 2
    assert facts.check_failures == []


BAD_ROWS = [
    # (table, changes to a good row of that table in the window, expected reason)
    ("bookings", {"status": "pending"}, "unknown_enum"),
    ("bookings", {"party_size": 0}, "not_positive"),
    ("bookings", {"customer_id": None}, "missing_required"),
    ("bookings", {"customer_id": "c-unknown"}, "unknown_reference"),
    ("bookings", {"venue_id": "sheffield"}, "unknown_reference"),
    ("bookings", {"event_id": "e-unknown"}, "unknown_reference"),
    ("payments", {"amount_pence": -6000}, "not_positive"),
    ("payments", {"booking_id": "b-unknown"}, "unknown_reference"),
    ("ticket_sales", {"gross_pence": -100}, "negative_money"),
    ("check_ins", {"direction": "through"}, "unknown_enum"),
    ("check_ins", {"order_id": "o-unknown"}, "unknown_reference"),
    ("bar_transactions", {"amount_pence": -450}, "negative_money"),
    ("feedback", {"score": 9}, "out_of_range"),
    ("staff_shifts", {"staff_id": "s-unknown"}, "unknown_reference"),
    ("customers", {"email": None}, "missing_required"),
    ("events", {"brand": "FOAM PARTY"}, "unknown_enum"),
    ("venue_tables", {"seats": -4}, "not_positive"),
]


def test_every_kind_of_bad_row_is_quarantined_and_every_good_row_loads(world, materialise):
    good = {t: expected_rows(world.source_url, t) for t in CONTRACT}
    injected = []
    for n, (table, changes, reason) in enumerate(BAD_ROWS):
        rules = CONTRACT[table]
        template = next(iter(good[table].values()))
        row = {**{c.name: template[c.name] for c in rules.table.columns}, rules.key: f"bad-{n}", **changes}
        insert_raw(world.source_url, table, [row])
        injected.append((table, f"bad-{n}", reason))
    # A duplicate of a good booking, and a booking whose time no day can own.
    booking = next(iter(good["bookings"].values()))
    insert_raw(
        world.source_url,
        "bookings",
        [{**{c.name: booking[c.name] for c in CONTRACT["bookings"].table.columns}, "party_size": 12}],
    )
    injected.append(("bookings", booking["booking_id"], "duplicate_id"))
    insert_raw(
        world.source_url,
        "bookings",
        [
            {
                **{c.name: booking[c.name] for c in CONTRACT["bookings"].table.columns},
                "booking_id": "no-time",
                "booking_start": None,
            }
        ],
    )
    injected.append(("bookings", "no-time", "missing_required"))

    # So many bad bookings on one night trip its quarantine-rate guard; an engineer who has
    # read them accepts the load (tests/assets/test_good_data_survives.py covers the guard).
    materialise(WINDOW, RAW_ASSETS, tags={ACCEPT_TAG: "all"})

    found = {(q["source_table"], q["record_id"]): q for q in quarantine(world)}
    assert set(found) == {(t, k) for t, k, _ in injected}
    for table, key, reason in injected:
        row = found[(table, key)]
        assert row["reason"] == reason, (table, key, row["detail"])
        assert json.loads(row["raw_values"])[CONTRACT[table].key] == key
    assert found[("bookings", "no-time")]["business_date"] is None
    assert found[("bookings", "bad-0")]["business_date"] in WINDOW.days
    for table, rows in good.items():
        loaded = warehouse_rows(world, table)
        assert loaded.keys() == rows.keys(), table
    # The first copy of the duplicated booking is the one loaded.
    assert warehouse_rows(world, "bookings")[booking["booking_id"]]["party_size"] == booking["party_size"]


def test_times_written_in_other_iso_forms_still_land_on_their_night(world, materialise):
    """An outside writer may store '+00:00', 'Z' or a space; on SQLite that is text as written."""
    if world.source.dialect != "sqlite":
        pytest.skip("PostgreSQL stores timestamptz, not text")
    template = next(iter(expected_rows(world.source_url, "bar_transactions").values()))
    forms = {
        "iso-z": "2026-03-28T23:59:00Z",
        "iso-offset": "2026-03-29 01:30:00+01:00",
        "space": "2026-03-28 22:15:00",
        "outside": "2026-03-29 07:00:00+01:00",
        "garbage": "last saturday",
        # Not dates, though the first begins every time on the 2xth of March.
        "truncated": "2026-03-2",
        "no-month": "2026-13-28 23:00:00",
        "no-dashes": "20260328 230000",
    }
    insert_raw(
        world.source_url,
        "bar_transactions",
        [{**template, "transaction_id": key, "occurred_at": value} for key, value in forms.items()],
    )
    materialise(WINDOW, RAW_ASSETS)
    loaded = warehouse_rows(world, "bar_transactions")
    assert loaded["iso-z"]["occurred_at"] == dt.datetime(2026, 3, 28, 23, 59, tzinfo=UTC)
    assert loaded["iso-offset"]["occurred_at"] == dt.datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    assert loaded["space"]["business_date"] == dt.date(2026, 3, 28)
    assert "outside" not in loaded  # 07:00 BST on the 29th is Sunday's business day
    undated = {q["record_id"]: q for q in quarantine(world)}
    for key in ("garbage", "truncated", "no-month", "no-dashes"):
        assert undated[key]["reason"] == "invalid_value" and undated[key]["business_date"] is None, key
    assert loaded.keys() & undated.keys() == set()


def test_quarantine_check_fails_above_one_percent(world, materialise):
    template = next(iter(expected_rows(world.source_url, "feedback").values()))
    insert_raw(world.source_url, "feedback", [{**template, "feedback_id": "bad", "score": 0}])
    [_, facts] = materialise(WINDOW, RAW_ASSETS)
    assert facts.check_failures == ["raw_feedback:quarantine_rate"]


def test_a_late_duplicate_for_another_night_is_quarantined_not_loaded_twice(world, materialise):
    materialise(WINDOW, RAW_ASSETS)
    saturday = BusinessWindow(dt.date(2026, 3, 28), dt.date(2026, 3, 28))
    friday_scan = next(
        r for r in warehouse_rows(world, "check_ins").values() if r["business_date"] == dt.date(2026, 3, 27)
    )
    copy = {c.name: friday_scan[c.name] for c in CONTRACT["check_ins"].table.columns}
    insert_raw(world.source_url, "check_ins", [{**copy, "scanned_at": at(dt.date(2026, 3, 28), "23:00")}])
    materialise(saturday, ["raw_check_ins"])
    assert warehouse_rows(world, "check_ins")[friday_scan["check_in_id"]]["business_date"] == dt.date(
        2026, 3, 27
    )
    [dup] = quarantine(world)
    assert dup["reason"] == "duplicate_id" and "already loaded for business day 2026-03-27" in dup["detail"]


def test_unknown_schema_revision_is_refused_with_the_fix(databases, materialise):
    write_source(databases.source_url, small_world(NIGHTS))
    with databases.warehouse.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = 'not-this-one'"))
    with pytest.raises(dg.DagsterResourceFunctionError) as raised:
        materialise(WINDOW, ["raw_venues"])
    assert "run `backroom db upgrade`" in str(raised.value.__cause__)
