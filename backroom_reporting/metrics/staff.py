"""Staff performance per staff member and business day (docs/metrics.md, "Staff performance").

A shift belongs to the business day it starts on (the raw layer's business_date of
staff_shifts); bar sales and door entries to the business day they happened on.
"""

from __future__ import annotations

import polars as pl

from backroom_reporting.metrics.ratios import ratio

STAFF_DAY = ["venue_id", "business_date", "staff_id"]


def staff_performance(
    shifts: pl.DataFrame, bar_transactions: pl.DataFrame, check_ins: pl.DataFrame, staff: pl.DataFrame
) -> pl.DataFrame:
    """One row per venue, business day and staff member with a shift or any activity.

    shifts, bar_transactions, check_ins: raw-layer rows with business_date.
    staff: staff_id, name, role.
    """
    worked = shifts.group_by(STAFF_DAY).agg(
        pl.len().alias("shifts"),
        # Elapsed time, so a shift across a clock change counts the hours really worked.
        ((pl.col("ends_at") - pl.col("starts_at")).dt.total_seconds() / 3600.0).sum().alias("hours_on_shift"),
    )
    sales = bar_transactions.group_by(STAFF_DAY).agg(
        pl.col("amount_pence").sum().alias("bar_sales_pence"), pl.len().alias("bar_transactions")
    )
    entries = (
        check_ins.filter(pl.col("direction") == "in")
        .group_by(STAFF_DAY)
        .agg(pl.len().alias("entries_processed"))
    )
    parts = [p.cast({"business_date": pl.Date}) for p in (worked, sales, entries)]
    rows = pl.concat([p.select(STAFF_DAY) for p in parts]).unique()
    for part in parts:
        rows = rows.join(part, on=STAFF_DAY, how="left")
    names = staff.select("staff_id", pl.col("name").alias("staff_name"), "role")
    hours = pl.col("hours_on_shift").fill_null(0.0)
    takings = pl.col("bar_sales_pence").fill_null(0)
    return (
        rows.join(names, on="staff_id", how="left")
        .select(
            *STAFF_DAY,
            "staff_name",
            "role",
            pl.col("shifts").fill_null(0).cast(pl.Int64),
            hours.alias("hours_on_shift"),
            takings.alias("bar_sales_pence"),
            pl.col("bar_transactions").fill_null(0).cast(pl.Int64),
            pl.col("entries_processed").fill_null(0).cast(pl.Int64),
            ratio(takings, hours).alias("sales_per_hour_pence"),
        )
        .sort(STAFF_DAY)
    )
