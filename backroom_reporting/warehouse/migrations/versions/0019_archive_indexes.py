"""archive indexes: the report archive's pages, newest first, without reading every report

The portal's /archive lists report_generation_history newest first, of every venue or of
one; without these indexes each page read the whole table (docs/portal.md, "The report archive").

Revision ID: 0019_archive_indexes
Revises: 0018_data_minimisation
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0019_archive_indexes"
down_revision: str | None = "0018_data_minimisation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("report_generation_history", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_report_generation_history_generated_at_generation_id"),
            ["generated_at", "generation_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_report_generation_history_venue_id_generated_at"),
            ["venue_id", "generated_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("report_generation_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_generation_history_venue_id_generated_at"))
        batch_op.drop_index(batch_op.f("ix_report_generation_history_generated_at_generation_id"))
