"""KPI definitions, KPI calculations and the report metrics cache.

kpi_definitions loads the versioned catalogue (metrics/kpi_definitions.yaml); its code
version is a hash of the file, so editing the file marks it and everything downstream
stale. kpi_calculations judges every KPI per business day, and per week and month as
they end; report_metrics_cache keeps a scorecard snapshot per venue and period for
reports and the API. The maths lives in metrics/kpis.py and metrics/metrics_cache.py.
"""

import datetime as dt

import dagster as dg
import polars as pl
import sqlalchemy as sa

from backroom_reporting.assets.nights import (
    check_evaluations,
    chunks_of,
    describe_nights,
    per_night,
    window_of,
)
from backroom_reporting.assets.policies import (
    PERIOD_OF_NIGHT,
    RETRY_TRANSIENT_FAULTS,
    SAME_NIGHTS,
    on_change_of_definition,
)
from backroom_reporting.assets.step_metrics import measured
from backroom_reporting.checks.kpis import kpi_check_specs, nightly_kpi_results
from backroom_reporting.metrics import kpis
from backroom_reporting.metrics.business_time import BusinessWindow
from backroom_reporting.metrics.metrics_cache import KPI_SCORECARD, scorecard_entries
from backroom_reporting.partitions import business_days
from backroom_reporting.resources.databases import WarehouseResource
from backroom_reporting.warehouse.database import Database
from backroom_reporting.warehouse.tables import aggregations
from backroom_reporting.warehouse.tables.kpis import kpi_calculations as calculations_table
from backroom_reporting.warehouse.tables.kpis import kpi_definitions as definitions_table
from backroom_reporting.warehouse.tables.kpis import report_metrics_cache as cache_table

GROUP = "kpis"
# Read once at import: the catalogue is a small packaged file.
CATALOGUE_HASH = kpis.content_hash(kpis.catalogue_bytes())
# Period rows by period type: the table and its period_start column.
PERIOD_SOURCES = {
    "day": (aggregations.daily_aggregations, "business_date"),
    "week": (aggregations.weekly_summary, "week_start"),
    "month": (aggregations.monthly_summary, "month_start"),
}


@dg.asset(
    group_name=GROUP,
    code_version=CATALOGUE_HASH,
    # An edited catalogue is loaded as soon as the new code location is deployed.
    automation_condition=on_change_of_definition(),
    kinds={"yaml", "sql"},
    retry_policy=RETRY_TRANSIENT_FAULTS,
)
@measured
def kpi_definitions(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """The KPI catalogue, one row per KPI: what it reads, its unit, target, warning and
    critical thresholds, direction, and whether it is real-time or cached (with its TTL),
    stamped with the catalogue's version and content hash."""
    catalogue = kpis.parse_catalogue(kpis.catalogue_bytes())
    warehouse.database().replace(definitions_table, catalogue.definitions)
    context.log.info(f"{catalogue.definitions.height} KPIs, catalogue version {catalogue.version}")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": catalogue.definitions.height,
            "catalogue_version": catalogue.version,
            "catalogue_hash": catalogue.content_hash,
            "kpis": dg.MetadataValue.json(catalogue.definitions["kpi_key"].to_list()),
        },
        data_version=dg.DataVersion(catalogue.content_hash),
    )


def _ending_in(table: sa.Table, window: BusinessWindow) -> sa.ColumnElement[bool]:
    return table.c.period_end.between(window.first_day, window.last_day)


def _read_periods(db: Database, period: kpis.PeriodType, starts: list[dt.date]) -> pl.DataFrame:
    """Period rows of `starts` and of the history their comparisons read (bounded look-back)."""
    table, start_column = PERIOD_SOURCES[period.name]
    ranges = [table.c[start_column].between(first, last) for first, last in period.history(starts)]
    rows = db.read_table(table, sa.or_(*ranges))
    return kpis.day_periods(rows) if period.name == "day" else kpis.summary_periods(rows, period)


@dg.asset(
    group_name=GROUP,
    partitions_def=business_days,
    deps=[
        dg.AssetDep("daily_aggregations", partition_mapping=SAME_NIGHTS),
        dg.AssetDep("weekly_summary", partition_mapping=PERIOD_OF_NIGHT),
        dg.AssetDep("monthly_summary", partition_mapping=PERIOD_OF_NIGHT),
        dg.AssetDep(kpi_definitions.key),
    ],
    check_specs=kpi_check_specs(business_days),
    kinds={"polars", "sql"},
    retry_policy=RETRY_TRANSIENT_FAULTS,
)
@measured
def kpi_calculations(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """Each KPI per venue and period (night; business week and month on the night they end):
    its value, the values a week, a month and a year before, min / max / mean / standard
    deviation over a trailing window, its status against the target and thresholds, its trend, and when
    a cached KPI's figure expires."""
    db, window = warehouse.database(), window_of(context)
    definitions = db.read_table(definitions_table)
    if definitions.is_empty():
        raise dg.Failure(
            "kpi_definitions holds no KPIs: materialise kpi_definitions first.", allow_retries=False
        )
    computed_at = dt.datetime.now(dt.UTC)
    figures, results = {}, {}
    for chunk in chunks_of(db, window):
        rows, expected = _calculate(db, chunk, definitions, computed_at)
        db.replace(calculations_table, rows, _ending_in(calculations_table, chunk))
        stored = db.read_table(calculations_table, _ending_in(calculations_table, chunk))
        missing = kpis.missing_calculations(stored, expected, definitions)
        misjudged = kpis.misjudged(stored, definitions)
        nights = rows.rename({"period_end": "business_date"})
        chunk_figures = per_night(nights, chunk, **{"dagster/row_count": pl.len()})
        for day, counts in per_night(
            nights.filter(pl.col("period_type") == "day"),
            chunk,
            **{name: (pl.col("status") == name).sum() for name in kpis.STATUSES},
        ).items():
            chunk_figures[day] |= {f"statuses_{k}": v for k, v in counts.items()}
        figures |= chunk_figures
        results |= nightly_kpi_results(chunk, missing, misjudged)
    describe_nights(context, figures, results)
    yield dg.MaterializeResult()
    yield from check_evaluations(context, context.asset_key, results)


def _calculate(
    db: Database, window: BusinessWindow, definitions: pl.DataFrame, computed_at: dt.datetime
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """kpi_calculations rows of the periods ending in the window, and the venue-periods that
    should have them."""
    frames, expected = [], []
    for period in kpis.PERIOD_TYPES.values():
        starts = period.starts_ending_in(window.first_day, window.last_day)
        if not starts:
            continue
        periods = _read_periods(db, period, starts)
        values = kpis.kpi_values(periods, definitions, period)
        frames.append(kpis.kpi_calculations(values, starts, period, definitions, computed_at))
        expected.append(
            periods.filter(pl.col("period_start").is_in(starts)).select(
                "venue_id",
                pl.lit(period.name).alias("period_type"),
                "period_start",
                period.end_expr(pl.col("period_start")).alias("period_end"),
            )
        )
    return pl.concat(frames), pl.concat(expected)


@dg.asset(
    group_name=GROUP,
    partitions_def=business_days,
    deps=[dg.AssetDep(kpi_calculations.key, partition_mapping=SAME_NIGHTS), dg.AssetDep(kpi_definitions.key)],
    kinds={"polars", "sql"},
    retry_policy=RETRY_TRANSIENT_FAULTS,
)
@measured
def report_metrics_cache(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """A KPI scorecard per venue and period (night; week and month on the night they end) for
    reports and the API, keyed kpi_scorecard/<venue>/<period type>/<start>, holding the cached
    KPIs and expiring after the shortest of their TTLs. Reports read their scorecard here
    while it lives, and put it back when it has expired (metrics/metrics_cache.py)."""
    db, window = warehouse.database(), window_of(context)
    definitions, now = db.read_table(definitions_table), dt.datetime.now(dt.UTC)
    metadata = {}
    for chunk in chunks_of(db, window):
        calculations = db.read_table(calculations_table, _ending_in(calculations_table, chunk))
        entries = scorecard_entries(calculations, definitions, now)
        db.replace(
            cache_table, entries, (cache_table.c.metric == KPI_SCORECARD) & _ending_in(cache_table, chunk)
        )
        metadata |= per_night(
            entries.rename({"period_end": "business_date"}),
            chunk,
            **{"dagster/row_count": pl.len(), "expires_at": pl.col("expires_at").min()},
        )
    describe_nights(context, metadata)
    return dg.MaterializeResult()
