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

from backroom_reporting.assets.policies import CLOSING_PERIOD, FOLLOW_INPUTS, SAME_WINDOW
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

COVERAGE_CHECK = "every_kpi_every_period"
STATUS_CHECK = "status_matches_thresholds"


@dg.asset(
    group_name=GROUP,
    code_version=CATALOGUE_HASH,
    # An edited catalogue is loaded as soon as the new code location is deployed.
    automation_condition=dg.AutomationCondition.on_missing() | dg.AutomationCondition.code_version_changed(),
    kinds={"yaml", "sql"},
)
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
    automation_condition=FOLLOW_INPUTS,
    deps=[
        dg.AssetDep("daily_aggregations", partition_mapping=SAME_WINDOW),
        dg.AssetDep("weekly_summary", partition_mapping=CLOSING_PERIOD),
        dg.AssetDep("monthly_summary", partition_mapping=CLOSING_PERIOD),
        dg.AssetDep(kpi_definitions.key),
    ],
    check_specs=[
        dg.AssetCheckSpec(
            COVERAGE_CHECK,
            asset="kpi_calculations",
            description="Every enabled KPI has a row for every venue-day of daily_aggregations in the "
            "window, and for every venue-week and venue-month of the summaries that ends in it.",
        ),
        dg.AssetCheckSpec(
            STATUS_CHECK,
            asset="kpi_calculations",
            description="Every stored status is the one its value earns under the thresholds and "
            "direction now in kpi_definitions (null without a value).",
        ),
    ],
    kinds={"polars", "sql"},
)
def kpi_calculations(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Each KPI per venue and period (business day; business week and month when they end in
    the window): its value, the values a week, a month and a year before, min / max / mean /
    standard deviation over a trailing window, its status against the thresholds, its trend,
    and when a cached KPI's figure expires."""
    db, window = warehouse.database(), BusinessWindow.from_instants(*context.partition_time_window)
    definitions = db.read_table(definitions_table)
    if definitions.is_empty():
        raise dg.Failure("kpi_definitions holds no KPIs: materialise kpi_definitions first")
    computed_at = dt.datetime.now(dt.UTC)
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
                "venue_id", pl.lit(period.name).alias("period_type"), "period_start"
            )
        )
    rows = pl.concat(frames)
    db.replace(calculations_table, rows, _ending_in(calculations_table, window))

    stored = db.read_table(calculations_table, _ending_in(calculations_table, window))
    missing = kpis.missing_calculations(stored, pl.concat(expected), definitions)
    misjudged = kpis.misjudged(stored, definitions)
    days = rows.filter(pl.col("period_type") == "day")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": rows.height,
            "window": str(window),
            "day_statuses": dg.MetadataValue.json(
                {str(s): n for s, n in days["status"].value_counts().iter_rows()}
            ),
            "weeks": rows.filter(pl.col("period_type") == "week")["period_start"].n_unique(),
            "months": rows.filter(pl.col("period_type") == "month")["period_start"].n_unique(),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name=COVERAGE_CHECK,
                passed=missing.is_empty(),
                metadata={"missing": missing.height, "first_missing": dg.MetadataValue.md(_sample(missing))},
            ),
            dg.AssetCheckResult(
                check_name=STATUS_CHECK,
                passed=misjudged.is_empty(),
                metadata={
                    "misjudged": misjudged.height,
                    "first_misjudged": dg.MetadataValue.md(_sample(misjudged)),
                },
            ),
        ],
    )


def _sample(frame: pl.DataFrame) -> str:
    """The first few rows as a markdown list."""
    return "\n".join(f"- {row}" for row in frame.head(10).iter_rows(named=True)) or "none"


@dg.asset(
    group_name=GROUP,
    partitions_def=business_days,
    automation_condition=FOLLOW_INPUTS,
    deps=[dg.AssetDep(kpi_calculations.key, partition_mapping=SAME_WINDOW), dg.AssetDep(kpi_definitions.key)],
    kinds={"polars", "sql"},
)
def report_metrics_cache(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """A KPI scorecard per venue and period (business day; week and month when they end in the
    window) for reports and the API, keyed kpi_scorecard/<venue>/<period type>/<start>, holding
    the cached KPIs and expiring after the shortest of their TTLs."""
    db, window = warehouse.database(), BusinessWindow.from_instants(*context.partition_time_window)
    calculations = db.read_table(calculations_table, _ending_in(calculations_table, window))
    entries = scorecard_entries(calculations, db.read_table(definitions_table), dt.datetime.now(dt.UTC))
    db.replace(
        cache_table, entries, (cache_table.c.metric == KPI_SCORECARD) & _ending_in(cache_table, window)
    )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": entries.height,
            "window": str(window),
            "expires_at": str(entries["expires_at"].min()) if entries.height else "none",
        }
    )
