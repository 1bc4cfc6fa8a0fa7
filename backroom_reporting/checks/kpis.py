"""Checks of kpi_calculations, judged night by night (a week's and a month's rows belong
to the night they end on)."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import polars as pl

from backroom_reporting.assets.nights import night_results
from backroom_reporting.metrics.business_time import BusinessWindow

EVERY_KPI_EVERY_PERIOD = "every_kpi_every_period"
STATUS_MATCHES_THRESHOLDS = "status_matches_thresholds"


def kpi_check_specs(partitions_def: dg.PartitionsDefinition) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            EVERY_KPI_EVERY_PERIOD,
            asset="kpi_calculations",
            partitions_def=partitions_def,
            description="Every enabled KPI has a row for every venue-night of daily_aggregations, and for "
            "every venue-week and venue-month of the summaries that ends on the night.",
        ),
        dg.AssetCheckSpec(
            STATUS_MATCHES_THRESHOLDS,
            asset="kpi_calculations",
            partitions_def=partitions_def,
            description="Every stored status is the one its value earns under the target, thresholds "
            "and direction now in kpi_definitions (null without a value).",
        ),
    ]


def nightly_kpi_results(
    window: BusinessWindow, missing: pl.DataFrame, misjudged: pl.DataFrame
) -> dict[dt.date, list[dg.AssetCheckResult]]:
    """missing / misjudged: rows with a period_end, judged on the night it is."""
    by_night: dict[dt.date, list[dg.AssetCheckResult]] = {day: [] for day in window.days}
    for name, rows, what in (
        (EVERY_KPI_EVERY_PERIOD, missing, "KPI values missing"),
        (STATUS_MATCHES_THRESHOLDS, misjudged, "KPI statuses not matching their thresholds"),
    ):
        problems = rows.rename({"period_end": "business_date"})
        for day, result in night_results(name, problems, window, what).items():
            by_night[day].append(result)
    return by_night
