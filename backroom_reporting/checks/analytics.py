"""Checks of the analytics assets: customers, staff, events and the forecast.

All warn rather than block: they flag figures to read with care, not figures to withhold.
Partitioned assets are judged night by night.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg
import polars as pl

from backroom_reporting.assets.nights import night_results
from backroom_reporting.metrics.business_time import BusinessWindow
from backroom_reporting.metrics.customers import TRAILING_DAYS

TRAILING_WINDOW_COMPLETE = "trailing_window_complete"
PSEUDONYM_KEY_CONFIGURED = "pseudonym_key_configured"
CHURN_MODEL_QUALITY = "churn_model_quality"
ACTIVITY_WITHOUT_SHIFT = "activity_without_shift"
PEAK_WITHIN_CAPACITY = "peak_within_capacity"
COMPLETED_EVENTS_HAVE_ENTRIES = "completed_events_have_entries"
BEATS_SEASONAL_NAIVE = "beats_seasonal_naive"

# Below this hold-out ROC AUC the churn probabilities rank customers little better than chance.
MIN_ROC_AUC = 0.6
WARN = dg.AssetCheckSeverity.WARN


def spec(name: str, asset: str, description: str, partitions_def=None) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(name, asset=asset, description=description, partitions_def=partitions_def)


# --- top_customers ---------------------------------------------------------------------------


def trailing_window_results(
    first_visit_day: dt.date | None, window: BusinessWindow
) -> dict[dt.date, dg.AssetCheckResult]:
    """A night whose 90-day window starts before customer_visits does ranks on less history."""
    results = {}
    for day in window.days:
        short = first_visit_day is None or day - dt.timedelta(days=TRAILING_DAYS - 1) < first_visit_day
        since = (
            f"customer_visits begins on {first_visit_day}" if first_visit_day else "customer_visits is empty"
        )
        results[day] = dg.AssetCheckResult(
            check_name=TRAILING_WINDOW_COMPLETE,
            passed=not short,
            severity=WARN,
            metadata={"customer_visits_from": str(first_visit_day)},
            description=f"{day:%A %-d %B %Y} ranks customers on fewer than {TRAILING_DAYS} days: {since}"
            if short
            else None,
        )
    return results


# --- customer_analytics ----------------------------------------------------------------------


def pseudonym_key_result(uses_demo_key: bool, env: str) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=PSEUDONYM_KEY_CONFIGURED,
        passed=not uses_demo_key,
        severity=WARN,
        metadata={"pseudonym_key_is_demo_default": uses_demo_key},
        description=f"Customer keys use the public demo key: set {env} to a secret of your own"
        if uses_demo_key
        else None,
    )


def churn_model_result(about: dict) -> dg.AssetCheckResult:
    scored = about["status"] == "scored"
    passed = scored and about["roc_auc"] >= MIN_ROC_AUC
    if not scored:
        description = f"No churn probabilities: {about['reason']}"
    elif not passed:
        description = f"Hold-out ROC AUC {about['roc_auc']} is below {MIN_ROC_AUC}"
    else:
        description = None
    return dg.AssetCheckResult(
        check_name=CHURN_MODEL_QUALITY,
        passed=passed,
        severity=WARN,
        metadata={k: v for k, v in about.items() if k in ("status", "roc_auc", "brier_score", "base_rate")},
        description=description,
    )


# --- staff_performance -----------------------------------------------------------------------


def unrostered_activity(staff_days: pl.DataFrame) -> pl.DataFrame:
    """Staff days with sales or door entries but no shift."""
    return staff_days.filter(
        (pl.col("shifts") == 0) & ((pl.col("bar_transactions") > 0) | (pl.col("entries_processed") > 0))
    ).select("business_date", "staff_id", "staff_name", "bar_transactions", "entries_processed")


def unrostered_results(
    staff_days: pl.DataFrame, window: BusinessWindow
) -> dict[dt.date, dg.AssetCheckResult]:
    return night_results(
        ACTIVITY_WITHOUT_SHIFT,
        unrostered_activity(staff_days),
        window,
        "staff with activity but no shift",
        WARN,
    )


# --- event_performance_analytics -------------------------------------------------------------


def event_results(events: pl.DataFrame, held: pl.DataFrame, window: BusinessWindow) -> dict[dt.date, list]:
    """events: the window's event_performance_analytics rows; held: those not cancelled."""
    over = held.filter(pl.col("peak_occupancy") > pl.col("capacity")).select(
        "business_date", "event_id", "peak_occupancy", "capacity"
    )
    silent = events.filter((pl.col("status") == "completed") & (pl.col("attendance") == 0)).select(
        "business_date", "event_id", "name"
    )
    by_night: dict[dt.date, list] = {day: [] for day in window.days}
    for name, problems, what in (
        (PEAK_WITHIN_CAPACITY, over, "events above capacity"),
        (COMPLETED_EVENTS_HAVE_ENTRIES, silent, "completed events without a single entry"),
    ):
        for day, result in night_results(name, problems, window, what, WARN).items():
            by_night[day].append(result)
    return by_night


# --- revenue_forecast ------------------------------------------------------------------------


def forecast_result(mape_model: float | None, mape_naive: float | None) -> dg.AssetCheckResult:
    def number(value: float | None) -> dg.MetadataValue:
        return dg.MetadataValue.null() if value is None else dg.MetadataValue.float(round(value, 4))

    passed = mape_model is None or mape_naive is None or mape_model <= mape_naive
    return dg.AssetCheckResult(
        check_name=BEATS_SEASONAL_NAIVE,
        passed=passed,
        severity=WARN,
        metadata={"mape_28_model": number(mape_model), "mape_28_seasonal_naive": number(mape_naive)},
        description=None
        if passed
        else f"The forecast's 28-day error ({mape_model:.1%}) is worse than repeating past weeks "
        f"({mape_naive:.1%})",
    )
