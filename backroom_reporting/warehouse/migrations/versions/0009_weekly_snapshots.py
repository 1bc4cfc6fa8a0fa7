"""weekly snapshots: customer analytics and the revenue forecast per business week; snapshot loads

customer_analytics and revenue_forecast hold one snapshot per business week, keyed by its
first night (week_start). The rows already there are the snapshot of the week holding their
as-of day (as_of_date, made_on). raw_snapshot_loads records each snapshot table's latest
load and its fingerprint, so an unchanged source is not written again.

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

# table -> (the day its rows stand at, the primary key before and after this revision)
SNAPSHOTS = {
    "customer_analytics": ("as_of_date", ["venue_id", "customer_key"]),
    "revenue_forecast": ("made_on", ["venue_id", "forecast_date"]),
}


def _monday_of(column: str) -> str:
    """SQL for the first night (Monday) of the business week holding a date column."""
    if op.get_bind().dialect.name == "postgresql":
        return f"CAST(date_trunc('week', {column}) AS DATE)"
    return f"date({column}, '-' || ((CAST(strftime('%w', {column}) AS INTEGER) + 6) % 7) || ' days')"


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
    for table, (as_of, key) in SNAPSHOTS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("week_start", sa.Date(), nullable=True))
        op.execute(f"UPDATE {table} SET week_start = {_monday_of(as_of)}")
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column("week_start", existing_type=sa.Date(), nullable=False)
            batch_op.drop_constraint(f"pk_{table}", type_="primary")
            batch_op.create_primary_key(f"pk_{table}", ["week_start", *key])


def downgrade() -> None:
    for table, (_, key) in SNAPSHOTS.items():
        # Before this revision each table held one snapshot: the latest is kept.
        op.execute(f"DELETE FROM {table} WHERE week_start < (SELECT MAX(week_start) FROM {table})")
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f"pk_{table}", type_="primary")
            batch_op.create_primary_key(f"pk_{table}", key)
            batch_op.drop_column("week_start")
    op.drop_table("raw_snapshot_loads")
