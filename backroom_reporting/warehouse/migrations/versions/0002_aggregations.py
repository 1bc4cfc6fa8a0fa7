"""aggregations: hourly, daily, customer visits, weekly and monthly summaries

Revision ID: 0002_aggregations
Revises: 0001_raw_layer
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backroom_reporting.warehouse.types

revision: str = "0002_aggregations"
down_revision: str | None = "0001_raw_layer"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "customer_visits",
        sa.Column("venue_id", sa.Text(), nullable=False),
        sa.Column("customer_id", sa.Text(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("visited", sa.Boolean(), nullable=False),
        sa.Column("booked_visit", sa.Boolean(), nullable=False),
        sa.Column("scanned_in", sa.Boolean(), nullable=False),
        sa.Column("is_vip", sa.Boolean(), nullable=False),
        sa.Column("party_size", sa.BigInteger(), nullable=True),
        sa.Column("special_occasion", sa.Text(), nullable=True),
        sa.Column("brand", sa.Text(), nullable=True),
        sa.Column("tickets_bought", sa.BigInteger(), nullable=False),
        sa.Column("ticket_spend_pence", sa.BigInteger(), nullable=False),
        sa.Column("table_spend_pence", sa.BigInteger(), nullable=False),
        sa.Column("spend_pence", sa.BigInteger(), nullable=False),
        sa.Column("feedback_score", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("venue_id", "customer_id", "business_date", name=op.f("pk_customer_visits")),
    )
    with op.batch_alter_table("customer_visits", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_customer_visits_business_date"), ["business_date"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_customer_visits_customer_id_business_date"),
            ["customer_id", "business_date"],
            unique=False,
        )

    op.create_table(
        "daily_aggregations",
        sa.Column("venue_id", sa.Text(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("bar_revenue_pence", sa.BigInteger(), nullable=False),
        sa.Column("table_revenue_pence", sa.BigInteger(), nullable=False),
        sa.Column("ticket_revenue_pence", sa.BigInteger(), nullable=False),
        sa.Column("gross_revenue_pence", sa.BigInteger(), nullable=False),
        sa.Column("deposits_pence", sa.BigInteger(), nullable=False),
        sa.Column("refunds_pence", sa.BigInteger(), nullable=False),
        sa.Column("net_revenue_pence", sa.BigInteger(), nullable=False),
        sa.Column("bookings_total", sa.BigInteger(), nullable=False),
        sa.Column("bookings_confirmed", sa.BigInteger(), nullable=False),
        sa.Column("bookings_cancelled", sa.BigInteger(), nullable=False),
        sa.Column("no_shows", sa.BigInteger(), nullable=False),
        sa.Column("bookings_completed", sa.BigInteger(), nullable=False),
        sa.Column("covers", sa.BigInteger(), nullable=False),
        sa.Column("no_show_rate", sa.Float(), nullable=True),
        sa.Column("check_ins", sa.BigInteger(), nullable=False),
        sa.Column("check_outs", sa.BigInteger(), nullable=False),
        sa.Column("peak_occupancy", sa.BigInteger(), nullable=False),
        sa.Column("occupancy_rate", sa.Float(), nullable=True),
        sa.Column("peak_hour", sa.BigInteger(), nullable=True),
        sa.Column("new_customers", sa.BigInteger(), nullable=False),
        sa.Column("returning_customers", sa.BigInteger(), nullable=False),
        sa.Column("vip_customers", sa.BigInteger(), nullable=False),
        sa.Column("birthdays", sa.BigInteger(), nullable=False),
        sa.Column("anniversaries", sa.BigInteger(), nullable=False),
        sa.Column("avg_satisfaction", sa.Float(), nullable=True),
        sa.Column("visitors", sa.BigInteger(), nullable=False),
        sa.Column("tickets_sold", sa.BigInteger(), nullable=False),
        sa.Column("feedback_count", sa.BigInteger(), nullable=False),
        sa.Column("tables_used", sa.BigInteger(), nullable=False),
        sa.Column("table_turnover", sa.Float(), nullable=True),
        sa.Column("spend_per_head_pence", sa.Float(), nullable=True),
        sa.Column("avg_party_size", sa.Float(), nullable=True),
        sa.Column("avg_deposit_pence", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("venue_id", "business_date", name=op.f("pk_daily_aggregations")),
    )
    with op.batch_alter_table("daily_aggregations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_daily_aggregations_business_date"), ["business_date"], unique=False
        )

    op.create_table(
        "hourly_aggregations",
        sa.Column("venue_id", sa.Text(), nullable=False),
        sa.Column(
            "hour_start", backroom_reporting.warehouse.types.UtcTimestamp(timezone=True), nullable=False
        ),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("local_hour", sa.BigInteger(), nullable=False),
        sa.Column("check_ins", sa.BigInteger(), nullable=False),
        sa.Column("check_outs", sa.BigInteger(), nullable=False),
        sa.Column("occupancy_end", sa.BigInteger(), nullable=False),
        sa.Column("occupancy_max", sa.BigInteger(), nullable=False),
        sa.Column("bar_revenue_pence", sa.BigInteger(), nullable=False),
        sa.Column("bar_transactions", sa.BigInteger(), nullable=False),
        sa.Column("table_revenue_pence", sa.BigInteger(), nullable=False),
        sa.Column("table_transactions", sa.BigInteger(), nullable=False),
        sa.Column("ticket_revenue_pence", sa.BigInteger(), nullable=False),
        sa.Column("tickets_sold", sa.BigInteger(), nullable=False),
        sa.Column("bookings_arriving", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("venue_id", "hour_start", name=op.f("pk_hourly_aggregations")),
    )
    with op.batch_alter_table("hourly_aggregations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_hourly_aggregations_business_date"), ["business_date"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_hourly_aggregations_hour_start"),
            ["hour_start"],
            unique=False,
            postgresql_using="brin",
        )

    op.create_table(
        "monthly_summary",
        sa.Column("venue_id", sa.Text(), nullable=False),
        sa.Column("month_start", sa.Date(), nullable=False),
        sa.Column("month_end", sa.Date(), nullable=False),
        sa.Column("trading_days", sa.BigInteger(), nullable=False),
        sa.Column("bar_revenue_pence", sa.BigInteger(), nullable=False),
        sa.Column("table_revenue_pence", sa.BigInteger(), nullable=False),
        sa.Column("ticket_revenue_pence", sa.BigInteger(), nullable=False),
        sa.Column("gross_revenue_pence", sa.BigInteger(), nullable=False),
        sa.Column("deposits_pence", sa.BigInteger(), nullable=False),
        sa.Column("refunds_pence", sa.BigInteger(), nullable=False),
        sa.Column("net_revenue_pence", sa.BigInteger(), nullable=False),
        sa.Column("bookings_total", sa.BigInteger(), nullable=False),
        sa.Column("bookings_confirmed", sa.BigInteger(), nullable=False),
        sa.Column("bookings_cancelled", sa.BigInteger(), nullable=False),
        sa.Column("no_shows", sa.BigInteger(), nullable=False),
        sa.Column("bookings_completed", sa.BigInteger(), nullable=False),
        sa.Column("covers", sa.BigInteger(), nullable=False),
        sa.Column("check_ins", sa.BigInteger(), nullable=False),
        sa.Column("check_outs", sa.BigInteger(), nullable=False),
        sa.Column("tickets_sold", sa.BigInteger(), nullable=False),
        sa.Column("new_customers", sa.BigInteger(), nullable=False),
        sa.Column("returning_customers", sa.BigInteger(), nullable=False),
        sa.Column("vip_customers", sa.BigInteger(), nullable=False),
        sa.Column("birthdays", sa.BigInteger(), nullable=False),
        sa.Column("anniversaries", sa.BigInteger(), nullable=False),
        sa.Column("visitors", sa.BigInteger(), nullable=False),
        sa.Column("feedback_count", sa.BigInteger(), nullable=False),
        sa.Column("tables_used", sa.BigInteger(), nullable=False),
        sa.Column("peak_occupancy", sa.BigInteger(), nullable=False),
        sa.Column("no_show_rate", sa.Float(), nullable=True),
        sa.Column("cancellation_rate", sa.Float(), nullable=True),
        sa.Column("avg_daily_gross_revenue_pence", sa.Float(), nullable=True),
        sa.Column("avg_occupancy_rate", sa.Float(), nullable=True),
        sa.Column("avg_satisfaction", sa.Float(), nullable=True),
        sa.Column("gross_revenue_pence_previous", sa.Float(), nullable=True),
        sa.Column("gross_revenue_pence_change", sa.Float(), nullable=True),
        sa.Column("net_revenue_pence_previous", sa.Float(), nullable=True),
        sa.Column("net_revenue_pence_change", sa.Float(), nullable=True),
        sa.Column("bookings_total_previous", sa.Float(), nullable=True),
        sa.Column("bookings_total_change", sa.Float(), nullable=True),
        sa.Column("covers_previous", sa.Float(), nullable=True),
        sa.Column("covers_change", sa.Float(), nullable=True),
        sa.Column("check_ins_previous", sa.Float(), nullable=True),
        sa.Column("check_ins_change", sa.Float(), nullable=True),
        sa.Column("new_customers_previous", sa.Float(), nullable=True),
        sa.Column("new_customers_change", sa.Float(), nullable=True),
        sa.Column("avg_occupancy_rate_previous", sa.Float(), nullable=True),
        sa.Column("avg_occupancy_rate_change", sa.Float(), nullable=True),
        sa.Column("avg_satisfaction_previous", sa.Float(), nullable=True),
        sa.Column("avg_satisfaction_change", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("venue_id", "month_start", name=op.f("pk_monthly_summary")),
    )
    op.create_table(
        "weekly_summary",
        sa.Column("venue_id", sa.Text(), nullable=False),
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("week_end", sa.Date(), nullable=False),
        sa.Column("trading_days", sa.BigInteger(), nullable=False),
        sa.Column("bar_revenue_pence", sa.BigInteger(), nullable=False),
        sa.Column("table_revenue_pence", sa.BigInteger(), nullable=False),
        sa.Column("ticket_revenue_pence", sa.BigInteger(), nullable=False),
        sa.Column("gross_revenue_pence", sa.BigInteger(), nullable=False),
        sa.Column("deposits_pence", sa.BigInteger(), nullable=False),
        sa.Column("refunds_pence", sa.BigInteger(), nullable=False),
        sa.Column("net_revenue_pence", sa.BigInteger(), nullable=False),
        sa.Column("bookings_total", sa.BigInteger(), nullable=False),
        sa.Column("bookings_confirmed", sa.BigInteger(), nullable=False),
        sa.Column("bookings_cancelled", sa.BigInteger(), nullable=False),
        sa.Column("no_shows", sa.BigInteger(), nullable=False),
        sa.Column("bookings_completed", sa.BigInteger(), nullable=False),
        sa.Column("covers", sa.BigInteger(), nullable=False),
        sa.Column("check_ins", sa.BigInteger(), nullable=False),
        sa.Column("check_outs", sa.BigInteger(), nullable=False),
        sa.Column("tickets_sold", sa.BigInteger(), nullable=False),
        sa.Column("new_customers", sa.BigInteger(), nullable=False),
        sa.Column("returning_customers", sa.BigInteger(), nullable=False),
        sa.Column("vip_customers", sa.BigInteger(), nullable=False),
        sa.Column("birthdays", sa.BigInteger(), nullable=False),
        sa.Column("anniversaries", sa.BigInteger(), nullable=False),
        sa.Column("visitors", sa.BigInteger(), nullable=False),
        sa.Column("feedback_count", sa.BigInteger(), nullable=False),
        sa.Column("tables_used", sa.BigInteger(), nullable=False),
        sa.Column("peak_occupancy", sa.BigInteger(), nullable=False),
        sa.Column("no_show_rate", sa.Float(), nullable=True),
        sa.Column("cancellation_rate", sa.Float(), nullable=True),
        sa.Column("avg_daily_gross_revenue_pence", sa.Float(), nullable=True),
        sa.Column("avg_occupancy_rate", sa.Float(), nullable=True),
        sa.Column("avg_satisfaction", sa.Float(), nullable=True),
        sa.Column("gross_revenue_pence_previous", sa.Float(), nullable=True),
        sa.Column("gross_revenue_pence_change", sa.Float(), nullable=True),
        sa.Column("net_revenue_pence_previous", sa.Float(), nullable=True),
        sa.Column("net_revenue_pence_change", sa.Float(), nullable=True),
        sa.Column("bookings_total_previous", sa.Float(), nullable=True),
        sa.Column("bookings_total_change", sa.Float(), nullable=True),
        sa.Column("covers_previous", sa.Float(), nullable=True),
        sa.Column("covers_change", sa.Float(), nullable=True),
        sa.Column("check_ins_previous", sa.Float(), nullable=True),
        sa.Column("check_ins_change", sa.Float(), nullable=True),
        sa.Column("new_customers_previous", sa.Float(), nullable=True),
        sa.Column("new_customers_change", sa.Float(), nullable=True),
        sa.Column("avg_occupancy_rate_previous", sa.Float(), nullable=True),
        sa.Column("avg_occupancy_rate_change", sa.Float(), nullable=True),
        sa.Column("avg_satisfaction_previous", sa.Float(), nullable=True),
        sa.Column("avg_satisfaction_change", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("venue_id", "week_start", name=op.f("pk_weekly_summary")),
    )


def downgrade() -> None:
    op.drop_table("weekly_summary")
    op.drop_table("monthly_summary")
    with op.batch_alter_table("hourly_aggregations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hourly_aggregations_hour_start"), postgresql_using="brin")
        batch_op.drop_index(batch_op.f("ix_hourly_aggregations_business_date"))

    op.drop_table("hourly_aggregations")
    with op.batch_alter_table("daily_aggregations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_daily_aggregations_business_date"))

    op.drop_table("daily_aggregations")
    with op.batch_alter_table("customer_visits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_visits_customer_id_business_date"))
        batch_op.drop_index(batch_op.f("ix_customer_visits_business_date"))

    op.drop_table("customer_visits")
