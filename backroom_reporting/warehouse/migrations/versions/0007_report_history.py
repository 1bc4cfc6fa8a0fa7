"""report templates and generation history

Revision ID: 0007_report_history
Revises: 0006_subscriptions
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backroom_reporting.warehouse.types

revision: str = "0007_report_history"
down_revision: str | None = "0006_subscriptions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "report_generation_history",
        sa.Column("generation_id", sa.Text(), nullable=False),
        sa.Column("subscription_id", sa.Text(), nullable=False),
        sa.Column("template_key", sa.Text(), nullable=False),
        sa.Column("template_hash", sa.Text(), nullable=False),
        sa.Column("venue_id", sa.Text(), nullable=True),
        sa.Column("period_kind", sa.Text(), nullable=False),
        sa.Column("period_first_day", sa.Date(), nullable=False),
        sa.Column("period_last_day", sa.Date(), nullable=False),
        sa.Column("filters", sa.Text(), nullable=False),
        sa.Column("formats", sa.Text(), nullable=False),
        sa.Column("files", sa.Text(), nullable=False),
        sa.Column("row_counts", sa.Text(), nullable=False),
        sa.Column("key_metrics", sa.Text(), nullable=False),
        sa.Column("warnings", sa.Text(), nullable=False),
        sa.Column("duration_seconds", sa.Float(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column(
            "generated_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=False
        ),
        sa.Column(
            "expires_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=True
        ),
        sa.Column("dagster_run_id", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("generation_id", name=op.f("pk_report_generation_history")),
    )
    with op.batch_alter_table("report_generation_history", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_report_generation_history_subscription_id_generated_at"),
            ["subscription_id", "generated_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_report_generation_history_template_hash_period_first_day"),
            ["template_hash", "period_first_day"],
            unique=False,
        )

    op.create_table(
        "report_templates",
        sa.Column("template_key", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.Text(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column(
            "changed_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=False
        ),
        sa.Column("previous_hash", sa.Text(), nullable=True),
        sa.Column("diff_summary", sa.Text(), nullable=False),
        sa.Column("cron", sa.Text(), nullable=False),
        sa.Column("period", sa.Text(), nullable=False),
        sa.Column("formats", sa.Text(), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("template_key", "content_hash", name=op.f("pk_report_templates")),
    )


def downgrade() -> None:
    op.drop_table("report_templates")
    with op.batch_alter_table("report_generation_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_generation_history_template_hash_period_first_day"))
        batch_op.drop_index(batch_op.f("ix_report_generation_history_subscription_id_generated_at"))

    op.drop_table("report_generation_history")
