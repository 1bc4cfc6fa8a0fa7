"""hourly_aggregations: each London hour of a trading day, per venue.

Hours are real hours (UTC instants), so the spring-forward business day has 23 and the
fall-back one 25, and the additive columns of a day's hours sum to its daily figures.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from backroom_reporting.metrics.business_time import BusinessWindow, business_date, local_hour
from backroom_reporting.metrics.daily import DAY, DayFacts
from backroom_reporting.metrics.occupancy import running_occupancy
from backroom_reporting.warehouse.tables.aggregations import hourly_aggregations as hourly_table
from backroom_reporting.warehouse.types import table_schema

HOUR = ["venue_id", "hour_start"]
HOUR_LENGTH = dt.timedelta(hours=1)
ADDITIVE = (
    "check_ins",
    "check_outs",
    "bar_revenue_pence",
    "bar_transactions",
    "table_revenue_pence",
    "table_transactions",
    "ticket_revenue_pence",
    "tickets_sold",
    "bookings_arriving",
)


def hours_between(start: dt.datetime, end: dt.datetime) -> pl.DataFrame:
    """hour_start (UTC), business_date and local_hour of every hour in [start, end)."""
    starts = pl.datetime_range(start, end, "1h", closed="left", time_unit="us", time_zone="UTC", eager=True)
    return pl.DataFrame({"hour_start": starts}).with_columns(
        business_date(pl.col("hour_start")).alias("business_date"),
        local_hour(pl.col("hour_start")).cast(pl.Int64).alias("local_hour"),
    )


def business_date_of(instant: dt.datetime) -> dt.date:
    return pl.select(business_date(pl.lit(instant).dt.convert_time_zone("UTC"))).item()


def _by_hour(frame: pl.DataFrame, instant: str, *aggregates: pl.Expr) -> pl.DataFrame:
    return (
        frame.with_columns(pl.col(instant).dt.truncate("1h").alias("hour_start"))
        .group_by(HOUR)
        .agg(*aggregates)
    )


def hourly_aggregations(facts: DayFacts, start: dt.datetime, end: dt.datetime) -> pl.DataFrame:
    """Rows for every hour in [start, end) of each venue's business days with sales or door
    activity. `facts` must hold whole business days (occupancy runs from the day's start)."""
    start, end = start.astimezone(dt.UTC), end.astimezone(dt.UTC)
    # Whole days, so occupancy carries into the window from earlier hours of the night.
    days = BusinessWindow(business_date_of(start), business_date_of(end - HOUR_LENGTH))
    day_hours = hours_between(days.start, days.end)
    trading = pl.concat(
        [f.select(DAY) for f in (facts.bookings, facts.ticket_sales, facts.check_ins, facts.bar_transactions)]
    ).unique()
    grid = trading.join(day_hours, on="business_date")

    scans = running_occupancy(facts.check_ins)
    door = _by_hour(
        scans,
        "scanned_at",
        (pl.col("direction") == "in").sum().alias("check_ins"),
        (pl.col("direction") == "out").sum().alias("check_outs"),
        pl.col("occupancy").max().alias("_highest"),
        pl.col("occupancy").last().alias("_last"),  # scans are in order within the hour
    )
    bar = facts.bar_transactions
    on_tab = pl.col("booking_id").is_not_null()
    till = _by_hour(
        bar,
        "occurred_at",
        pl.col("amount_pence").filter(~on_tab).sum().alias("bar_revenue_pence"),
        (~on_tab).sum().alias("bar_transactions"),
        pl.col("amount_pence").filter(on_tab).sum().alias("table_revenue_pence"),
        on_tab.sum().alias("table_transactions"),
    )
    tickets = _by_hour(
        facts.ticket_sales.filter(pl.col("status") == "paid"),
        "purchased_at",
        (pl.col("gross_pence") - pl.col("fee_pence")).sum().alias("ticket_revenue_pence"),
        pl.col("quantity").sum().alias("tickets_sold"),
    )
    arrivals = _by_hour(facts.bookings, "booking_start", pl.len().alias("bookings_arriving"))

    rows = grid
    for part in (door, till, tickets, arrivals):
        rows = rows.join(part, on=HOUR, how="left")
    rows = rows.sort("venue_id", "hour_start").with_columns(
        pl.col(c).fill_null(0).cast(pl.Int64) for c in ADDITIVE
    )
    # People inside carry over from hour to hour until the next scan; a day starts empty.
    occupancy_end = pl.col("_last").forward_fill().over(DAY).fill_null(0)
    occupancy_start = occupancy_end.shift(1).over(DAY).fill_null(0)
    rows = rows.with_columns(occupancy_end.alias("occupancy_end")).with_columns(
        pl.max_horizontal(pl.col("_highest"), occupancy_start).alias("occupancy_max")
    )
    in_window = (pl.col("hour_start") >= start) & (pl.col("hour_start") < end)
    return (
        rows.filter(in_window)
        .with_columns(pl.col("occupancy_end", "occupancy_max").cast(pl.Int64))
        .select(table_schema(hourly_table).keys())
    )
