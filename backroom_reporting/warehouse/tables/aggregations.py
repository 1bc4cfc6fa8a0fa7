"""Aggregations: hourly and daily figures per venue, customer visits, weekly and monthly summaries.

Column meanings are defined once, in docs/metrics.md. Money is integer pence; averages
of money are float pence; rates are fractions (0.25 = 25%) and null when their
denominator is zero.
"""

import sqlalchemy as sa

from backroom_reporting.warehouse.tables.metadata import WAREHOUSE
from backroom_reporting.warehouse.types import Count, Money, UtcTimestamp


def _money(*names: str) -> list[sa.Column]:
    return [sa.Column(n, Money, nullable=False) for n in names]


def _counts(*names: str) -> list[sa.Column]:
    return [sa.Column(n, Count, nullable=False) for n in names]


def _fractions(*names: str) -> list[sa.Column]:
    return [sa.Column(n, sa.Float, nullable=True) for n in names]


HOURLY_MONEY = ("bar_revenue_pence", "table_revenue_pence", "ticket_revenue_pence")
hourly_aggregations = sa.Table(
    "hourly_aggregations",
    WAREHOUSE,
    sa.Column("venue_id", sa.Text, primary_key=True),
    sa.Column("hour_start", UtcTimestamp, primary_key=True),
    sa.Column("business_date", sa.Date, nullable=False),
    sa.Column("local_hour", Count, nullable=False),
    *_counts("check_ins", "check_outs", "occupancy_end", "occupancy_max"),
    *_money("bar_revenue_pence"),
    *_counts("bar_transactions"),
    *_money("table_revenue_pence"),
    *_counts("table_transactions"),
    *_money("ticket_revenue_pence"),
    *_counts("tickets_sold", "bookings_arriving"),
    sa.Index(None, "business_date"),
    sa.Index(None, "hour_start", postgresql_using="brin"),
)

# docs/metrics.md (daily_aggregations), names as written there.
DAILY_MONEY = (
    "bar_revenue_pence",
    "table_revenue_pence",
    "ticket_revenue_pence",
    "gross_revenue_pence",
    "deposits_pence",
    "refunds_pence",
    "net_revenue_pence",
    "ticket_sales_taken_pence",  # the cash view: tickets bought on the day, for any night
)
daily_aggregations = sa.Table(
    "daily_aggregations",
    WAREHOUSE,
    sa.Column("venue_id", sa.Text, primary_key=True),
    sa.Column("business_date", sa.Date, primary_key=True),
    *_money(*DAILY_MONEY),
    *_counts(
        "bookings_total",
        "bookings_confirmed",
        "bookings_cancelled",
        "no_shows",
        "bookings_completed",
        "covers",
    ),
    *_fractions("no_show_rate"),
    *_counts("check_ins", "check_outs", "peak_occupancy"),
    *_fractions("occupancy_rate"),
    sa.Column("peak_hour", Count, nullable=True),
    *_counts("new_customers", "returning_customers", "vip_customers", "birthdays", "anniversaries"),
    *_fractions("avg_satisfaction"),
    # Additions (docs/metrics.md)
    *_counts("visitors", "tickets_sold", "feedback_count", "tables_used"),
    *_fractions("table_turnover", "spend_per_head_pence", "avg_party_size", "avg_deposit_pence"),
    # Windows are read by date for every venue at once; the key leads with venue_id.
    sa.Index(None, "business_date"),
)

customer_visits = sa.Table(
    "customer_visits",
    WAREHOUSE,
    sa.Column("venue_id", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Text, primary_key=True),
    sa.Column("business_date", sa.Date, primary_key=True),
    sa.Column("visited", sa.Boolean, nullable=False),
    sa.Column("booked_visit", sa.Boolean, nullable=False),
    sa.Column("scanned_in", sa.Boolean, nullable=False),
    sa.Column("is_vip", sa.Boolean, nullable=False),
    sa.Column("party_size", Count, nullable=True),
    sa.Column("special_occasion", sa.Text, nullable=True),
    sa.Column("brand", sa.Text, nullable=True),
    *_counts("tickets_bought"),
    *_money("ticket_spend_pence", "table_spend_pence", "spend_pence"),
    *_fractions("feedback_score"),
    sa.Index(None, "business_date"),
    sa.Index(None, "customer_id", "business_date"),
)

# Totals of daily additive columns over a week or month.
SUMMARY_TOTALS = (
    *DAILY_MONEY,
    "bookings_total",
    "bookings_confirmed",
    "bookings_cancelled",
    "no_shows",
    "bookings_completed",
    "covers",
    "check_ins",
    "check_outs",
    "tickets_sold",
    "new_customers",
    "returning_customers",
    "vip_customers",
    "birthdays",
    "anniversaries",
    "visitors",
    "feedback_count",
    "tables_used",
)
SUMMARY_MEANS = (
    "no_show_rate",
    "cancellation_rate",
    "avg_daily_gross_revenue_pence",
    "avg_occupancy_rate",
    "avg_satisfaction",
)
# Measures compared with the previous week / month: <measure>_previous and <measure>_change.
SUMMARY_COMPARED = (
    "gross_revenue_pence",
    "net_revenue_pence",
    "bookings_total",
    "covers",
    "check_ins",
    "new_customers",
    "avg_occupancy_rate",
    "avg_satisfaction",
)


def _summary_table(name: str, period: str) -> sa.Table:
    return sa.Table(
        name,
        WAREHOUSE,
        sa.Column("venue_id", sa.Text, primary_key=True),
        sa.Column(f"{period}_start", sa.Date, primary_key=True),
        sa.Column(f"{period}_end", sa.Date, nullable=False),
        # The last night the row covers: the period's end once it has closed, else the last
        # closed night of the open period (a to-date row).
        sa.Column("through_date", sa.Date, nullable=False),
        *_counts("trading_days"),
        *(sa.Column(n, Money if n.endswith("_pence") else Count, nullable=False) for n in SUMMARY_TOTALS),
        *_counts("peak_occupancy"),
        *_fractions(*SUMMARY_MEANS),
        *(
            column
            for measure in SUMMARY_COMPARED
            for column in (
                sa.Column(f"{measure}_previous", sa.Float, nullable=True),
                sa.Column(f"{measure}_change", sa.Float, nullable=True),
            )
        ),
    )


weekly_summary = _summary_table("weekly_summary", "week")
monthly_summary = _summary_table("monthly_summary", "month")


# Whether each night's figures are ready: written by daily_aggregations for every night it
# computes, so a night not loaded is never mistaken for a night the venue was closed.
night_status = sa.Table(
    "night_status",
    WAREHOUSE,
    sa.Column("business_date", sa.Date, primary_key=True),
    # Every fact table was loaded after the night closed, and the figures computed from it.
    sa.Column("final", sa.Boolean, nullable=False),
    # The fact tables whose latest load of the night is provisional or missing, comma-separated.
    sa.Column("not_final", sa.Text, nullable=True),
    sa.Column("loaded_at", UtcTimestamp, nullable=True),
    sa.Column("aggregated_at", UtcTimestamp, nullable=False),
    # Blocking checks the night failed (comma-separated); its previous figures were kept.
    sa.Column("failed_checks", sa.Text, nullable=True),
)
