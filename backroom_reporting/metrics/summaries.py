"""weekly_summary and monthly_summary: totals and means of daily_aggregations per period,
compared with the period before (the spec's weekly_summary_view and monthly_summary_view).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import polars as pl

from backroom_reporting.metrics.daily import trading
from backroom_reporting.metrics.ratios import ratio, relative_change
from backroom_reporting.warehouse.tables.aggregations import SUMMARY_COMPARED, SUMMARY_TOTALS

Period = Literal["week", "month"]


def period_start(day: pl.Expr, period: Period) -> pl.Expr:
    """The Monday of a business week, or the first day of a month."""
    return day.dt.truncate("1w") if period == "week" else day.dt.month_start()


def period_end(start: pl.Expr, period: Period) -> pl.Expr:
    return start.dt.offset_by("6d") if period == "week" else start.dt.month_end()


def previous_start(start: dt.date, period: Period) -> dt.date:
    """The first day of the period before the one starting on `start`."""
    if period == "week":
        return start - dt.timedelta(days=7)
    return (start - dt.timedelta(days=1)).replace(day=1)


def summaries(daily: pl.DataFrame, period: Period, through: dt.date) -> pl.DataFrame:
    """One row per venue and period present in `daily` (daily_aggregations rows), covering
    the nights up to `through` (the last closed night): a period not over by then is a
    to-date row, its through_date says how far it goes.

    Comparisons need the previous period's rows in `daily` too; without them they are null.
    """
    start = f"{period}_start"
    rows = daily.filter(pl.col("business_date") <= through).with_columns(
        period_start(pl.col("business_date"), period).alias(start), trading().alias("_trading")
    )
    trading_days = pl.col("_trading")
    totals = rows.group_by("venue_id", start).agg(
        trading_days.sum().cast(pl.Int64).alias("trading_days"),
        *(pl.col(c).sum().cast(pl.Int64) for c in SUMMARY_TOTALS),
        pl.col("peak_occupancy").max().cast(pl.Int64),
        pl.col("occupancy_rate").filter(trading_days).mean().alias("avg_occupancy_rate"),
        (pl.col("avg_satisfaction") * pl.col("feedback_count")).sum().alias("_satisfaction_points"),
    )
    summary = totals.with_columns(
        period_end(pl.col(start), period).alias(f"{period}_end"),
        pl.min_horizontal(period_end(pl.col(start), period), pl.lit(through)).alias("through_date"),
        ratio(pl.col("no_shows"), pl.col("bookings_confirmed")).alias("no_show_rate"),
        ratio(pl.col("bookings_cancelled"), pl.col("bookings_total")).alias("cancellation_rate"),
        ratio(pl.col("gross_revenue_pence"), pl.col("trading_days")).alias("avg_daily_gross_revenue_pence"),
        ratio(pl.col("_satisfaction_points"), pl.col("feedback_count")).alias("avg_satisfaction"),
    ).drop("_satisfaction_points")

    previous = summary.select(
        "venue_id",
        # The period this one is "previous" to.
        (pl.col(start).dt.offset_by("1w") if period == "week" else pl.col(start).dt.offset_by("1mo")).alias(
            start
        ),
        *(pl.col(m).cast(pl.Float64).alias(f"{m}_previous") for m in SUMMARY_COMPARED),
    )
    compared = summary.join(previous, on=["venue_id", start], how="left").with_columns(
        relative_change(m, f"{m}_previous").alias(f"{m}_change") for m in SUMMARY_COMPARED
    )
    return compared.sort("venue_id", start)
