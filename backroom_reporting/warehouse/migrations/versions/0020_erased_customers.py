"""erased customers: the customers erased on request, by the hash of their id, left out of every load

The raw layer reloads customers and recent nights from the booking system, so an erased
customer still there would come back. Erasure now lists them here by the SHA-256 of their id
(a list that names nobody), and every load leaves them out (docs/privacy.md, "Erasure"). On
PostgreSQL the table is the admin role's only, like the other customer-level tables.

Revision ID: 0020_erased_customers
Revises: 0019_archive_indexes
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backroom_reporting.warehouse.types

revision: str = "0020_erased_customers"
down_revision: str | None = "0019_archive_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Timestamp = backroom_reporting.warehouse.types.UtcTimestamp(timezone=True)


def upgrade() -> None:
    op.create_table(
        "erased_customers",
        sa.Column("customer_hash", sa.Text(), nullable=False),
        sa.Column("erased_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("customer_hash", name=op.f("pk_erased_customers")),
    )
    if op.get_bind().dialect.name == "postgresql":
        # 0016's default privileges already let the admin role read it; only the admin.
        op.execute('ALTER TABLE "erased_customers" ENABLE ROW LEVEL SECURITY')
        op.execute(
            'CREATE POLICY admin_only ON "erased_customers" FOR SELECT TO reporting_admin USING (true)'
        )


def downgrade() -> None:
    op.drop_table("erased_customers")
