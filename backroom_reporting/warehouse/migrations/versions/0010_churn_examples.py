"""churn examples: the churn model's labelled examples at each cutoff, kept between weeks

A cutoff's examples are computed once and read again by the later weeks that train on it,
so a weekly snapshot's cost does not grow with the history (docs/metrics.md, "Churn
probability"). The table starts empty; the next snapshots fill it.

Revision ID: 0010_churn_examples
Revises: 0009_weekly_snapshots
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_churn_examples"
down_revision: str | None = "0009_weekly_snapshots"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "churn_examples",
        sa.Column("cutoff", sa.Date(), nullable=False),
        sa.Column("venue_id", sa.Text(), nullable=False),
        sa.Column("days_since_last_visit", sa.Float(), nullable=False),
        sa.Column("log_days_since_last_visit", sa.Float(), nullable=False),
        sa.Column("days_since_first_visit", sa.Float(), nullable=False),
        sa.Column("log_visits", sa.Float(), nullable=False),
        sa.Column("visits_per_week", sa.Float(), nullable=False),
        sa.Column("visits_28d", sa.Float(), nullable=False),
        sa.Column("visits_90d", sa.Float(), nullable=False),
        sa.Column("booked_share", sa.Float(), nullable=False),
        sa.Column("log_lifetime_value", sa.Float(), nullable=False),
        sa.Column("is_vip", sa.Float(), nullable=False),
        sa.Column("churned", sa.Boolean(), nullable=False),
    )
    with op.batch_alter_table("churn_examples", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_churn_examples_cutoff"), ["cutoff"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("churn_examples", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_churn_examples_cutoff"))

    op.drop_table("churn_examples")
