"""People inside the venue, from door scans (docs/metrics.md).

Occupancy is the running count of `in` minus `out` scans over a business day, in order of
scanned_at then check_in_id. One definition, used by the hourly and daily aggregations
and by event analytics.
"""

from __future__ import annotations

import polars as pl

from backroom_reporting.metrics.business_time import local_hour


def running_occupancy(scans: pl.DataFrame) -> pl.DataFrame:
    """Add `occupancy`: people inside just after each scan, per venue and business day.

    scans: venue_id, business_date, check_in_id, direction, scanned_at.
    Returns the scans sorted by venue, day, scanned_at and check_in_id.
    """
    step = (
        pl.when(pl.col("direction") == "in").then(1).when(pl.col("direction") == "out").then(-1).otherwise(0)
    )
    return scans.sort("venue_id", "business_date", "scanned_at", "check_in_id").with_columns(
        step.cum_sum().over("venue_id", "business_date").cast(pl.Int64).alias("occupancy")
    )


def daily_peaks(scans_with_occupancy: pl.DataFrame) -> pl.DataFrame:
    """Peak occupancy and the London hour it was first reached, per venue and business day.

    peak_occupancy is the highest running occupancy, at least 0 (nobody inside before the
    first scan). peak_hour is the local hour of the first scan at which the running count
    equals the peak; null when the day has no `in` scan.
    """
    days = scans_with_occupancy.group_by("venue_id", "business_date").agg(
        pl.max_horizontal(pl.col("occupancy").max(), pl.lit(0)).alias("peak_occupancy"),
        (pl.col("direction") == "in").any().alias("_any_in"),
    )
    first_at_peak = (
        scans_with_occupancy.join(days, on=["venue_id", "business_date"])
        .filter(pl.col("occupancy") == pl.col("peak_occupancy"))
        .group_by("venue_id", "business_date")
        .agg(pl.col("scanned_at").first().alias("_peak_at"))  # rows are in scan order
    )
    return days.join(first_at_peak, on=["venue_id", "business_date"], how="left").select(
        "venue_id",
        "business_date",
        "peak_occupancy",
        pl.when(pl.col("_any_in")).then(local_hour(pl.col("_peak_at"))).cast(pl.Int64).alias("peak_hour"),
    )
