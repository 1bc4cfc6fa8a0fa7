"""night attribution: ticket revenue on its event's night, the cash view of ticket sales

daily_aggregations.ticket_revenue_pence now counts the tickets for the night's events,
whenever bought; ticket_sales_taken_pence is the new cash view (tickets bought on the day),
also totalled by weekly_summary and monthly_summary.
Feedback counts on the night it is about and spend per head is per admission
(docs/metrics.md, "daily_aggregations"). Existing rows get 0 in the new column: rebuild
them (`backroom rebuild --from <first night>`) so every figure follows the new definitions.

Revision ID: 0011_night_attribution
Revises: 0010_churn_examples
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_night_attribution"
down_revision: str | None = "0010_churn_examples"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


TABLES = ("daily_aggregations", "weekly_summary", "monthly_summary")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("ticket_sales_taken_pence", sa.BigInteger(), nullable=False, server_default="0")
            )


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("ticket_sales_taken_pence")
