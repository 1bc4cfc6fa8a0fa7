"""The platform's time partitions, all in Europe/London (Dagster maps only between equal timezones).

A business-day partition runs from 06:00 to 06:00 London, so one partition is one
night; the hourly partitions of a business day number 23 on the spring-forward night
and 25 on the fall-back night.
"""

import dagster as dg

from backroom_reporting.metrics.business_time import DEFAULT_CUTOFF, VENUE_TIMEZONE

# The earliest business day the platform keeps; demo and backfills live after it.
HISTORY_START = "2024-01-01"

business_days = dg.DailyPartitionsDefinition(
    start_date=HISTORY_START,
    hour_offset=DEFAULT_CUTOFF.hour,
    timezone=VENUE_TIMEZONE,
)

# London hours; the hour that repeats on the fall-back night is keyed "01:00+0000".
venue_hours = dg.HourlyPartitionsDefinition(
    start_date=f"{HISTORY_START}-{DEFAULT_CUTOFF.hour:02d}:00",
    timezone=VENUE_TIMEZONE,
)

# Business weeks run Monday 06:00 to Monday 06:00 (business days Monday to Sunday).
business_weeks = dg.WeeklyPartitionsDefinition(
    start_date=HISTORY_START,  # a Monday
    day_offset=1,
    hour_offset=DEFAULT_CUTOFF.hour,
    timezone=VENUE_TIMEZONE,
)

business_months = dg.MonthlyPartitionsDefinition(
    start_date=HISTORY_START,
    hour_offset=DEFAULT_CUTOFF.hour,
    timezone=VENUE_TIMEZONE,
)

# One partition per report subscription, kept in step with report_subscriptions by a sensor.
subscriptions = dg.DynamicPartitionsDefinition(name="subscriptions")
