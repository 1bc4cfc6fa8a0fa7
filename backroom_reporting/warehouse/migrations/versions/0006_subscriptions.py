"""subscriptions: report recipients and report subscriptions

Revision ID: 0006_subscriptions
Revises: 0005_events_forecast
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backroom_reporting.warehouse.types

revision: str = "0006_subscriptions"
down_revision: str | None = "0005_events_forecast"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "report_recipients",
        sa.Column("recipient_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("phone", sa.Text(), nullable=True),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("preferred_formats", sa.Text(), nullable=False),
        sa.Column("preferred_channels", sa.Text(), nullable=False),
        sa.Column("timezone", sa.Text(), server_default="Europe/London", nullable=False),
        sa.Column("email_consent", sa.Boolean(), nullable=False),
        sa.Column("sms_consent", sa.Boolean(), nullable=False),
        sa.Column(
            "consent_recorded_at",
            backroom_reporting.warehouse.types.UtcTimestamp(timezone=True),
            nullable=True,
        ),
        sa.Column("email_verified", sa.Boolean(), nullable=False),
        sa.Column("suppressed", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("recipient_id", name=op.f("pk_report_recipients")),
    )
    op.create_table(
        "report_subscriptions",
        sa.Column("subscription_id", sa.Text(), nullable=False),
        sa.Column("recipient_id", sa.Text(), nullable=False),
        sa.Column("template_key", sa.Text(), nullable=False),
        sa.Column("cron", sa.Text(), nullable=True),
        sa.Column("timezone", sa.Text(), nullable=True),
        sa.Column("filters", sa.Text(), nullable=False),
        sa.Column("channels", sa.Text(), nullable=False),
        sa.Column("formats", sa.Text(), nullable=True),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column(
            "next_delivery_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=True
        ),
        sa.Column(
            "created_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("subscription_id", name=op.f("pk_report_subscriptions")),
    )
    with op.batch_alter_table("report_subscriptions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_report_subscriptions_next_delivery_at"), ["next_delivery_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_report_subscriptions_recipient_id"), ["recipient_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_report_subscriptions_template_key"), ["template_key"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("report_subscriptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_subscriptions_template_key"))
        batch_op.drop_index(batch_op.f("ix_report_subscriptions_recipient_id"))
        batch_op.drop_index(batch_op.f("ix_report_subscriptions_next_delivery_at"))

    op.drop_table("report_subscriptions")
    op.drop_table("report_recipients")
