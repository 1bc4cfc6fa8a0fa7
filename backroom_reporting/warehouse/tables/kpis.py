"""KPI definitions, KPI calculations and the report metrics cache.

Column meanings are defined once, in docs/metrics.md ("KPIs", "Report metrics cache").
KPI values are floats in the KPI's unit: pence (float pence for money per night or per
head), counts, people, fractions (0.25 = 25%, null when the denominator is zero), scores.
"""

import sqlalchemy as sa

from backroom_reporting.warehouse.tables.metadata import WAREHOUSE
from backroom_reporting.warehouse.types import Count, UtcTimestamp

# One row per KPI of the catalogue (metrics/kpi_definitions.yaml), replaced whole.
kpi_definitions = sa.Table(
    "kpi_definitions",
    WAREHOUSE,
    sa.Column("kpi_key", sa.Text, primary_key=True),
    sa.Column("position", Count, nullable=False),  # order in the catalogue, for display
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("category", sa.Text, nullable=False),
    sa.Column("unit", sa.Text, nullable=False),
    # numerator / denominator of the period's totals, or a ready-made column per period type
    sa.Column("metric_numerator", sa.Text, nullable=True),
    sa.Column("metric_denominator", sa.Text, nullable=True),
    sa.Column("metric_day_column", sa.Text, nullable=True),
    sa.Column("metric_summary_column", sa.Text, nullable=True),
    sa.Column("target", sa.Float, nullable=False),
    sa.Column("warning_threshold", sa.Float, nullable=False),
    sa.Column("critical_threshold", sa.Float, nullable=False),
    sa.Column("direction", sa.Text, nullable=False),
    sa.Column("calculation", sa.Text, nullable=False),
    sa.Column("cache_ttl_minutes", Count, nullable=True),
    sa.Column("trading_days_only", sa.Boolean, nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("catalogue_version", Count, nullable=False),
    sa.Column("catalogue_hash", sa.Text, nullable=False),
)

# One row per venue, period (day, week or month) and KPI. A day's period_end is its
# period_start, so "the periods ending in a window" is one indexed range on period_end.
kpi_calculations = sa.Table(
    "kpi_calculations",
    WAREHOUSE,
    sa.Column("venue_id", sa.Text, primary_key=True),
    sa.Column("period_type", sa.Text, primary_key=True),
    sa.Column("period_start", sa.Date, primary_key=True),
    sa.Column("kpi_key", sa.Text, primary_key=True),
    sa.Column("period_end", sa.Date, nullable=False),
    sa.Column("value", sa.Float, nullable=True),
    sa.Column("value_week_ago", sa.Float, nullable=True),
    sa.Column("value_month_ago", sa.Float, nullable=True),
    sa.Column("value_year_ago", sa.Float, nullable=True),
    # (value - earlier) / |earlier|, null when the earlier value is 0 or null
    sa.Column("change_week_ago", sa.Float, nullable=True),
    sa.Column("change_month_ago", sa.Float, nullable=True),
    sa.Column("change_year_ago", sa.Float, nullable=True),
    sa.Column("trailing_periods", Count, nullable=False),
    sa.Column("trailing_min", sa.Float, nullable=True),
    sa.Column("trailing_max", sa.Float, nullable=True),
    sa.Column("trailing_mean", sa.Float, nullable=True),
    sa.Column("trailing_stddev", sa.Float, nullable=True),
    sa.Column("status", sa.Text, nullable=True),
    sa.Column("trend", sa.Text, nullable=True),
    sa.Column("catalogue_hash", sa.Text, nullable=False),
    sa.Column("computed_at", UtcTimestamp, nullable=False),
    sa.Column("expires_at", UtcTimestamp, nullable=True),
    sa.Index(None, "period_end"),
)

# Key-based snapshots of expensive figures for reports and the API; value_json is JSON text.
report_metrics_cache = sa.Table(
    "report_metrics_cache",
    WAREHOUSE,
    sa.Column("cache_key", sa.Text, primary_key=True),
    sa.Column("metric", sa.Text, nullable=False),
    sa.Column("venue_id", sa.Text, nullable=False),
    sa.Column("period_type", sa.Text, nullable=False),
    sa.Column("period_start", sa.Date, nullable=False),
    sa.Column("period_end", sa.Date, nullable=False),
    sa.Column("value_json", sa.Text, nullable=False),
    sa.Column("computed_at", UtcTimestamp, nullable=False),
    sa.Column("expires_at", UtcTimestamp, nullable=False),
    sa.Index(None, "metric", "period_end"),
    sa.Index(None, "expires_at"),
)
