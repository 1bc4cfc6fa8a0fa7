"""Event performance analytics and the revenue forecast.

Column meanings are defined once, in docs/metrics.md. Money is integer pence; averages
of money and money per hour are float pence; rates and changes are fractions (0.25 = 25%)
and null when their denominator is zero or there is nothing to compare with.
"""

import sqlalchemy as sa

from backroom_reporting.warehouse.tables.metadata import WAREHOUSE
from backroom_reporting.warehouse.types import Count, Money, UtcTimestamp

event_performance_analytics = sa.Table(
    "event_performance_analytics",
    WAREHOUSE,
    sa.Column("event_id", sa.Text, primary_key=True),
    sa.Column("venue_id", sa.Text, nullable=False),
    # The business day of starts_at: the partition that owns the row.
    sa.Column("business_date", sa.Date, nullable=False),
    sa.Column("brand", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("starts_at", UtcTimestamp, nullable=False),
    sa.Column("ends_at", UtcTimestamp, nullable=False),
    sa.Column("capacity", Count, nullable=False),
    sa.Column("attendance", Count, nullable=False),
    sa.Column("peak_occupancy", Count, nullable=False),
    sa.Column("occupancy_rate", sa.Float, nullable=True),
    sa.Column("tickets_sold", Count, nullable=False),
    sa.Column("ticket_revenue_pence", Money, nullable=False),
    sa.Column("bar_revenue_pence", Money, nullable=False),
    sa.Column("table_revenue_pence", Money, nullable=False),
    sa.Column("gross_revenue_pence", Money, nullable=False),
    sa.Column("feedback_count", Count, nullable=False),
    sa.Column("avg_satisfaction", sa.Float, nullable=True),
    sa.Column("staff_hours", sa.Float, nullable=False),
    sa.Column("door_staff_hours", sa.Float, nullable=False),
    sa.Column("revenue_per_staff_hour_pence", sa.Float, nullable=True),
    sa.Column("entries_per_door_staff_hour", sa.Float, nullable=True),
    sa.Column("bookings", Count, nullable=False),
    sa.Column("bookings_confirmed", Count, nullable=False),
    sa.Column("no_shows", Count, nullable=False),
    sa.Column("no_show_rate", sa.Float, nullable=True),
    sa.Column("previous_event_id", sa.Text, nullable=True),
    sa.Column("attendance_change_vs_previous", sa.Float, nullable=True),
    sa.Column("gross_revenue_change_vs_previous", sa.Float, nullable=True),
    sa.Column("events_previous_4_weeks", Count, nullable=False),
    sa.Column("avg_attendance_previous_4_weeks", sa.Float, nullable=True),
    sa.Column("avg_gross_revenue_previous_4_weeks_pence", sa.Float, nullable=True),
    sa.Column("attendance_change_vs_4_week_avg", sa.Float, nullable=True),
    sa.Column("gross_revenue_change_vs_4_week_avg", sa.Float, nullable=True),
    sa.Index(None, "business_date"),
)

revenue_forecast = sa.Table(
    "revenue_forecast",
    WAREHOUSE,
    # The business week (its Monday) at whose end the forecast was made, on made_on.
    sa.Column("week_start", sa.Date, primary_key=True),
    sa.Column("venue_id", sa.Text, primary_key=True),
    sa.Column("forecast_date", sa.Date, primary_key=True),
    # The last business day of actuals: the forecast's as-of day.
    sa.Column("made_on", sa.Date, nullable=False),
    sa.Column("horizon_days", Count, nullable=False),
    sa.Column("expected_to_trade", sa.Boolean, nullable=False),
    sa.Column("predicted_pence", Money, nullable=False),
    # Interval bounds are null only when a seasonal-naive forecast has too little
    # history to measure its spread.
    sa.Column("lower_80_pence", Money, nullable=True),
    sa.Column("upper_80_pence", Money, nullable=True),
    sa.Column("lower_95_pence", Money, nullable=True),
    sa.Column("upper_95_pence", Money, nullable=True),
    sa.Column("method", sa.Text, nullable=False),
)
