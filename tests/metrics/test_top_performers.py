"""Top Performers: staff_performance rows of a week ranked within each role, with ties broken
the same way whatever order the rows come in."""

import datetime as dt
import random

import polars as pl
import pytest

from backroom_reporting.metrics.staff import RANKED_ROLES, TOP_PER_ROLE, top_performers
from backroom_reporting.warehouse.tables.customers import staff_performance
from backroom_reporting.warehouse.types import table_schema

MONDAY = dt.date(2026, 11, 16)

# (staff_id, name, role, [(day of the week, hours, bar sales in pence, entries processed)])
STAFF = [
    ("b1", "Ava Bar", "bar", [(2, 6.0, 60_000, 0), (4, 6.0, 90_000, 0)]),  # £12,500 an hour
    ("b2", "Ben Bar", "bar", [(3, 5.0, 62_500, 0)]),  # £12,500 an hour too: Ava first by name
    ("b3", "Cal Bar", "bar", [(5, 8.0, 160_000, 0)]),  # the best rate, not the most nights
    ("b4", "Zed Bar", "bar", [(5, 4.0, 0, 0)]),  # £0 on shift ...
    ("b5", "Amy Bar", "bar", [(4, 3.0, 0, 0)]),  # ... tied with Zed at £0: Amy first by name
    ("b6", "Amy Bar", "bar", [(2, 2.0, 0, 0)]),  # the same name: staff_id decides
    ("b7", "Kit Bar", "bar", [(3, 0.0, 5_000, 0)]),  # sales without a shift: no rate, last
    ("d1", "Dee Door", "door", [(4, 7.0, 0, 350), (5, 7.0, 0, 420)]),  # 55 an hour
    ("d2", "Don Door", "door", [(5, 5.0, 0, 300)]),  # 60 an hour: first, with fewer entries
    ("d3", "Dot Door", "door", [(3, 6.0, 0, 0)]),
    ("h1", "Hal Host", "host", [(4, 6.0, 0, 0), (5, 6.0, 0, 0)]),
    ("h2", "Hana Host", "host", [(5, 6.0, 0, 0)]),
    ("h3", "Hugo Host", "host", [(3, 6.0, 0, 0)]),  # tied with Hana on hours: Hana first
    ("m1", "Mo Manager", "manager", [(5, 9.0, 300_000, 0)]),  # not ranked, whatever the sales
    ("e1", "Eve Events", "events", [(5, 5.0, 0, 0)]),
]


def rows(order_seed: int | None = None) -> pl.DataFrame:
    records = [
        dict(
            venue_id="leeds",
            business_date=MONDAY + dt.timedelta(days=day),
            staff_id=staff_id,
            staff_name=name,
            role=role,
            shifts=1 if hours else 0,
            hours_on_shift=hours,
            bar_sales_pence=sales,
            bar_transactions=sales // 1_000,
            entries_processed=entries,
            sales_per_hour_pence=sales / hours if hours else None,
        )
        for staff_id, name, role, days in STAFF
        for day, hours, sales, entries in days
    ]
    if order_seed is not None:
        random.Random(order_seed).shuffle(records)
    return pl.DataFrame(records, schema=table_schema(staff_performance))


def expected_ranking() -> dict[str, list[str]]:
    """Each ranked role's staff_ids, best first: the role's figure over the week, descending
    (none last), then name, then staff_id."""
    ranking = {}
    for role in RANKED_ROLES:
        scored = []
        for staff_id, name, r, days in STAFF:
            if r != role:
                continue
            hours = sum(d[1] for d in days)
            if role == "bar":
                figure = sum(d[2] for d in days) / hours if hours else None
            elif role == "door":
                figure = sum(d[3] for d in days) / hours if hours else None
            else:
                figure = hours
            scored.append((figure is None, -(figure or 0), name, staff_id))
        ranking[role] = [s[3] for s in sorted(scored)][:TOP_PER_ROLE]
    return ranking


def test_each_role_is_ranked_by_its_own_figure():
    top = top_performers(rows())
    expected = expected_ranking()
    assert top["role"].to_list() == [r for r in RANKED_ROLES for _ in expected[r]]
    for role in RANKED_ROLES:
        mine = top.filter(pl.col("role") == role)
        assert mine["staff_id"].to_list() == expected[role], role
        assert mine["rank"].to_list() == list(range(1, len(expected[role]) + 1))
    # The door team appears although it sold nothing at the bar; managers and events staff do not.
    assert expected["door"][:2] == ["d2", "d1"]
    assert not top.filter(pl.col("role").is_in(["manager", "events"])).height


def test_figures_are_over_the_week_not_averages_of_nights():
    top = {r["staff_id"]: r for r in top_performers(rows()).iter_rows(named=True)}
    assert top["b1"]["sales_per_hour_pence"] == pytest.approx((60_000 + 90_000) / 12)
    assert top["d1"]["entries_per_hour"] == pytest.approx((350 + 420) / 14)
    assert (top["h1"]["hours_on_shift"], top["h1"]["shifts"]) == (12.0, 2)
    # Each role shows only the figure it is ranked by.
    assert top["d1"]["sales_per_hour_pence"] is None and top["b1"]["entries_per_hour"] is None
    assert top["h1"]["sales_per_hour_pence"] is None and top["h1"]["entries_per_hour"] is None


def test_ties_go_the_same_way_whatever_order_the_rows_come_in():
    first = top_performers(rows())
    for seed in range(5):
        assert top_performers(rows(order_seed=seed)).equals(first)
    bar = first.filter(pl.col("role") == "bar")["staff_id"].to_list()
    assert bar == ["b3", "b1", "b2", "b5", "b6"]  # Amy b5 and Amy b6 tie at £0: by staff_id ...
    assert "b4" not in bar  # ... and Zed, at £0 too, falls below the top five


def test_the_top_per_role_is_cut_after_ranking():
    assert top_performers(rows(), per_role=1)["staff_id"].to_list() == ["b3", "d2", "h1"]
