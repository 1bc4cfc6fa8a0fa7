"""kpis: kpi_definitions, kpi_calculations, report_metrics_cache

Revision ID: 0003_kpis
Revises: 0002_aggregations
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backroom_reporting.warehouse.types

revision: str = "0003_kpis"
down_revision: str | None = "0002_aggregations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "kpi_calculations",
        sa.Column("venue_id", sa.Text(), nullable=False),
        sa.Column("period_type", sa.Text(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("kpi_key", sa.Text(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("value_week_ago", sa.Float(), nullable=True),
        sa.Column("value_month_ago", sa.Float(), nullable=True),
        sa.Column("value_year_ago", sa.Float(), nullable=True),
        sa.Column("change_week_ago", sa.Float(), nullable=True),
        sa.Column("change_month_ago", sa.Float(), nullable=True),
        sa.Column("change_year_ago", sa.Float(), nullable=True),
        sa.Column("trailing_periods", sa.BigInteger(), nullable=False),
        sa.Column("trailing_min", sa.Float(), nullable=True),
        sa.Column("trailing_max", sa.Float(), nullable=True),
        sa.Column("trailing_mean", sa.Float(), nullable=True),
        sa.Column("trailing_stddev", sa.Float(), nullable=True),
        sa.Column("status", sa.Text(), nullable=True),
        sa.Column("trend", sa.Text(), nullable=True),
        sa.Column("catalogue_hash", sa.Text(), nullable=False),
        sa.Column(
            "computed_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=False
        ),
        sa.Column(
            "expires_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=True
        ),
        sa.PrimaryKeyConstraint(
            "venue_id", "period_type", "period_start", "kpi_key", name=op.f("pk_kpi_calculations")
        ),
    )
    with op.batch_alter_table("kpi_calculations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kpi_calculations_period_end"), ["period_end"], unique=False)

    op.create_table(
        "kpi_definitions",
        sa.Column("kpi_key", sa.Text(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("unit", sa.Text(), nullable=False),
        sa.Column("metric_numerator", sa.Text(), nullable=True),
        sa.Column("metric_denominator", sa.Text(), nullable=True),
        sa.Column("metric_day_column", sa.Text(), nullable=True),
        sa.Column("metric_summary_column", sa.Text(), nullable=True),
        sa.Column("target", sa.Float(), nullable=False),
        sa.Column("warning_threshold", sa.Float(), nullable=False),
        sa.Column("critical_threshold", sa.Float(), nullable=False),
        sa.Column("direction", sa.Text(), nullable=False),
        sa.Column("calculation", sa.Text(), nullable=False),
        sa.Column("cache_ttl_minutes", sa.BigInteger(), nullable=True),
        sa.Column("trading_days_only", sa.Boolean(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("catalogue_version", sa.BigInteger(), nullable=False),
        sa.Column("catalogue_hash", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("kpi_key", name=op.f("pk_kpi_definitions")),
    )
    op.create_table(
        "report_metrics_cache",
        sa.Column("cache_key", sa.Text(), nullable=False),
        sa.Column("metric", sa.Text(), nullable=False),
        sa.Column("venue_id", sa.Text(), nullable=False),
        sa.Column("period_type", sa.Text(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("value_json", sa.Text(), nullable=False),
        sa.Column(
            "computed_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=False
        ),
        sa.Column(
            "expires_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("cache_key", name=op.f("pk_report_metrics_cache")),
    )
    with op.batch_alter_table("report_metrics_cache", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_report_metrics_cache_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_report_metrics_cache_metric_period_end"), ["metric", "period_end"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("report_metrics_cache", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_metrics_cache_metric_period_end"))
        batch_op.drop_index(batch_op.f("ix_report_metrics_cache_expires_at"))

    op.drop_table("report_metrics_cache")
    op.drop_table("kpi_definitions")
    with op.batch_alter_table("kpi_calculations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kpi_calculations_period_end"))

    op.drop_table("kpi_calculations")
