"""paging: the messages sent about incidents, each alert sensor's last tick, and what an
incident pages by

alert_incidents keeps its rule's channels and escalation policy from when it opened; the
incidents already open take their rule's current ones (or email and on_call where the rule
is gone). alert_notifications records each step of an escalation per channel;
sensor_heartbeats is what the watchdog reads.

Revision ID: 0015_paging
Revises: 0014_stale_deliveries
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backroom_reporting.warehouse.types

revision: str = "0015_paging"
down_revision: str | None = "0014_stale_deliveries"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Number = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Timestamp = backroom_reporting.warehouse.types.UtcTimestamp(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("alert_incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("channels", sa.Text(), nullable=False, server_default='["email"]'))
        batch_op.add_column(sa.Column("escalation", sa.Text(), nullable=False, server_default="on_call"))
    # Open incidents page as their rule says now, where the rule is still in force.
    op.execute(
        "UPDATE alert_incidents SET channels = (SELECT channels FROM job_alerts "
        "WHERE job_alerts.rule_key = alert_incidents.rule_key), escalation = (SELECT escalation "
        "FROM job_alerts WHERE job_alerts.rule_key = alert_incidents.rule_key) "
        "WHERE rule_key IN (SELECT rule_key FROM job_alerts)"
    )
    with op.batch_alter_table("alert_incidents", schema=None) as batch_op:
        batch_op.alter_column("channels", server_default=None)
        batch_op.alter_column("escalation", server_default=None)

    op.create_table(
        "alert_notifications",
        sa.Column("notification_id", Number, autoincrement=True, nullable=False),
        sa.Column("incident_number", Number, nullable=False),
        sa.Column("step_key", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("person", sa.Text(), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("claimed_at", Timestamp, nullable=False),
        sa.Column("finished_at", Timestamp, nullable=True),
        sa.PrimaryKeyConstraint("notification_id", name=op.f("pk_alert_notifications")),
    )
    with op.batch_alter_table("alert_notifications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_alert_notifications_incident_number_step_key_channel"),
            ["incident_number", "step_key", "channel"],
            unique=True,
        )

    op.create_table(
        "sensor_heartbeats",
        sa.Column("sensor_name", sa.Text(), nullable=False),
        sa.Column("ticked_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("sensor_name", name=op.f("pk_sensor_heartbeats")),
    )


def downgrade() -> None:
    op.drop_table("sensor_heartbeats")
    with op.batch_alter_table("alert_notifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_notifications_incident_number_step_key_channel"))
    op.drop_table("alert_notifications")
    with op.batch_alter_table("alert_incidents", schema=None) as batch_op:
        batch_op.drop_column("escalation")
        batch_op.drop_column("channels")
