"""Weekly and monthly summaries: totals, means over trading days and changes."""

import datetime as dt

import polars as pl
import pytest

from backroom_reporting.metrics.summaries import previous_start, summaries
from backroom_reporting.warehouse.tables.aggregations import SUMMARY_TOTALS


def day(date: dt.date, gross: int, trading: bool = True, **extra) -> dict:
    row = dict.fromkeys(SUMMARY_TOTALS, 0)
    row.update(
        venue_id="leeds",
        business_date=date,
        gross_revenue_pence=gross,
        check_ins=100 if trading else 0,
        occupancy_rate=0.5 if trading else None,
        peak_occupancy=150 if trading else 0,
        avg_satisfaction=None,
        feedback_count=0,
    )
    row.update(extra)
    return row


def test_weeks_total_average_over_trading_days_and_compare_with_the_week_before():
    mon = dt.date(2026, 11, 9)
    rows = [
        day(mon + dt.timedelta(days=2), 400_000),  # Wednesday
        day(mon + dt.timedelta(days=5), 900_000, avg_satisfaction=4.0, feedback_count=3),  # Saturday
        day(
            mon + dt.timedelta(days=6), 20_000, trading=False, avg_satisfaction=1.0, feedback_count=1
        ),  # presales
        day(
            mon + dt.timedelta(days=9),
            500_000,
            no_shows=1,
            bookings_confirmed=4,
            bookings_total=5,
            bookings_cancelled=1,
        ),  # next Wednesday
    ]
    weeks = summaries(pl.DataFrame(rows), "week", through=mon + dt.timedelta(days=10)).to_dicts()
    first, second = weeks
    assert (first["week_start"], first["week_end"]) == (mon, mon + dt.timedelta(days=6))
    assert first["through_date"] == first["week_end"]  # a whole week
    assert second["through_date"] == mon + dt.timedelta(days=10)  # the next week, to date
    assert first["trading_days"] == 2
    assert first["gross_revenue_pence"] == 1_320_000
    assert first["avg_daily_gross_revenue_pence"] == 1_320_000 / 2
    assert first["avg_occupancy_rate"] == 0.5
    assert first["avg_satisfaction"] == pytest.approx((4.0 * 3 + 1.0) / 4)  # weighted by responses
    assert first["gross_revenue_pence_previous"] is None and first["gross_revenue_pence_change"] is None
    assert second["gross_revenue_pence_previous"] == 1_320_000
    assert second["gross_revenue_pence_change"] == pytest.approx((500_000 - 1_320_000) / 1_320_000)
    assert second["no_show_rate"] == 1 / 4 and second["cancellation_rate"] == 1 / 5
    assert second["avg_satisfaction"] is None  # no feedback that week


def test_a_to_date_row_counts_only_the_nights_closed_so_far():
    mon = dt.date(2026, 11, 16)
    rows = [
        day(mon, 100_000),
        day(mon + dt.timedelta(days=1), 200_000),
        day(mon + dt.timedelta(days=2), 400_000),
    ]
    (week,) = summaries(pl.DataFrame(rows), "week", through=mon + dt.timedelta(days=1)).to_dicts()
    assert week["through_date"] == mon + dt.timedelta(days=1)
    assert week["gross_revenue_pence"] == 300_000  # Wednesday is still open


def test_months_and_the_month_before():
    rows = [day(dt.date(2026, 1, 31), 100), day(dt.date(2026, 2, 1), 300), day(dt.date(2026, 3, 31), 600)]
    months = {
        r["month_start"]: r for r in summaries(pl.DataFrame(rows), "month", dt.date(2026, 3, 31)).to_dicts()
    }
    assert months[dt.date(2026, 2, 1)]["month_end"] == dt.date(2026, 2, 28)
    assert months[dt.date(2026, 2, 1)]["gross_revenue_pence_change"] == 2.0
    assert months[dt.date(2026, 3, 1)]["gross_revenue_pence_change"] == 1.0


@pytest.mark.parametrize(
    ("start", "period", "before"),
    [
        (dt.date(2026, 11, 9), "week", dt.date(2026, 11, 2)),
        (dt.date(2026, 3, 1), "month", dt.date(2026, 2, 1)),
        (dt.date(2026, 1, 1), "month", dt.date(2025, 12, 1)),
    ],
)
def test_previous_period_start(start, period, before):
    assert previous_start(start, period) == before
