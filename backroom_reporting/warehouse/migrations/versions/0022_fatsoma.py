"""fatsoma: the Fatsoma connector's landing tables and the connectors' cursors

Fatsoma's events and ticket orders land in fatsoma_events and fatsoma_orders (the source
contract's columns, each nullable, keyed by Fatsoma's id) before the raw layer loads them;
connector_cursors remembers how far each incremental pull has read (docs/connectors.md).
On PostgreSQL all three are the admin role's only: plumbing, not figures.

Revision ID: 0022_fatsoma
Revises: 0020_erased_customers
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backroom_reporting.warehouse.types

revision: str = "0022_fatsoma"
down_revision: str | None = "0021_stripe"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "connector_cursors",
        sa.Column("connector", sa.Text(), nullable=False),
        sa.Column("resource", sa.Text(), nullable=False),
        sa.Column(
            "updated_since", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=False
        ),
        sa.Column(
            "pulled_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("connector", "resource", name=op.f("pk_connector_cursors")),
    )
    op.create_table(
        "fatsoma_events",
        sa.Column("landing_key", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=True),
        sa.Column("venue_id", sa.Text(), nullable=True),
        sa.Column("brand", sa.Text(), nullable=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("starts_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=True),
        sa.Column("ends_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=True),
        sa.Column("capacity", sa.BigInteger(), nullable=True),
        sa.Column("ticket_price_pence", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.Text(), nullable=True),
        sa.Column(
            "updated_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=True
        ),
        sa.Column(
            "landed_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=False
        ),
        sa.Column("received", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("landing_key", name=op.f("pk_fatsoma_events")),
    )
    op.create_table(
        "fatsoma_orders",
        sa.Column("landing_key", sa.Text(), nullable=False),
        sa.Column("order_id", sa.Text(), nullable=True),
        sa.Column("venue_id", sa.Text(), nullable=True),
        sa.Column("event_id", sa.Text(), nullable=True),
        sa.Column("customer_id", sa.Text(), nullable=True),
        sa.Column("quantity", sa.BigInteger(), nullable=True),
        sa.Column("gross_pence", sa.BigInteger(), nullable=True),
        sa.Column("fee_pence", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.Text(), nullable=True),
        sa.Column(
            "purchased_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=True
        ),
        sa.Column(
            "refunded_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=True
        ),
        sa.Column(
            "updated_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=True
        ),
        sa.Column(
            "landed_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=False
        ),
        sa.Column("received", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("landing_key", name=op.f("pk_fatsoma_orders")),
    )
    with op.batch_alter_table("fatsoma_orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fatsoma_orders_purchased_at"), ["purchased_at"], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        # 0016's default privileges already let the admin role read them; only the admin.
        for table in ("connector_cursors", "fatsoma_events", "fatsoma_orders"):
            op.execute(f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY')
            op.execute(f'CREATE POLICY admin_only ON "{table}" FOR SELECT TO reporting_admin USING (true)')


def downgrade() -> None:
    with op.batch_alter_table("fatsoma_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fatsoma_orders_purchased_at"))

    op.drop_table("fatsoma_orders")
    op.drop_table("fatsoma_events")
    op.drop_table("connector_cursors")
