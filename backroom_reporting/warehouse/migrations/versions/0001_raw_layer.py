"""raw layer: one table per source table and the quarantine

Revision ID: 0001_raw_layer
Revises:
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backroom_reporting.warehouse.types

revision: str = "0001_raw_layer"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "raw_bar_transactions",
        sa.Column("transaction_id", sa.Text(), nullable=False),
        sa.Column("venue_id", sa.Text(), nullable=False),
        sa.Column("staff_id", sa.Text(), nullable=False),
        sa.Column("booking_id", sa.Text(), nullable=True),
        sa.Column("table_id", sa.Text(), nullable=True),
        sa.Column("amount_pence", sa.BigInteger(), nullable=False),
        sa.Column("items", sa.BigInteger(), nullable=False),
        sa.Column(
            "occurred_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=False
        ),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("transaction_id", name=op.f("pk_raw_bar_transactions")),
    )
    with op.batch_alter_table("raw_bar_transactions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_raw_bar_transactions_business_date"), ["business_date"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_raw_bar_transactions_occurred_at"),
            ["occurred_at"],
            unique=False,
            postgresql_using="brin",
        )

    op.create_table(
        "raw_bookings",
        sa.Column("booking_id", sa.Text(), nullable=False),
        sa.Column("venue_id", sa.Text(), nullable=False),
        sa.Column("customer_id", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=True),
        sa.Column("table_id", sa.Text(), nullable=True),
        sa.Column(
            "created_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=False
        ),
        sa.Column(
            "booking_start", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=False
        ),
        sa.Column("party_size", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column(
            "cancelled_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=True
        ),
        sa.Column("deposit_pence", sa.BigInteger(), nullable=False),
        sa.Column("special_occasion", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("booking_id", name=op.f("pk_raw_bookings")),
    )
    with op.batch_alter_table("raw_bookings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_raw_bookings_event_id"), ["event_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_raw_bookings_booking_start"),
            ["booking_start"],
            unique=False,
            postgresql_using="brin",
        )
        batch_op.create_index(batch_op.f("ix_raw_bookings_business_date"), ["business_date"], unique=False)

    op.create_table(
        "raw_check_ins",
        sa.Column("check_in_id", sa.Text(), nullable=False),
        sa.Column("venue_id", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=True),
        sa.Column("booking_id", sa.Text(), nullable=True),
        sa.Column("order_id", sa.Text(), nullable=True),
        sa.Column("customer_id", sa.Text(), nullable=True),
        sa.Column("direction", sa.Text(), nullable=False),
        sa.Column(
            "scanned_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=False
        ),
        sa.Column("staff_id", sa.Text(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("check_in_id", name=op.f("pk_raw_check_ins")),
    )
    with op.batch_alter_table("raw_check_ins", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_raw_check_ins_business_date"), ["business_date"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_raw_check_ins_scanned_at"), ["scanned_at"], unique=False, postgresql_using="brin"
        )

    op.create_table(
        "raw_customers",
        sa.Column("customer_id", sa.Text(), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("phone", sa.Text(), nullable=False),
        sa.Column("first_name", sa.Text(), nullable=False),
        sa.Column("last_name", sa.Text(), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=True),
        sa.Column(
            "created_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=False
        ),
        sa.Column("marketing_consent", sa.Boolean(), nullable=False),
        sa.Column("is_vip", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_raw_customers")),
    )
    op.create_table(
        "raw_events",
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("venue_id", sa.Text(), nullable=False),
        sa.Column("brand", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column(
            "starts_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=False
        ),
        sa.Column("ends_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=False),
        sa.Column("capacity", sa.BigInteger(), nullable=False),
        sa.Column("ticket_price_pence", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_raw_events")),
    )
    op.create_table(
        "raw_feedback",
        sa.Column("feedback_id", sa.Text(), nullable=False),
        sa.Column("venue_id", sa.Text(), nullable=False),
        sa.Column("customer_id", sa.Text(), nullable=False),
        sa.Column("booking_id", sa.Text(), nullable=True),
        sa.Column("event_id", sa.Text(), nullable=True),
        sa.Column("score", sa.BigInteger(), nullable=False),
        sa.Column("nps", sa.BigInteger(), nullable=True),
        sa.Column(
            "submitted_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=False
        ),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("feedback_id", name=op.f("pk_raw_feedback")),
    )
    with op.batch_alter_table("raw_feedback", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_raw_feedback_event_id"), ["event_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_raw_feedback_business_date"), ["business_date"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_raw_feedback_submitted_at"),
            ["submitted_at"],
            unique=False,
            postgresql_using="brin",
        )

    op.create_table(
        "raw_payments",
        sa.Column("payment_id", sa.Text(), nullable=False),
        sa.Column("venue_id", sa.Text(), nullable=False),
        sa.Column("booking_id", sa.Text(), nullable=True),
        sa.Column("customer_id", sa.Text(), nullable=True),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("amount_pence", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column(
            "created_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=False
        ),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("payment_id", name=op.f("pk_raw_payments")),
    )
    with op.batch_alter_table("raw_payments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_raw_payments_business_date"), ["business_date"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_raw_payments_created_at"), ["created_at"], unique=False, postgresql_using="brin"
        )

    op.create_table(
        "raw_quarantine",
        sa.Column("source_table", sa.Text(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=True),
        sa.Column("record_id", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("raw_values", sa.Text(), nullable=False),
    )
    with op.batch_alter_table("raw_quarantine", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_raw_quarantine_source_table_business_date"),
            ["source_table", "business_date"],
            unique=False,
        )

    op.create_table(
        "raw_staff",
        sa.Column("staff_id", sa.Text(), nullable=False),
        sa.Column("venue_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("phone", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("staff_id", name=op.f("pk_raw_staff")),
    )
    op.create_table(
        "raw_staff_shifts",
        sa.Column("shift_id", sa.Text(), nullable=False),
        sa.Column("venue_id", sa.Text(), nullable=False),
        sa.Column("staff_id", sa.Text(), nullable=False),
        sa.Column(
            "starts_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=False
        ),
        sa.Column("ends_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("shift_id", name=op.f("pk_raw_staff_shifts")),
    )
    with op.batch_alter_table("raw_staff_shifts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_raw_staff_shifts_business_date"), ["business_date"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_raw_staff_shifts_starts_at"), ["starts_at"], unique=False, postgresql_using="brin"
        )

    op.create_table(
        "raw_ticket_sales",
        sa.Column("order_id", sa.Text(), nullable=False),
        sa.Column("venue_id", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("customer_id", sa.Text(), nullable=True),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("gross_pence", sa.BigInteger(), nullable=False),
        sa.Column("fee_pence", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column(
            "purchased_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=False
        ),
        sa.Column(
            "refunded_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=True
        ),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_raw_ticket_sales")),
    )
    with op.batch_alter_table("raw_ticket_sales", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_raw_ticket_sales_event_id"), ["event_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_raw_ticket_sales_business_date"), ["business_date"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_raw_ticket_sales_purchased_at"),
            ["purchased_at"],
            unique=False,
            postgresql_using="brin",
        )

    op.create_table(
        "raw_venue_tables",
        sa.Column("table_id", sa.Text(), nullable=False),
        sa.Column("venue_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("area", sa.Text(), nullable=False),
        sa.Column("seats", sa.BigInteger(), nullable=False),
        sa.Column("minimum_spend_pence", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("table_id", name=op.f("pk_raw_venue_tables")),
    )
    op.create_table(
        "raw_venues",
        sa.Column("venue_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("city", sa.Text(), nullable=False),
        sa.Column("timezone", sa.Text(), nullable=False),
        sa.Column("capacity", sa.BigInteger(), nullable=False),
        sa.Column("business_day_cutoff", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("venue_id", name=op.f("pk_raw_venues")),
    )


def downgrade() -> None:
    op.drop_table("raw_venues")
    op.drop_table("raw_venue_tables")
    with op.batch_alter_table("raw_ticket_sales", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_raw_ticket_sales_event_id"))
        batch_op.drop_index(batch_op.f("ix_raw_ticket_sales_purchased_at"), postgresql_using="brin")
        batch_op.drop_index(batch_op.f("ix_raw_ticket_sales_business_date"))

    op.drop_table("raw_ticket_sales")
    with op.batch_alter_table("raw_staff_shifts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_raw_staff_shifts_starts_at"), postgresql_using="brin")
        batch_op.drop_index(batch_op.f("ix_raw_staff_shifts_business_date"))

    op.drop_table("raw_staff_shifts")
    op.drop_table("raw_staff")
    with op.batch_alter_table("raw_quarantine", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_raw_quarantine_source_table_business_date"))

    op.drop_table("raw_quarantine")
    with op.batch_alter_table("raw_payments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_raw_payments_created_at"), postgresql_using="brin")
        batch_op.drop_index(batch_op.f("ix_raw_payments_business_date"))

    op.drop_table("raw_payments")
    with op.batch_alter_table("raw_feedback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_raw_feedback_event_id"))
        batch_op.drop_index(batch_op.f("ix_raw_feedback_submitted_at"), postgresql_using="brin")
        batch_op.drop_index(batch_op.f("ix_raw_feedback_business_date"))

    op.drop_table("raw_feedback")
    op.drop_table("raw_events")
    op.drop_table("raw_customers")
    with op.batch_alter_table("raw_check_ins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_raw_check_ins_scanned_at"), postgresql_using="brin")
        batch_op.drop_index(batch_op.f("ix_raw_check_ins_business_date"))

    op.drop_table("raw_check_ins")
    with op.batch_alter_table("raw_bookings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_raw_bookings_event_id"))
        batch_op.drop_index(batch_op.f("ix_raw_bookings_business_date"))
        batch_op.drop_index(batch_op.f("ix_raw_bookings_booking_start"), postgresql_using="brin")

    op.drop_table("raw_bookings")
    with op.batch_alter_table("raw_bar_transactions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_raw_bar_transactions_occurred_at"), postgresql_using="brin")
        batch_op.drop_index(batch_op.f("ix_raw_bar_transactions_business_date"))

    op.drop_table("raw_bar_transactions")
