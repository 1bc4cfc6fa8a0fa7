"""stale deliveries: the last good report sent in place of a period's failed one

report_deliveries.stale_reason says why a delivery carries the last good report instead of
its period's own (docs/delivery.md, "When a report goes out"). Existing rows keep null: fresh.

Revision ID: 0014_stale_deliveries
Revises: 0013_alerts
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_stale_deliveries"
down_revision: str | None = "0013_alerts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("report_deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stale_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("report_deliveries", schema=None) as batch_op:
        batch_op.drop_column("stale_reason")
