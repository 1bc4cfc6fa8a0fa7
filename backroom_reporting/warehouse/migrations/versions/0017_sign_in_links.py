"""sign-in links: the emailed sign-in links already used, and an index for the sign-in limit

An emailed link signs in once: its nonce is kept when it is used, and a second use finds it.
The sign-in limit counts the refusals of one email over the last minutes, which the new
index on the access log answers without reading the whole log. On PostgreSQL the table is
the admin role's only, like the portal's other tables of accounts and sessions.

Revision ID: 0017_sign_in_links
Revises: 0016_portal_people
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backroom_reporting.warehouse.types

revision: str = "0017_sign_in_links"
down_revision: str | None = "0016_portal_people"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Timestamp = backroom_reporting.warehouse.types.UtcTimestamp(timezone=True)


def upgrade() -> None:
    op.create_table(
        "portal_sign_in_links",
        sa.Column("nonce", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("used_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("nonce", name=op.f("pk_portal_sign_in_links")),
    )
    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_access_log_action_subject_at"), ["action", "subject", "at"], unique=False
        )
    if op.get_bind().dialect.name == "postgresql":
        # 0016's default privileges already let the admin role read it; only the admin.
        op.execute('ALTER TABLE "portal_sign_in_links" ENABLE ROW LEVEL SECURITY')
        op.execute(
            'CREATE POLICY admin_only ON "portal_sign_in_links" FOR SELECT TO reporting_admin USING (true)'
        )


def downgrade() -> None:
    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_log_action_subject_at"))
    op.drop_table("portal_sign_in_links")
