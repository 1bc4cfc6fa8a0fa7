"""customers: customer analytics, top customers, staff performance

Revision ID: 0004_customers
Revises: 0003_kpis
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_customers"
down_revision: str | None = "0003_kpis"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "customer_analytics",
        sa.Column("venue_id", sa.Text(), nullable=False),
        sa.Column("customer_key", sa.Text(), nullable=False),
        sa.Column("as_of_date", sa.Date(), nullable=False),
        sa.Column("visits", sa.BigInteger(), nullable=False),
        sa.Column("first_visit", sa.Date(), nullable=True),
        sa.Column("last_visit", sa.Date(), nullable=True),
        sa.Column("days_since_last_visit", sa.BigInteger(), nullable=True),
        sa.Column("visits_90d", sa.BigInteger(), nullable=False),
        sa.Column("lifetime_value_pence", sa.BigInteger(), nullable=False),
        sa.Column("avg_spend_pence", sa.Float(), nullable=True),
        sa.Column("avg_party_size", sa.Float(), nullable=True),
        sa.Column("preferred_night", sa.Text(), nullable=True),
        sa.Column("special_occasions", sa.Text(), nullable=True),
        sa.Column("special_occasion_nights", sa.BigInteger(), nullable=False),
        sa.Column("is_vip", sa.Boolean(), nullable=False),
        sa.Column("loyalty_score", sa.Float(), nullable=False),
        sa.Column("churn_probability", sa.Float(), nullable=True),
        sa.Column("segment", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("venue_id", "customer_key", name=op.f("pk_customer_analytics")),
    )
    op.create_table(
        "staff_performance",
        sa.Column("venue_id", sa.Text(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("staff_id", sa.Text(), nullable=False),
        sa.Column("staff_name", sa.Text(), nullable=True),
        sa.Column("role", sa.Text(), nullable=True),
        sa.Column("shifts", sa.BigInteger(), nullable=False),
        sa.Column("hours_on_shift", sa.Float(), nullable=False),
        sa.Column("bar_sales_pence", sa.BigInteger(), nullable=False),
        sa.Column("bar_transactions", sa.BigInteger(), nullable=False),
        sa.Column("entries_processed", sa.BigInteger(), nullable=False),
        sa.Column("sales_per_hour_pence", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("venue_id", "business_date", "staff_id", name=op.f("pk_staff_performance")),
    )
    with op.batch_alter_table("staff_performance", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_staff_performance_business_date"), ["business_date"], unique=False
        )

    op.create_table(
        "top_customers",
        sa.Column("venue_id", sa.Text(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("ranking", sa.Text(), nullable=False),
        sa.Column("rank", sa.BigInteger(), nullable=False),
        sa.Column("customer_key", sa.Text(), nullable=False),
        sa.Column("visits_90d", sa.BigInteger(), nullable=False),
        sa.Column("spend_90d_pence", sa.BigInteger(), nullable=False),
        sa.Column("last_visit", sa.Date(), nullable=True),
        sa.Column("segment", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint(
            "venue_id", "business_date", "ranking", "rank", name=op.f("pk_top_customers")
        ),
    )
    with op.batch_alter_table("top_customers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_top_customers_business_date"), ["business_date"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("top_customers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_top_customers_business_date"))

    op.drop_table("top_customers")
    with op.batch_alter_table("staff_performance", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_performance_business_date"))

    op.drop_table("staff_performance")
    op.drop_table("customer_analytics")
