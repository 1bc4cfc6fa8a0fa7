"""data minimisation: raw_customers keeps only what analytics reads

The booking system's customers still pass the whole source contract at load (a malformed
email still quarantines the row), but the warehouse keeps only customer_id, created_at,
marketing_consent and is_vip (docs/privacy.md). Downgrading brings the columns back empty
and forgets the customers' last load, so the next load fills them from the booking system.

Revision ID: 0018_data_minimisation
Revises: 0017_sign_in_links
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_data_minimisation"
down_revision: str | None = "0017_sign_in_links"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PERSONAL = ("email", "phone", "first_name", "last_name", "date_of_birth")


def upgrade() -> None:
    with op.batch_alter_table("raw_customers", schema=None) as batch_op:
        for column in PERSONAL:
            batch_op.drop_column(column)


def downgrade() -> None:
    with op.batch_alter_table("raw_customers", schema=None) as batch_op:
        for column in PERSONAL[:-1]:
            batch_op.add_column(sa.Column(column, sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("date_of_birth", sa.Date(), nullable=True))
    for column in PERSONAL[:-1]:
        with op.batch_alter_table("raw_customers", schema=None) as batch_op:
            batch_op.alter_column(column, server_default=None)
    op.execute("DELETE FROM raw_snapshot_loads WHERE source_table = 'customers'")
