"""daily_aggregations against docs/metrics.md, column by column, on SQLite and PostgreSQL."""

import datetime as dt

import pytest

from backroom_reporting.demo.generator import generate
from backroom_reporting.metrics.business_time import BusinessWindow
from backroom_reporting.warehouse.source_contract import CONTRACT
from backroom_reporting.warehouse.tables.aggregations import daily_aggregations, night_status
from tests.design_section_5 import assert_same, daily_figures
from tests.worlds import night_of, small_world, write_source

UPSTREAM = [
    *(f"raw_{name}" for name in CONTRACT),
    "customer_visits",
    "hourly_aggregations",
    "daily_aggregations",
]


def loaded(databases) -> dict[tuple[str, dt.date], dict]:
    rows = databases.warehouse.read_table(daily_aggregations).to_dicts()
    return {(r["venue_id"], r["business_date"]): r for r in rows}


def test_every_figure_matches_design_section_5_on_generated_data(databases, materialise):
    # Two venues, three weeks around the spring-forward night.
    window = BusinessWindow(dt.date(2026, 3, 16), dt.date(2026, 4, 5))
    generate(databases.source_url, 2, window.first_day, window.last_day, seed=5)
    # Facts before the window (presales, deposits) belong to earlier days: load them too.
    history = BusinessWindow(window.first_day - dt.timedelta(days=45), window.last_day)
    materialise(history, UPSTREAM)
    expected = {k: v for k, v in daily_figures(databases.source_url).items() if k[1] <= window.last_day}
    actual = loaded(databases)
    assert actual.keys() == expected.keys()
    for key, figures in expected.items():
        assert_same(figures, actual[key], key)
    assert any(r["check_ins"] for r in actual.values())  # the comparison is not vacuous


NIGHTS = [dt.date(2026, 3, 27), dt.date(2026, 3, 28)]


def test_hand_built_nights_have_the_known_answers(databases, materialise):
    """tests/worlds.small_world: each night one table party of 6 (c1, completed, birthday,
    £60 deposit paid at 23:30), two tickets at £12 less £1.20 each way in fees bought by c2
    at 00:15, four scans (c1 in 22:00, c2 in 00:30, c1 out 02:45, c2 out 05:59), bar sales
    of £4.50 (22:30) and £8.00 (03:00) plus £12.50 on the table's tab (01:10), feedback 5."""
    write_source(databases.source_url, small_world(NIGHTS))
    materialise(BusinessWindow(NIGHTS[0], NIGHTS[-1]), UPSTREAM)
    rows = loaded(databases)
    assert sorted(rows) == [("leeds", NIGHTS[0]), ("leeds", NIGHTS[1])]
    friday, saturday = rows[("leeds", NIGHTS[0])], rows[("leeds", NIGHTS[1])]
    assert_same(
        {
            "bar_revenue_pence": 450 + 800,
            "table_revenue_pence": 1250,
            "ticket_revenue_pence": 2400 - 240,
            "gross_revenue_pence": 1250 + 1250 + 2160,
            "deposits_pence": 6000,
            "refunds_pence": 0,
            "net_revenue_pence": 4660,
            "bookings_total": 1,
            "bookings_confirmed": 1,
            "bookings_cancelled": 0,
            "no_shows": 0,
            "bookings_completed": 1,
            "covers": 6,
            "no_show_rate": 0.0,
            "check_ins": 2,
            "check_outs": 2,
            "peak_occupancy": 2,
            "occupancy_rate": 2 / 300,
            "peak_hour": 0,
            "new_customers": 2,
            "returning_customers": 0,
            "vip_customers": 0,
            "birthdays": 1,
            "anniversaries": 0,
            "avg_satisfaction": 5.0,
            "visitors": 2,
            "tickets_sold": 2,
            "feedback_count": 1,
            "tables_used": 1,
            "table_turnover": 1.0,
            "spend_per_head_pence": 4660 / 2,
            "avg_party_size": 6.0,
            "avg_deposit_pence": 6000.0,
        },
        friday,
        "friday",
    )
    # Saturday is the spring-forward night: same facts, same answers, but both are back.
    assert (saturday["new_customers"], saturday["returning_customers"]) == (0, 2)
    assert saturday["peak_hour"] == 0 and saturday["gross_revenue_pence"] == 4660


def test_returning_customers_are_known_across_separate_runs(databases, materialise):
    write_source(databases.source_url, small_world(NIGHTS))
    for night in NIGHTS:
        materialise(BusinessWindow(night, night), UPSTREAM)
    saturday = loaded(databases)[("leeds", NIGHTS[1])]
    assert (saturday["new_customers"], saturday["returning_customers"]) == (0, 2)


def test_rates_are_null_when_nothing_to_divide_by(databases, materialise):
    world = small_world(NIGHTS[:1])
    for table in ("bookings", "feedback", "payments"):
        world[table] = []
    for scan in world["check_ins"]:  # walk-ins: nobody known came
        scan.update(customer_id=None, booking_id=None, order_id=None)
    write_source(databases.source_url, world)
    materialise(BusinessWindow(NIGHTS[0], NIGHTS[0]), UPSTREAM)
    friday = loaded(databases)[("leeds", NIGHTS[0])]
    for column in (
        "no_show_rate",
        "avg_satisfaction",
        "table_turnover",
        "avg_party_size",
        "avg_deposit_pence",
    ):
        assert friday[column] is None, column
    assert friday["visitors"] == 0 and friday["peak_occupancy"] == 2
    # Spend per head is per admission: walk-ins count.
    assert friday["spend_per_head_pence"] == friday["gross_revenue_pence"] / friday["check_ins"]


def test_a_night_failing_a_blocking_check_keeps_its_previous_figures(databases, materialise):
    world = small_world(NIGHTS)
    write_source(databases.source_url, world)
    window = BusinessWindow(NIGHTS[0], NIGHTS[-1])
    materialise(window, UPSTREAM)
    before = loaded(databases)
    # Friday's door scans vanish from the source: a trading night without scans is incomplete.
    world["check_ins"] = [s for s in world["check_ins"] if night_of(s["scanned_at"]) != NIGHTS[0]]
    write_source(databases.source_url, world)
    stages = materialise(window, UPSTREAM)
    after = loaded(databases)
    assert after[("leeds", NIGHTS[0])] == before[("leeds", NIGHTS[0])]  # Friday's good figures stay
    assert after[("leeds", NIGHTS[1])]["check_ins"] == before[("leeds", NIGHTS[1])]["check_ins"]
    failed = {f: c for stage in stages for f, c in stage.failed_checks.items()}
    assert failed["daily_aggregations:open_nights_complete"].partitions == [NIGHTS[0].isoformat()]
    status = {r["business_date"]: r for r in databases.warehouse.read_table(night_status).to_dicts()}
    assert status[NIGHTS[0]]["failed_checks"] == "open_nights_complete"
    assert status[NIGHTS[1]]["failed_checks"] is None and status[NIGHTS[1]]["final"]


@pytest.mark.parametrize("night", [dt.date(2026, 10, 24), dt.date(2026, 3, 28)])
def test_dst_nights_have_their_real_number_of_hours(databases, materialise, night):
    write_source(databases.source_url, small_world([night]))
    materialise(BusinessWindow(night, night), UPSTREAM)
    from backroom_reporting.warehouse.tables.aggregations import hourly_aggregations

    hours = databases.warehouse.read_table(hourly_aggregations)
    assert hours.height == (25 if night.month == 10 else 23)
    assert hours["local_hour"].to_list().count(1) == (2 if night.month == 10 else 0)
    daily = loaded(databases)[("leeds", night)]
    assert hours["check_ins"].sum() == daily["check_ins"]
    assert hours["occupancy_max"].max() == daily["peak_occupancy"]
    assert hours.sort("hour_start")["occupancy_end"].to_list()[-1] == 0  # everyone left
