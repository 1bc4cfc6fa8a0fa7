"""The platform's time partitions, all in Europe/London (Dagster maps only between equal timezones).

A business-day partition runs from 06:00 to 06:00 London, so one partition is one
night, and its hourly figures are that night's 23, 24 or 25 London hours. The night
still open (the current business day) is a partition too (`end_offset=1`): it is loaded
hourly while it trades and made final by the closing run after 06:00. Weeks and months
likewise include the open one, whose row is a week- or month-to-date summary.
"""

import datetime as dt

import dagster as dg

from backroom_reporting import settings
from backroom_reporting.metrics.business_time import DEFAULT_CUTOFF, VENUE_TIMEZONE

# The earliest business day the platform keeps; nothing before it is a partition.
HISTORY_START = dt.date.fromisoformat(settings.HISTORY_START.get())
# The still-open night, week and month are partitions as well.
OPEN_PERIOD = 1

business_days = dg.DailyPartitionsDefinition(
    start_date=HISTORY_START.isoformat(),
    hour_offset=DEFAULT_CUTOFF.hour,
    timezone=VENUE_TIMEZONE,
    end_offset=OPEN_PERIOD,
)

# Business weeks run Monday 06:00 to Monday 06:00 (business days Monday to Sunday); the
# first is the one holding HISTORY_START.
business_weeks = dg.WeeklyPartitionsDefinition(
    start_date=(HISTORY_START - dt.timedelta(days=HISTORY_START.weekday())).isoformat(),
    day_offset=1,
    hour_offset=DEFAULT_CUTOFF.hour,
    timezone=VENUE_TIMEZONE,
    end_offset=OPEN_PERIOD,
)

business_months = dg.MonthlyPartitionsDefinition(
    start_date=HISTORY_START.replace(day=1).isoformat(),
    hour_offset=DEFAULT_CUTOFF.hour,
    timezone=VENUE_TIMEZONE,
    end_offset=OPEN_PERIOD,
)

# One partition per report subscription, kept in step with report_subscriptions by a sensor.
subscriptions = dg.DynamicPartitionsDefinition(name="subscriptions")


def night_key(day: dt.date) -> str:
    """The business_days partition key of a night."""
    return day.isoformat()
