"""Tickets and feedback belong to the night they are for (docs/metrics.md, daily_aggregations):
presales bought weeks ahead, feedback sent days later, across both DST nights; and a night's
revenue is the same in its daily figures, its events and its week."""

import datetime as dt

import polars as pl
import pytest

from backroom_reporting.demo.generator import generate
from backroom_reporting.metrics.business_time import BusinessWindow
from backroom_reporting.warehouse.tables.aggregations import daily_aggregations, weekly_summary
from backroom_reporting.warehouse.tables.events import event_performance_analytics
from tests.assets.test_daily_aggregations import UPSTREAM, loaded
from tests.design_section_5 import assert_same, daily_figures
from tests.worlds import at, small_world, write_source

NET = 2400 - 240  # each small-world order: two tickets at £12, less the £1.20 fee each


def ticket(order_id: str, event_id: str, bought: dt.datetime, status: str = "paid") -> dict:
    return dict(
        order_id=order_id,
        venue_id="leeds",
        event_id=event_id,
        customer_id="c3",
        quantity=2,
        gross_pence=2400,
        fee_pence=240,
        status=status,
        purchased_at=bought,
        refunded_at=bought + dt.timedelta(days=1) if status == "refunded" else None,
    )


def review(feedback_id: str, score: int, sent: dt.datetime, event_id=None, booking_id=None) -> dict:
    return dict(
        feedback_id=feedback_id,
        venue_id="leeds",
        customer_id="c2",
        booking_id=booking_id,
        event_id=event_id,
        score=score,
        nps=None,
        submitted_at=sent,
    )


@pytest.mark.parametrize(
    "dst_night",
    [dt.date(2026, 3, 28), dt.date(2026, 10, 24)],
    ids=["spring-forward", "fall-back"],
)
def test_tickets_and_feedback_count_on_the_night_they_are_for(databases, materialise, dst_night):
    before = dst_night - dt.timedelta(days=1)
    world = small_world([before, dst_night])
    event, earlier_event = f"e-{dst_night}", f"e-{before}"
    presale_day = dst_night - dt.timedelta(days=20)  # nothing else happens that day
    sent_later = dst_night + dt.timedelta(days=3)
    quiet_day = dst_night + dt.timedelta(days=2)
    booking_before = next(b["booking_id"] for b in world["bookings"] if b["event_id"] == earlier_event)
    world["ticket_sales"] += [
        ticket("o-presale", event, at(presale_day, "14:00")),
        ticket("o-bought-the-night-before", event, at(before, "23:00")),
        ticket("o-refunded", event, at(presale_day, "15:00"), status="refunded"),
    ]
    world["feedback"] += [
        review("f-about-the-dst-night", 1, at(sent_later, "12:00"), event_id=event),
        review("f-about-the-booking", 2, at(dst_night, "01:00"), booking_id=booking_before),
        review("f-about-nothing", 4, at(quiet_day, "13:00")),
    ]
    write_source(databases.source_url, world)
    window = BusinessWindow(presale_day, sent_later)
    materialise(window, UPSTREAM)
    actual = loaded(databases)

    # The independent implementation of the definitions, over every night with a fact.
    expected = daily_figures(databases.source_url)
    assert actual.keys() == expected.keys()
    for key, figures in expected.items():
        assert_same(figures, actual[key], key)

    # And stated outright.
    night, eve = actual[("leeds", dst_night)], actual[("leeds", before)]
    presale, quiet = actual[("leeds", presale_day)], actual[("leeds", quiet_day)]
    assert night["ticket_revenue_pence"] == 3 * NET  # its own night's order, the presale, the night before's
    assert night["tickets_sold"] == 6
    assert night["ticket_sales_taken_pence"] == NET  # only its own night's order was bought on it
    assert eve["ticket_sales_taken_pence"] == 2 * NET and eve["ticket_revenue_pence"] == NET
    # The presale day took the presale's money, for a night three weeks later.
    assert presale["ticket_sales_taken_pence"] == NET and presale["ticket_revenue_pence"] == 0
    assert presale["gross_revenue_pence"] == 0 and presale["check_ins"] == 0
    assert night["gross_revenue_pence"] == 800 + 450 + 1250 + 3 * NET
    assert night["spend_per_head_pence"] == pytest.approx(night["gross_revenue_pence"] / 2)  # two admissions
    # Scores: the night's own 5 and the 1 sent three days later; the night before has its own
    # 5 and the 2 sent during the DST night about its booking.
    assert (night["feedback_count"], night["avg_satisfaction"]) == (2, pytest.approx(3.0))
    assert (eve["feedback_count"], eve["avg_satisfaction"]) == (2, pytest.approx(3.5))
    assert (quiet["feedback_count"], quiet["avg_satisfaction"]) == (1, 4.0)
    assert ("leeds", sent_later) not in actual  # feedback sent then was about earlier nights


def test_a_nights_revenue_reconciles_across_its_figures_its_events_and_its_week(databases, materialise):
    week = BusinessWindow(dt.date(2026, 11, 16), dt.date(2026, 11, 22))
    generate(databases.source_url, 1, week.first_day - dt.timedelta(days=60), week.last_day, seed=11)
    history = BusinessWindow(week.first_day - dt.timedelta(days=60), week.last_day)
    materialise(history, UPSTREAM)
    materialise(week, ["event_performance_analytics", "weekly_summary"])
    db = databases.warehouse
    nights = db.read_table(
        daily_aggregations, daily_aggregations.c.business_date.between(week.first_day, week.last_day)
    )
    events = db.read_table(event_performance_analytics).filter(
        pl.col("business_date").is_between(week.first_day, week.last_day) & (pl.col("status") != "cancelled")
    )
    by_night = events.group_by("business_date").agg(
        pl.col(c).sum() for c in ("bar_revenue_pence", "table_revenue_pence", "ticket_revenue_pence")
    )
    assert by_night.height >= 3  # a week of club nights, not a vacuous comparison
    for row in by_night.iter_rows(named=True):
        day = nights.filter(pl.col("business_date") == row["business_date"]).row(0, named=True)
        for column in ("bar_revenue_pence", "table_revenue_pence", "ticket_revenue_pence"):
            assert row[column] == day[column], (row["business_date"], column)
    # Nights without an event take no revenue from anyone.
    without = nights.filter(~pl.col("business_date").is_in(by_night["business_date"].implode()))
    assert without["ticket_revenue_pence"].sum() == 0
    [summary] = db.read_table(weekly_summary, weekly_summary.c.week_start == week.first_day).to_dicts()
    assert summary["gross_revenue_pence"] == nights["gross_revenue_pence"].sum()
    assert summary["ticket_sales_taken_pence"] == nights["ticket_sales_taken_pence"].sum()
