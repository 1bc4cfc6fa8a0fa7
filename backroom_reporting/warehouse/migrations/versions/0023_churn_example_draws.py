"""churn example draws: each kept churn example carries the hash a fit samples by

churn_examples gains `draw` (a hash of the example's features and label) and an index on
(cutoff, draw) in place of the one on cutoff, so a training cutoff's share of a fit's
sample is read without its other examples (docs/metrics.md, "Churn probability"). The
kept examples are a cache: they are emptied here and made again, with their draws, when
next needed.

Revision ID: 0023_churn_example_draws
Revises: 0022_fatsoma
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023_churn_example_draws"
down_revision: str | None = "0022_fatsoma"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(sa.text("DELETE FROM churn_examples"))
    with op.batch_alter_table("churn_examples", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_churn_examples_cutoff"))
        batch_op.add_column(sa.Column("draw", sa.BigInteger(), nullable=False))
        batch_op.create_index(batch_op.f("ix_churn_examples_cutoff_draw"), ["cutoff", "draw"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("churn_examples", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_churn_examples_cutoff_draw"))
        batch_op.drop_column("draw")
        batch_op.create_index(batch_op.f("ix_churn_examples_cutoff"), ["cutoff"], unique=False)
