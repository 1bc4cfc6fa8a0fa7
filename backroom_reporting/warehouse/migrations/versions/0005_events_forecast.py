"""events and forecast: event performance analytics, revenue forecast

Revision ID: 0005_events_forecast
Revises: 0004_customers
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backroom_reporting.warehouse.types

revision: str = "0005_events_forecast"
down_revision: str | None = "0004_customers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "event_performance_analytics",
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("venue_id", sa.Text(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("brand", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column(
            "starts_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=False
        ),
        sa.Column("ends_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=False),
        sa.Column("capacity", sa.BigInteger(), nullable=False),
        sa.Column("attendance", sa.BigInteger(), nullable=False),
        sa.Column("peak_occupancy", sa.BigInteger(), nullable=False),
        sa.Column("occupancy_rate", sa.Float(), nullable=True),
        sa.Column("tickets_sold", sa.BigInteger(), nullable=False),
        sa.Column("ticket_revenue_pence", sa.BigInteger(), nullable=False),
        sa.Column("bar_revenue_pence", sa.BigInteger(), nullable=False),
        sa.Column("table_revenue_pence", sa.BigInteger(), nullable=False),
        sa.Column("gross_revenue_pence", sa.BigInteger(), nullable=False),
        sa.Column("feedback_count", sa.BigInteger(), nullable=False),
        sa.Column("avg_satisfaction", sa.Float(), nullable=True),
        sa.Column("staff_hours", sa.Float(), nullable=False),
        sa.Column("door_staff_hours", sa.Float(), nullable=False),
        sa.Column("revenue_per_staff_hour_pence", sa.Float(), nullable=True),
        sa.Column("entries_per_door_staff_hour", sa.Float(), nullable=True),
        sa.Column("bookings", sa.BigInteger(), nullable=False),
        sa.Column("bookings_confirmed", sa.BigInteger(), nullable=False),
        sa.Column("no_shows", sa.BigInteger(), nullable=False),
        sa.Column("no_show_rate", sa.Float(), nullable=True),
        sa.Column("previous_event_id", sa.Text(), nullable=True),
        sa.Column("attendance_change_vs_previous", sa.Float(), nullable=True),
        sa.Column("gross_revenue_change_vs_previous", sa.Float(), nullable=True),
        sa.Column("events_previous_4_weeks", sa.BigInteger(), nullable=False),
        sa.Column("avg_attendance_previous_4_weeks", sa.Float(), nullable=True),
        sa.Column("avg_gross_revenue_previous_4_weeks_pence", sa.Float(), nullable=True),
        sa.Column("attendance_change_vs_4_week_avg", sa.Float(), nullable=True),
        sa.Column("gross_revenue_change_vs_4_week_avg", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_event_performance_analytics")),
    )
    with op.batch_alter_table("event_performance_analytics", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_event_performance_analytics_business_date"), ["business_date"], unique=False
        )

    op.create_table(
        "revenue_forecast",
        sa.Column("venue_id", sa.Text(), nullable=False),
        sa.Column("forecast_date", sa.Date(), nullable=False),
        sa.Column("made_on", sa.Date(), nullable=False),
        sa.Column("horizon_days", sa.BigInteger(), nullable=False),
        sa.Column("expected_to_trade", sa.Boolean(), nullable=False),
        sa.Column("predicted_pence", sa.BigInteger(), nullable=False),
        sa.Column("lower_80_pence", sa.BigInteger(), nullable=True),
        sa.Column("upper_80_pence", sa.BigInteger(), nullable=True),
        sa.Column("lower_95_pence", sa.BigInteger(), nullable=True),
        sa.Column("upper_95_pence", sa.BigInteger(), nullable=True),
        sa.Column("method", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("venue_id", "forecast_date", name=op.f("pk_revenue_forecast")),
    )


def downgrade() -> None:
    op.drop_table("revenue_forecast")
    with op.batch_alter_table("event_performance_analytics", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_performance_analytics_business_date"))

    op.drop_table("event_performance_analytics")
