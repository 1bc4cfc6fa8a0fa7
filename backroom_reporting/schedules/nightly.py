"""The nightly round, in Europe/London: the spec's hourly and daily processing.

- `open_night_refresh`, hourly from noon until the night closes: loads the open night's
  facts so far and its hourly figures (the spec's "process hourly aggregations"), for
  the live view.
- `closing_run`, at 06:15: loads the night that has just closed, final, and re-checks the
  14 nights before it, reloading only those whose source rows changed since they were
  loaded (late refunds and feedback, corrections). Everything downstream follows on its
  own (assets/policies.py). The spec's 02:00 daily aggregation runs here after the 06:00
  cutoff instead: at 02:00 the night is still trading.
- `morning_freshness_check`, at 07:00: the night's figures must be final by then.
"""

import datetime as dt
import json

import dagster as dg

from backroom_reporting.assets.nights import AS_OF_TAG
from backroom_reporting.checks.freshness import FIGURES_READY
from backroom_reporting.connectors.fatsoma import LANDED, FatsomaResource
from backroom_reporting.ingest.fingerprints import changed_nights
from backroom_reporting.metrics.business_time import VENUE_TIMEZONE, BusinessWindow, last_closed_business_day
from backroom_reporting.partitions import HISTORY_START
from backroom_reporting.resources.databases import BookingSystemResource, WarehouseResource

RAW_LAYER = dg.AssetSelection.groups("raw")
# Recent nights re-checked each morning for facts that arrived after they closed.
RECHECKED_NIGHTS = 14
CHANGED_TABLES_TAG = "backroom/changed_tables"

open_night_refresh = dg.define_asset_job(
    "open_night_refresh",
    selection=RAW_LAYER | dg.AssetSelection.assets("hourly_aggregations"),
    description="The open night's facts so far and its hourly figures, for the live view.",
    tags={"dagster/max_runtime": 15 * 60, "dagster/priority": "1"},
)
closing_run = dg.define_asset_job(
    "closing_run",
    selection=RAW_LAYER,
    description="The night just closed, loaded final, and any recent night whose source changed; "
    "everything downstream follows.",
    tags={"dagster/max_runtime": 45 * 60, "dagster/priority": "2"},
)
morning_freshness_check = dg.define_asset_job(
    "morning_freshness_check",
    selection=dg.AssetSelection.checks(dg.AssetCheckKey(dg.AssetKey("daily_aggregations"), FIGURES_READY)),
    description="Whether last night's figures were final by 07:00.",
    tags={"dagster/max_runtime": 5 * 60},
)


def open_night(moment: dt.datetime) -> dt.date:
    """The business day trading at `moment`."""
    return last_closed_business_day(moment) + dt.timedelta(days=1)


@dg.schedule(
    job=open_night_refresh,
    cron_schedule="5 12-23,0-5 * * *",
    execution_timezone=VENUE_TIMEZONE,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every hour from 12:05 to 05:05: the open night's facts so far and its hourly figures.",
)
def open_night_refresh_schedule(context: dg.ScheduleEvaluationContext):
    tick = context.scheduled_execution_time
    night = open_night(tick)
    return dg.RunRequest(
        run_key=f"open-night:{tick.isoformat()}",
        partition_key=night.isoformat(),
        tags={AS_OF_TAG: tick.isoformat()},
    )


def contiguous(days: list[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Sorted days as runs of consecutive days: [(first, last), ...]."""
    runs: list[tuple[dt.date, dt.date]] = []
    for day in sorted(days):
        if runs and day == runs[-1][1] + dt.timedelta(days=1):
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def nights_to_load(closed: dt.date, changed: dict[dt.date, list[str]]) -> list[tuple[dt.date, dt.date]]:
    return contiguous([closed, *(day for day in changed if day != closed)])


def closing_requests(
    run_key_prefix: str, tick: dt.datetime, closed: dt.date, changed: dict[dt.date, list[str]]
) -> list[dg.RunRequest]:
    """A closing schedule's runs: the night just closed and the changed nights, one run per
    stretch of consecutive nights, each tagged with the moment it stands for and what changed."""
    requests = []
    for start, end in nights_to_load(closed, changed):
        tags = {
            AS_OF_TAG: tick.isoformat(),
            CHANGED_TABLES_TAG: json.dumps({str(d): t for d, t in changed.items() if start <= d <= end}),
        }
        if start == end:
            requests.append(
                dg.RunRequest(
                    run_key=f"{run_key_prefix}:{tick.isoformat()}:{start}",
                    partition_key=start.isoformat(),
                    tags=tags,
                )
            )
        else:
            requests.append(
                dg.RunRequest(
                    run_key=f"{run_key_prefix}:{tick.isoformat()}:{start}..{end}",
                    tags={
                        **tags,
                        "dagster/asset_partition_range_start": start.isoformat(),
                        "dagster/asset_partition_range_end": end.isoformat(),
                    },
                )
            )
    return requests


@dg.schedule(
    job=closing_run,
    cron_schedule="15 6 * * *",
    execution_timezone=VENUE_TIMEZONE,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="At 06:15: the night just closed, final, and any of the 14 nights before it whose "
    "source rows changed since they were loaded.",
)
def closing_run_schedule(
    context: dg.ScheduleEvaluationContext,
    booking_system: BookingSystemResource,
    warehouse: WarehouseResource,
    fatsoma: FatsomaResource,
):
    tick = context.scheduled_execution_time
    closed = last_closed_business_day(tick)
    first = max(HISTORY_START, closed - dt.timedelta(days=RECHECKED_NIGHTS))
    changed = (
        changed_nights(
            booking_system.database(),
            warehouse.database(),
            BusinessWindow(first, closed - dt.timedelta(days=1)),
            # Tickets from Fatsoma are compared with what the connector landed.
            landed=LANDED if fatsoma.for_tickets() else None,
        )
        if first < closed
        else {}
    )
    if changed:
        context.log.info(
            "source changed since loaded: "
            + "; ".join(f"{day} ({', '.join(tables)})" for day, tables in changed.items())
        )
    return closing_requests("closing", tick, closed, changed)


@dg.schedule(
    job=morning_freshness_check,
    cron_schedule="0 7 * * *",
    execution_timezone=VENUE_TIMEZONE,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="At 07:00: fails the figures_ready check when last night's figures are not final.",
)
def morning_freshness_check_schedule(context: dg.ScheduleEvaluationContext):
    tick = context.scheduled_execution_time
    return dg.RunRequest(run_key=f"freshness:{tick.isoformat()}", tags={AS_OF_TAG: tick.isoformat()})


NIGHTLY_JOBS = [open_night_refresh, closing_run, morning_freshness_check]
NIGHTLY_SCHEDULES = [open_night_refresh_schedule, closing_run_schedule, morning_freshness_check_schedule]
