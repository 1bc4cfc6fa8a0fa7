"""Data-quality checks of daily_aggregations: validation, completeness and anomalies.

Each check is a function of frames returning an AssetCheckResult, evaluated inside the
asset on the rows it has just computed, so a failure is recorded against the same run.
The validation and completeness checks are blocking: a report never renders from a day
that failed them.
"""

from __future__ import annotations

import dagster as dg
import polars as pl

from backroom_reporting.metrics.daily import DAY, trading
from backroom_reporting.metrics.hourly import ADDITIVE
from backroom_reporting.warehouse.tables.aggregations import DAILY_MONEY

# Scanners miss some `out` scans and a busy door can overshoot briefly; beyond this a
# capacity figure or the scan feed is wrong.
CAPACITY_MARGIN = 0.10
ANOMALY_Z = 3.0
ANOMALY_WEEKS = 8
# Fewer comparable nights than this and a z-score is noise (a new venue, a new weekday).
ANOMALY_MIN_WEEKS = 4
# Net revenue may fall below zero on a night with refunds and no sales.
NON_NEGATIVE_MONEY = tuple(c for c in DAILY_MONEY if c != "net_revenue_pence")
# hourly column -> the daily column its hours add up to
HOURLY_TO_DAILY = {c: c for c in ADDITIVE if c not in ("bar_transactions", "table_transactions")} | {
    "bookings_arriving": "bookings_total"
}


def spec(name: str, asset: str, description: str, blocking: bool) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(name, asset=asset, description=description, blocking=blocking)


DAILY_CHECKS = [
    spec(
        "money_non_negative",
        "daily_aggregations",
        "Every money column except net revenue is zero or more.",
        blocking=True,
    ),
    spec(
        "occupancy_within_capacity",
        "daily_aggregations",
        f"Peak occupancy stays within the venue's capacity plus {CAPACITY_MARGIN:.0%}.",
        blocking=True,
    ),
    spec(
        "matches_hourly",
        "daily_aggregations",
        "Each additive daily column equals the sum of that day's hourly_aggregations rows.",
        blocking=True,
    ),
    spec(
        "open_nights_complete",
        "daily_aggregations",
        "Every trading night has all its hourly rows, door scans, bar sales and staff shifts.",
        blocking=True,
    ),
    spec(
        "deposits_reconcile",
        "daily_aggregations",
        "Succeeded deposit payments add up to their bookings' deposit amounts.",
        blocking=False,
    ),
    spec(
        "revenue_anomaly",
        "daily_aggregations",
        f"Warns when a day's gross revenue is more than {ANOMALY_Z:g} standard deviations from the same "
        f"weekday's mean over the previous {ANOMALY_WEEKS} weeks.",
        blocking=False,
    ),
]


def _result(
    name: str, problems: pl.DataFrame, what: str, severity=dg.AssetCheckSeverity.ERROR, **metadata
) -> dg.AssetCheckResult:
    sample = problems.head(10).to_dicts()
    return dg.AssetCheckResult(
        check_name=name,
        asset_key="daily_aggregations",
        passed=problems.height == 0,
        severity=severity,
        description=f"{problems.height} {what}" if problems.height else None,
        metadata={
            "failing_rows": problems.height,
            "examples": dg.MetadataValue.json(_jsonable(sample)),
            **metadata,
        },
    )


def _jsonable(rows: list[dict]) -> list[dict]:
    return [
        {k: (v if isinstance(v, int | float | str | None) else str(v)) for k, v in r.items()} for r in rows
    ]


def money_non_negative(daily: pl.DataFrame) -> dg.AssetCheckResult:
    negative = daily.filter(pl.any_horizontal(pl.col(c) < 0 for c in NON_NEGATIVE_MONEY))
    return _result(
        "money_non_negative", negative.select(*DAY, *NON_NEGATIVE_MONEY), "days with negative money"
    )


def occupancy_within_capacity(daily: pl.DataFrame, capacities: pl.DataFrame) -> dg.AssetCheckResult:
    over = daily.join(capacities, on="venue_id").filter(
        pl.col("peak_occupancy") > pl.col("capacity") * (1 + CAPACITY_MARGIN)
    )
    return _result(
        "occupancy_within_capacity", over.select(*DAY, "peak_occupancy", "capacity"), "days above capacity"
    )


def matches_hourly(daily: pl.DataFrame, hourly: pl.DataFrame) -> dg.AssetCheckResult:
    sums = hourly.group_by(DAY).agg(pl.col(h).sum().alias(f"{h}__hours") for h in HOURLY_TO_DAILY)
    joined = daily.join(sums, on=DAY, how="left").with_columns(
        pl.col(f"{h}__hours").fill_null(0) for h in HOURLY_TO_DAILY
    )
    differs = pl.any_horizontal(pl.col(d) != pl.col(f"{h}__hours") for h, d in HOURLY_TO_DAILY.items())
    wrong = joined.filter(differs).select(
        *DAY, *HOURLY_TO_DAILY.values(), *(f"{h}__hours" for h in HOURLY_TO_DAILY)
    )
    return _result("matches_hourly", wrong, "days whose hours do not add up")


def open_nights_complete(
    daily: pl.DataFrame, hourly: pl.DataFrame, expected_hours: pl.DataFrame, feeds: pl.DataFrame
) -> dg.AssetCheckResult:
    """expected_hours: business_date, hours (23, 24 or 25). feeds: venue_id, business_date,
    bar_sales, staff_shifts (row counts of those sources on the day)."""
    nights = daily.filter(trading()).select(*DAY, "check_ins")
    hours = hourly.group_by(DAY).agg(pl.len().alias("hourly_rows"))
    checked = (
        nights.join(hours, on=DAY, how="left")
        .join(expected_hours, on="business_date", how="left")
        .join(feeds, on=DAY, how="left")
        .with_columns(pl.col("hourly_rows", "bar_sales", "staff_shifts").fill_null(0))
    )
    missing = checked.filter(
        (pl.col("hourly_rows") != pl.col("hours"))
        | (pl.col("check_ins") == 0)
        | (pl.col("bar_sales") == 0)
        | (pl.col("staff_shifts") == 0)
    )
    return _result("open_nights_complete", missing, "trading nights with a source or hours missing")


def deposits_reconcile(deposits: pl.DataFrame, bookings: pl.DataFrame) -> dg.AssetCheckResult:
    """deposits: succeeded deposit payments (booking_id, amount_pence) of the window;
    bookings: booking_id, deposit_pence of the loaded bookings they name.

    A deposit is paid weeks before its night, whose booking loads when that night closes:
    such deposits are counted as awaiting their booking, not failed."""
    paid = (
        deposits.filter(pl.col("booking_id").is_not_null())
        .group_by("booking_id")
        .agg(pl.col("amount_pence").sum().alias("paid_pence"), pl.len().alias("payments"))
    )
    matched = paid.join(bookings, on="booking_id")
    unmatched = matched.filter(pl.col("paid_pence") != pl.col("deposit_pence"))
    return _result(
        "deposits_reconcile",
        unmatched,
        "bookings whose deposit payments do not match",
        severity=dg.AssetCheckSeverity.WARN,
        deposits_checked=matched.height,
        deposits_awaiting_their_booking=paid.height - matched.height,
    )


def revenue_anomalies(daily: pl.DataFrame, history: pl.DataFrame) -> pl.DataFrame:
    """Trading nights of `daily` whose gross revenue is an outlier against the same weekday's
    trading nights in the previous ANOMALY_WEEKS weeks of `history` (daily rows, may overlap
    `daily`). Closed days (presales only) are neither judged nor used as a yardstick."""
    past = history.filter(trading()).select(*DAY, "gross_revenue_pence")
    pairs = (
        daily.filter(trading())
        .select(*DAY, "gross_revenue_pence")
        .join(past.rename({"business_date": "past_date", "gross_revenue_pence": "past"}), on="venue_id")
        .filter(
            (pl.col("past_date") < pl.col("business_date"))
            & (pl.col("past_date") >= pl.col("business_date") - pl.duration(weeks=ANOMALY_WEEKS))
            & (pl.col("past_date").dt.weekday() == pl.col("business_date").dt.weekday())
        )
    )
    stats = pairs.group_by(DAY).agg(
        pl.col("gross_revenue_pence").first(),
        pl.col("past").mean().alias("mean"),
        pl.col("past").std().alias("std"),
        pl.len().alias("weeks"),
    )
    return stats.with_columns(
        ((pl.col("gross_revenue_pence") - pl.col("mean")) / pl.col("std")).alias("z")
    ).filter((pl.col("weeks") >= ANOMALY_MIN_WEEKS) & (pl.col("std") > 0) & (pl.col("z").abs() > ANOMALY_Z))


def revenue_anomaly(daily: pl.DataFrame, history: pl.DataFrame) -> dg.AssetCheckResult:
    outliers = revenue_anomalies(daily, history)
    return _result(
        "revenue_anomaly", outliers, "days with anomalous revenue", severity=dg.AssetCheckSeverity.WARN
    )
