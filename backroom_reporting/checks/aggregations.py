"""Data-quality checks of hourly_aggregations and daily_aggregations: validation,
completeness and anomalies.

Each check is a pure function of frames returning the rows that fail it (each with its
business_date), so the asset judges every night on its own and the report builder
re-judges a period with the same functions. The validation and completeness checks are
blocking: a report never renders from a night that fails them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import dagster as dg
import polars as pl

from backroom_reporting.assets.nights import night_results
from backroom_reporting.metrics.business_time import BusinessWindow
from backroom_reporting.metrics.daily import DAY, trading
from backroom_reporting.metrics.hourly import ADDITIVE
from backroom_reporting.metrics.money import out_of_range
from backroom_reporting.warehouse.tables.aggregations import DAILY_MONEY, HOURLY_MONEY

MONEY_NON_NEGATIVE = "money_non_negative"
MONEY_IN_RANGE = "money_in_range"
OCCUPANCY_WITHIN_CAPACITY = "occupancy_within_capacity"
MATCHES_HOURLY = "matches_hourly"
OPEN_NIGHTS_COMPLETE = "open_nights_complete"
DEPOSITS_RECONCILE = "deposits_reconcile"
REVENUE_ANOMALY = "revenue_anomaly"

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
# An hour's tickets are those bought in it (the cash view): its night's tickets_sold counts
# the tickets for the night instead, whenever bought, so it has no hourly counterpart.
HOURLY_TO_DAILY = {
    c: c for c in ADDITIVE if c not in ("bar_transactions", "table_transactions", "tickets_sold")
} | {"bookings_arriving": "bookings_total", "ticket_revenue_pence": "ticket_sales_taken_pence"}


@dataclass(frozen=True)
class NightCheck:
    """A check judged night by night on the figures an asset is about to publish."""

    name: str
    description: str
    blocking: bool
    what: str  # what a failing row is, after its count: "3 days with negative money"
    asset: str = "daily_aggregations"

    @property
    def severity(self) -> dg.AssetCheckSeverity:
        return dg.AssetCheckSeverity.ERROR if self.blocking else dg.AssetCheckSeverity.WARN

    def spec(self, partitions_def: dg.PartitionsDefinition) -> dg.AssetCheckSpec:
        # Not Dagster-blocking: a night that fails keeps its previous figures and is recorded
        # as failed, while the other nights of the run go on to what reads them.
        return dg.AssetCheckSpec(
            self.name,
            asset=self.asset,
            description=self.description,
            partitions_def=partitions_def,
            metadata={"blocks_reports": self.blocking},
        )


DAILY_CHECKS = (
    NightCheck(
        MONEY_NON_NEGATIVE,
        "Every money column except net revenue is zero or more.",
        True,
        "rows with negative money",
    ),
    NightCheck(
        MONEY_IN_RANGE,
        "Every money figure fits its 64-bit column (sums are taken in 128 bits, so they never wrap).",
        True,
        "rows with money too large to store",
    ),
    NightCheck(
        OCCUPANCY_WITHIN_CAPACITY,
        f"Peak occupancy stays within the venue's capacity plus {CAPACITY_MARGIN:.0%}.",
        True,
        "venues above capacity",
    ),
    NightCheck(
        MATCHES_HOURLY,
        "Each additive daily column equals the sum of that night's hourly_aggregations rows.",
        True,
        "venues whose hours do not add up",
    ),
    NightCheck(
        OPEN_NIGHTS_COMPLETE,
        "Every trading night has all its hourly rows, door scans, bar sales and staff shifts.",
        True,
        "venues with a source or hours missing",
    ),
    NightCheck(
        DEPOSITS_RECONCILE,
        "Succeeded deposit payments add up to their bookings' deposit amounts.",
        False,
        "bookings whose deposit payments do not match",
    ),
    NightCheck(
        REVENUE_ANOMALY,
        f"Warns when a night's gross revenue is more than {ANOMALY_Z:g} standard deviations from the same "
        f"weekday's mean over the previous {ANOMALY_WEEKS} weeks.",
        False,
        "venues with anomalous revenue",
    ),
)
# An hour's figures are judged by what they alone can show; a night whose hours are refused
# keeps its previous hours, so its new daily figures then fail matches_hourly as well.
HOURLY_CHECKS = (
    NightCheck(
        MONEY_NON_NEGATIVE,
        "Every money column is zero or more.",
        True,
        "hours with negative money",
        "hourly_aggregations",
    ),
    NightCheck(
        MONEY_IN_RANGE,
        "Every money figure fits its 64-bit column.",
        True,
        "hours with money too large to store",
        "hourly_aggregations",
    ),
    NightCheck(
        OCCUPANCY_WITHIN_CAPACITY,
        f"No hour's peak occupancy is above the venue's capacity plus {CAPACITY_MARGIN:.0%}.",
        True,
        "hours above capacity",
        "hourly_aggregations",
    ),
)


def negative_money(daily: pl.DataFrame) -> pl.DataFrame:
    return daily.filter(pl.any_horizontal(pl.col(c) < 0 for c in NON_NEGATIVE_MONEY)).select(
        *DAY, *NON_NEGATIVE_MONEY
    )


def money_too_large(daily: pl.DataFrame) -> pl.DataFrame:
    return out_of_range(daily, list(DAILY_MONEY), DAY)


def hourly_problems(hourly: pl.DataFrame, capacities: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """The failing hours of each hourly check (venue_id, business_date, hour_start and figures)."""
    hour = [*DAY, "hour_start"]
    return {
        MONEY_NON_NEGATIVE: hourly.filter(pl.any_horizontal(pl.col(c) < 0 for c in HOURLY_MONEY)).select(
            *hour, *HOURLY_MONEY
        ),
        MONEY_IN_RANGE: out_of_range(hourly, list(HOURLY_MONEY), hour),
        OCCUPANCY_WITHIN_CAPACITY: hourly.join(capacities, on="venue_id")
        .filter(pl.col("occupancy_max") > pl.col("capacity") * (1 + CAPACITY_MARGIN))
        .select(*hour, "occupancy_max", "capacity"),
    }


def over_capacity(daily: pl.DataFrame, capacities: pl.DataFrame) -> pl.DataFrame:
    return (
        daily.join(capacities, on="venue_id")
        .filter(pl.col("peak_occupancy") > pl.col("capacity") * (1 + CAPACITY_MARGIN))
        .select(*DAY, "peak_occupancy", "capacity")
    )


def hours_not_adding_up(daily: pl.DataFrame, hourly: pl.DataFrame) -> pl.DataFrame:
    sums = hourly.group_by(DAY).agg(pl.col(h).sum().alias(f"{h}__hours") for h in HOURLY_TO_DAILY)
    joined = daily.join(sums, on=DAY, how="left").with_columns(
        pl.col(f"{h}__hours").fill_null(0) for h in HOURLY_TO_DAILY
    )
    differs = pl.any_horizontal(pl.col(d) != pl.col(f"{h}__hours") for h, d in HOURLY_TO_DAILY.items())
    return joined.filter(differs).select(
        *DAY, *HOURLY_TO_DAILY.values(), *(f"{h}__hours" for h in HOURLY_TO_DAILY)
    )


def incomplete_nights(
    daily: pl.DataFrame, hourly: pl.DataFrame, expected_hours: pl.DataFrame, feeds: pl.DataFrame
) -> pl.DataFrame:
    """expected_hours: business_date, hours (23, 24 or 25). feeds: venue_id, business_date,
    bar_sales, staff_shifts (row counts of those sources on the night)."""
    nights = daily.filter(trading()).select(*DAY, "check_ins")
    hours = hourly.group_by(DAY).agg(pl.len().alias("hourly_rows"))
    checked = (
        nights.join(hours, on=DAY, how="left")
        .join(expected_hours, on="business_date", how="left")
        .join(feeds, on=DAY, how="left")
        .with_columns(pl.col("hourly_rows", "bar_sales", "staff_shifts").fill_null(0))
    )
    return checked.filter(
        (pl.col("hourly_rows") != pl.col("hours"))
        | (pl.col("check_ins") == 0)
        | (pl.col("bar_sales") == 0)
        | (pl.col("staff_shifts") == 0)
    )


def unreconciled_deposits(deposits: pl.DataFrame, bookings: pl.DataFrame) -> pl.DataFrame:
    """deposits: succeeded deposit payments (booking_id, amount_pence, business_date) of the
    window; bookings: booking_id, deposit_pence of the loaded bookings they name. A booking
    is judged on the night of its latest deposit payment.

    A deposit is paid weeks before its night, whose booking loads when that night closes:
    such deposits await their booking and are not judged."""
    paid = (
        deposits.filter(pl.col("booking_id").is_not_null())
        .group_by("booking_id")
        .agg(
            pl.col("amount_pence").sum().alias("paid_pence"),
            pl.len().alias("payments"),
            pl.col("business_date").max(),
        )
    )
    return paid.join(bookings, on="booking_id").filter(pl.col("paid_pence") != pl.col("deposit_pence"))


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


def nightly_results(
    window: BusinessWindow, problems: dict[str, pl.DataFrame], judged: tuple[NightCheck, ...] = DAILY_CHECKS
) -> dict[dt.date, list[dg.AssetCheckResult]]:
    """Every check's result for every night of the window, from its failing rows."""
    by_night: dict[dt.date, list[dg.AssetCheckResult]] = {day: [] for day in window.days}
    for check in judged:
        for day, result in night_results(
            check.name, problems[check.name], window, check.what, check.severity
        ).items():
            by_night[day].append(result)
    return by_night


def failed_blocking_checks(
    problems: dict[str, pl.DataFrame], judged: tuple[NightCheck, ...] = DAILY_CHECKS
) -> dict[dt.date, list[str]]:
    """The nights that failed a blocking check, with the checks they failed."""
    failed: dict[dt.date, list[str]] = {}
    for check in judged:
        if check.blocking:
            for day in problems[check.name]["business_date"].unique().sort():
                failed.setdefault(day, []).append(check.name)
    return failed
