"""stripe: what the Stripe connector lands, the webhook events that re-open nights, and the
reconciliation of booking-system payments with Stripe's

Charges, refunds, disputes and payouts upserted by Stripe id, the signed webhook events about
refunds and disputes, the ledger of pulls by night, and payment_reconciliation
(docs/connectors.md, "Stripe"). On PostgreSQL every one is the admin role's only: webhook
payloads carry cardholders' details, and the rest is finance's until a grant says otherwise.

Revision ID: 0021_stripe
Revises: 0020_erased_customers
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backroom_reporting.warehouse.types

revision: str = "0021_stripe"
down_revision: str | None = "0020_erased_customers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


STRIPE_TABLES = (
    "payment_reconciliation",
    "stripe_charges",
    "stripe_disputes",
    "stripe_events",
    "stripe_loads",
    "stripe_payouts",
    "stripe_refunds",
)


def upgrade() -> None:
    op.create_table(
        "payment_reconciliation",
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("venue_id", sa.Text(), nullable=False),
        sa.Column("booking_id", sa.Text(), nullable=True),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("booking_system_pence", sa.BigInteger(), nullable=False),
        sa.Column("stripe_pence", sa.BigInteger(), nullable=False),
        sa.Column("stripe_ids", sa.Text(), nullable=False),
        sa.Column("difference", sa.Text(), nullable=False),
    )
    with op.batch_alter_table("payment_reconciliation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payment_reconciliation_business_date_venue_id"),
            ["business_date", "venue_id"],
            unique=False,
        )

    op.create_table(
        "stripe_charges",
        sa.Column("charge_id", sa.Text(), nullable=False),
        sa.Column("venue_id", sa.Text(), nullable=False),
        sa.Column("booking_id", sa.Text(), nullable=False),
        sa.Column("amount_pence", sa.BigInteger(), nullable=False),
        sa.Column("amount_refunded_pence", sa.BigInteger(), nullable=True),
        sa.Column("disputed", sa.Boolean(), nullable=True),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column(
            "created_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=False
        ),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column(
            "landed_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("charge_id", name=op.f("pk_stripe_charges")),
    )
    with op.batch_alter_table("stripe_charges", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stripe_charges_business_date"), ["business_date"], unique=False)

    op.create_table(
        "stripe_disputes",
        sa.Column("dispute_id", sa.Text(), nullable=False),
        sa.Column("charge_id", sa.Text(), nullable=False),
        sa.Column("venue_id", sa.Text(), nullable=False),
        sa.Column("booking_id", sa.Text(), nullable=False),
        sa.Column("amount_pence", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column(
            "created_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=False
        ),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column(
            "landed_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("dispute_id", name=op.f("pk_stripe_disputes")),
    )
    with op.batch_alter_table("stripe_disputes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stripe_disputes_business_date"), ["business_date"], unique=False)

    op.create_table(
        "stripe_events",
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("object_id", sa.Text(), nullable=False),
        sa.Column(
            "object_created_at",
            backroom_reporting.warehouse.types.UtcTimestamp(timezone=True),
            nullable=False,
        ),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column(
            "received_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=False
        ),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_stripe_events")),
    )
    with op.batch_alter_table("stripe_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stripe_events_business_date"), ["business_date"], unique=False)

    op.create_table(
        "stripe_loads",
        sa.Column("source_table", sa.Text(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column(
            "loaded_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=False
        ),
        sa.Column("as_of", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=False),
        sa.Column("final", sa.Boolean(), nullable=False),
        sa.Column("since", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=False),
        sa.Column("rows_pulled", sa.BigInteger(), nullable=False),
        sa.Column("rows_landed", sa.BigInteger(), nullable=False),
        sa.Column("rows_quarantined", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("source_table", "business_date", name=op.f("pk_stripe_loads")),
    )
    op.create_table(
        "stripe_payouts",
        sa.Column("payout_id", sa.Text(), nullable=False),
        sa.Column("amount_pence", sa.BigInteger(), nullable=False),
        sa.Column("arrival_date", sa.Date(), nullable=True),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column(
            "created_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=False
        ),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column(
            "landed_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("payout_id", name=op.f("pk_stripe_payouts")),
    )
    with op.batch_alter_table("stripe_payouts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stripe_payouts_business_date"), ["business_date"], unique=False)

    op.create_table(
        "stripe_refunds",
        sa.Column("refund_id", sa.Text(), nullable=False),
        sa.Column("charge_id", sa.Text(), nullable=True),
        sa.Column("venue_id", sa.Text(), nullable=False),
        sa.Column("booking_id", sa.Text(), nullable=False),
        sa.Column("amount_pence", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column(
            "created_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=False
        ),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column(
            "landed_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("refund_id", name=op.f("pk_stripe_refunds")),
    )
    with op.batch_alter_table("stripe_refunds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stripe_refunds_business_date"), ["business_date"], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        # 0016's default privileges already let the admin role read them; only the admin.
        for table in STRIPE_TABLES:
            op.execute(f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY')
            op.execute(f'CREATE POLICY admin_only ON "{table}" FOR SELECT TO reporting_admin USING (true)')


def downgrade() -> None:
    with op.batch_alter_table("stripe_refunds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stripe_refunds_business_date"))

    op.drop_table("stripe_refunds")
    with op.batch_alter_table("stripe_payouts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stripe_payouts_business_date"))

    op.drop_table("stripe_payouts")
    op.drop_table("stripe_loads")
    with op.batch_alter_table("stripe_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stripe_events_business_date"))

    op.drop_table("stripe_events")
    with op.batch_alter_table("stripe_disputes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stripe_disputes_business_date"))

    op.drop_table("stripe_disputes")
    with op.batch_alter_table("stripe_charges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stripe_charges_business_date"))

    op.drop_table("stripe_charges")
    with op.batch_alter_table("payment_reconciliation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_reconciliation_business_date_venue_id"))

    op.drop_table("payment_reconciliation")
