"""delivery: report deliveries and their lifecycle, consents given and withdrawn, API tokens

Also the columns delivery needs on recipients (Slack channel, verification and suppression
times), subscriptions (the webhook and its rotatable secret) and generations (the email body
with its chart images). Existing rows keep nulls: nobody is verified or suppressed yet.

Revision ID: 0012_delivery
Revises: 0011_night_attribution
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backroom_reporting.warehouse.types

revision: str = "0012_delivery"
down_revision: str | None = "0011_night_attribution"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("token_id", sa.Text(), nullable=False),
        sa.Column("token_sha256", sa.Text(), nullable=False),
        sa.Column("recipient_id", sa.Text(), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column(
            "created_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=False
        ),
        sa.Column(
            "expires_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=True
        ),
        sa.Column(
            "revoked_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=True
        ),
        sa.PrimaryKeyConstraint("token_id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_sha256"),
    )
    op.create_table(
        "consent_events",
        sa.Column(
            "event_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("recipient_id", sa.Text(), nullable=False),
        sa.Column("subscription_id", sa.Text(), nullable=True),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=False),
        sa.Column("how", sa.Text(), nullable=False),
        sa.Column("by", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_consent_events")),
    )
    with op.batch_alter_table("consent_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_consent_events_recipient_id_at"), ["recipient_id", "at"], unique=False
        )

    op.create_table(
        "report_deliveries",
        sa.Column("delivery_id", sa.Text(), nullable=False),
        sa.Column("subscription_id", sa.Text(), nullable=False),
        sa.Column("recipient_id", sa.Text(), nullable=False),
        sa.Column("template_key", sa.Text(), nullable=False),
        sa.Column("period", sa.Text(), nullable=False),
        sa.Column("period_first_day", sa.Date(), nullable=False),
        sa.Column("period_last_day", sa.Date(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("generation_id", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column(
            "status_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=False
        ),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("attempts", sa.BigInteger(), nullable=False),
        sa.Column("retryable", sa.Boolean(), nullable=True),
        sa.Column("provider_message_id", sa.Text(), nullable=True),
        sa.Column("claimed_by", sa.Text(), nullable=True),
        sa.Column(
            "queued_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=False
        ),
        sa.Column("sent_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=True),
        sa.Column(
            "delivered_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=True
        ),
        sa.Column("opened_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=True),
        sa.Column(
            "clicked_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=True
        ),
        sa.PrimaryKeyConstraint("delivery_id", name=op.f("pk_report_deliveries")),
    )
    with op.batch_alter_table("report_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_report_deliveries_provider_message_id"), ["provider_message_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_report_deliveries_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_report_deliveries_subscription_id_period"),
            ["subscription_id", "period"],
            unique=False,
        )

    op.create_table(
        "report_delivery_history",
        sa.Column(
            "event_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("delivery_id", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_report_delivery_history")),
    )
    with op.batch_alter_table("report_delivery_history", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_report_delivery_history_delivery_id_at"), ["delivery_id", "at"], unique=False
        )

    with op.batch_alter_table("report_generation_history", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email_parts", sa.Text(), nullable=True))

    with op.batch_alter_table("report_recipients", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "verification_sent_at",
                backroom_reporting.warehouse.types.UtcTimestamp(timezone=True),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("slack_channel", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "email_verified_at",
                backroom_reporting.warehouse.types.UtcTimestamp(timezone=True),
                nullable=True,
            )
        )
        batch_op.add_column(
            sa.Column(
                "suppressed_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=True
            )
        )
        batch_op.add_column(sa.Column("suppressed_reason", sa.Text(), nullable=True))

    with op.batch_alter_table("report_subscriptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("webhook_url", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("webhook_secret", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("webhook_previous_secret", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "webhook_secret_rotated_at",
                backroom_reporting.warehouse.types.UtcTimestamp(timezone=True),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("report_subscriptions", schema=None) as batch_op:
        batch_op.drop_column("webhook_secret_rotated_at")
        batch_op.drop_column("webhook_previous_secret")
        batch_op.drop_column("webhook_secret")
        batch_op.drop_column("webhook_url")

    with op.batch_alter_table("report_recipients", schema=None) as batch_op:
        batch_op.drop_column("suppressed_reason")
        batch_op.drop_column("suppressed_at")
        batch_op.drop_column("verification_sent_at")
        batch_op.drop_column("email_verified_at")
        batch_op.drop_column("slack_channel")

    with op.batch_alter_table("report_generation_history", schema=None) as batch_op:
        batch_op.drop_column("email_parts")

    with op.batch_alter_table("report_delivery_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_delivery_history_delivery_id_at"))

    op.drop_table("report_delivery_history")
    with op.batch_alter_table("report_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_deliveries_subscription_id_period"))
        batch_op.drop_index(batch_op.f("ix_report_deliveries_status"))
        batch_op.drop_index(batch_op.f("ix_report_deliveries_provider_message_id"))

    op.drop_table("report_deliveries")
    with op.batch_alter_table("consent_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consent_events_recipient_id_at"))

    op.drop_table("consent_events")
    op.drop_table("api_tokens")
