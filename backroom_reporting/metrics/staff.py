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


# The roles Top Performers ranks, in the order shown, each by what the booking system
# records of that job. Managers and events staff have no such figure and are not ranked.
RANKED_ROLES = ("bar", "door", "host")
TOP_PER_ROLE = 5


TOP_PERFORMER_COLUMNS = (
    "role",
    "rank",
    "staff_id",
    "staff_name",
    "shifts",
    "hours_on_shift",
    "bar_sales_pence",
    "sales_per_hour_pence",
    "entries_processed",
    "entries_per_hour",
)


def top_performers(rows: pl.DataFrame, per_role: int = TOP_PER_ROLE) -> pl.DataFrame:
    """The top `per_role` of each ranked role over a period's staff_performance rows.

    Bar staff rank by bar sales per hour on shift, door staff by entries processed (people
    admitted) per hour on shift. The booking system does not record which host seated a
    table, so there are no covers per host: hosts rank by hours on shift. Ties go by the
    figure, then name, then staff_id, so every format shows the same order; someone with
    activity but no hours on shift has no per-hour figure and comes last.
    """
    totals = (
        rows.filter(pl.col("role").is_in(RANKED_ROLES))
        .sort(STAFF_DAY)  # sums of hours in one order, so equal figures stay equal
        .group_by("staff_id", "staff_name", "role")
        .agg(pl.col("shifts", "hours_on_shift", "bar_sales_pence", "entries_processed").sum())
        .with_columns(
            pl.when(pl.col("role") == "bar")
            .then(ratio(pl.col("bar_sales_pence"), pl.col("hours_on_shift")))
            .alias("sales_per_hour_pence"),
            pl.when(pl.col("role") == "door")
            .then(ratio(pl.col("entries_processed"), pl.col("hours_on_shift")))
            .alias("entries_per_hour"),
        )
    )
    figure = (
        pl.when(pl.col("role") == "bar")
        .then(pl.col("sales_per_hour_pence"))
        .when(pl.col("role") == "door")
        .then(pl.col("entries_per_hour"))
        .otherwise(pl.col("hours_on_shift"))
    )
    role_order = pl.col("role").replace_strict(RANKED_ROLES, range(len(RANKED_ROLES)))
    ranked = totals.sort(
        role_order, figure, "staff_name", "staff_id", descending=[False, True, False, False], nulls_last=True
    ).with_columns(pl.int_range(1, pl.len() + 1).over("role").alias("rank"))
    return ranked.filter(pl.col("rank") <= per_role).select(TOP_PERFORMER_COLUMNS)
