"""alerts: the alert rules in force (job_alerts) and the incidents they raised (alert_incidents)

A partial unique index keeps one open incident per dedup key.

Revision ID: 0013_alerts
Revises: 0012_delivery
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backroom_reporting.warehouse.types

revision: str = "0013_alerts"
down_revision: str | None = "0012_delivery"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alert_incidents",
        sa.Column(
            "incident_number",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("dedup_key", sa.Text(), nullable=False),
        sa.Column("rule_key", sa.Text(), nullable=False),
        sa.Column("severity", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column(
            "first_seen_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=False
        ),
        sa.Column(
            "last_seen_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=False
        ),
        sa.Column("occurrences", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column(
            "acknowledged_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=True
        ),
        sa.Column("acknowledged_by", sa.Text(), nullable=True),
        sa.Column("acknowledged_via", sa.Text(), nullable=True),
        sa.Column(
            "resolved_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=True
        ),
        sa.Column("resolved_by", sa.Text(), nullable=True),
        sa.Column("resolved_via", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("incident_number", name=op.f("pk_alert_incidents")),
    )
    with op.batch_alter_table("alert_incidents", schema=None) as batch_op:
        batch_op.create_index(
            "ix_alert_incidents_open_dedup_key",
            ["dedup_key"],
            unique=True,
            sqlite_where=sa.text("status != 'resolved'"),
            postgresql_where=sa.text("status != 'resolved'"),
        )
        batch_op.create_index(
            batch_op.f("ix_alert_incidents_status_last_seen_at"), ["status", "last_seen_at"], unique=False
        )

    op.create_table(
        "job_alerts",
        sa.Column("rule_key", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("jobs", sa.Text(), nullable=False),
        sa.Column("thresholds", sa.Text(), nullable=False),
        sa.Column("severity", sa.Text(), nullable=False),
        sa.Column("channels", sa.Text(), nullable=False),
        sa.Column("escalation", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("rules_hash", sa.Text(), nullable=False),
        sa.Column(
            "recorded_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("rule_key", name=op.f("pk_job_alerts")),
    )


def downgrade() -> None:
    op.drop_table("job_alerts")
    with op.batch_alter_table("alert_incidents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_incidents_status_last_seen_at"))
        batch_op.drop_index(
            "ix_alert_incidents_open_dedup_key",
            sqlite_where=sa.text("status != 'resolved'"),
            postgresql_where=sa.text("status != 'resolved'"),
        )

    op.drop_table("alert_incidents")
