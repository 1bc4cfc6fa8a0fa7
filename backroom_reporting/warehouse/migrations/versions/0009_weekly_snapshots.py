"""weekly snapshots: snapshot loads ledger

raw_snapshot_loads records each snapshot table's latest load and its fingerprint, so an
unchanged source is not written again.

Revision ID: 0009_weekly_snapshots
Revises: 0008_nightly_automation
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backroom_reporting.warehouse.types

revision: str = "0009_weekly_snapshots"
down_revision: str | None = "0008_nightly_automation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "raw_snapshot_loads",
        sa.Column("source_table", sa.Text(), nullable=False),
        sa.Column(
            "loaded_at", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=False
        ),
        sa.Column("source_rows", sa.BigInteger(), nullable=False),
        sa.Column("rows_loaded", sa.BigInteger(), nullable=False),
        sa.Column("rows_quarantined", sa.BigInteger(), nullable=False),
        sa.Column("fingerprint", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("source_table", name=op.f("pk_raw_snapshot_loads")),
    )


def downgrade() -> None:
    op.drop_table("raw_snapshot_loads")
