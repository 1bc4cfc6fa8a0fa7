"""The spec's maintenance tasks as named jobs, in Europe/London.

- `clear_expired_caches`, daily at 03:00: report_metrics_cache entries past their
  expiry (the cached KPI scorecards) are deleted.
- `apply_retention` and `archive_execution_history`, Sundays at 03:00: everything past
  its retention (privacy/retention.py: report files, the latest report of every
  subscription staying, report and delivery history, the access log, quarantined values,
  customer ids of raw facts) and runs past theirs.

The spec's third Sunday task, refreshing the week- and month-to-date summaries, is the
automation condition of weekly_summary and monthly_summary (assets/policies.py).
"""

import datetime as dt

import dagster as dg

from backroom_reporting import settings
from backroom_reporting.assets.policies import RETRY_TRANSIENT_FAULTS
from backroom_reporting.metrics.business_time import VENUE_TIMEZONE
from backroom_reporting.metrics.metrics_cache import drop_expired
from backroom_reporting.operations.housekeeping import archive_execution_history
from backroom_reporting.privacy import audit
from backroom_reporting.privacy.retention import apply_retention, counted, parse_retention
from backroom_reporting.resources.databases import WarehouseResource
from backroom_reporting.resources.reports import ReportRenderingResource

RUNTIME = {"dagster/max_runtime": 15 * 60}


def _days(setting: settings.Setting) -> dt.timedelta:
    return dt.timedelta(days=int(setting.get()))


@dg.op(retry_policy=RETRY_TRANSIENT_FAULTS)
def delete_expired_cache_entries(context: dg.OpExecutionContext, warehouse: WarehouseResource) -> None:
    deleted = drop_expired(warehouse.database(), dt.datetime.now(dt.UTC))
    context.log.info(f"report_metrics_cache: {deleted} expired entries deleted")


@dg.job(tags=RUNTIME, description="Delete report_metrics_cache entries past their expiry.")
def clear_expired_caches():
    delete_expired_cache_entries()


@dg.op(retry_policy=RETRY_TRANSIENT_FAULTS)
def remove_what_is_past_retention(
    context: dg.OpExecutionContext, warehouse: WarehouseResource, reports: ReportRenderingResource
) -> None:
    db, now = warehouse.database(), dt.datetime.now(dt.UTC)
    removed = apply_retention(db, reports.store(), parse_retention(), now)
    for step in removed:
        context.log.info(f"retention: {step}")
    audit.record(db, "schedule:apply_retention", "retention", now, detail=counted(removed))


@dg.job(
    name="apply_retention",
    tags=RUNTIME,
    description="Remove what is past its retention, keeping each subscription's latest report.",
)
def retention_job():
    remove_what_is_past_retention()


@dg.op(retry_policy=RETRY_TRANSIENT_FAULTS)
def move_old_runs_to_archive(context: dg.OpExecutionContext, warehouse: WarehouseResource) -> None:
    moved = archive_execution_history(
        warehouse.database(), dt.datetime.now(dt.UTC), _days(settings.EXECUTION_HISTORY_DAYS)
    )
    context.log.info(f"job_execution_history: {moved} rows moved to job_execution_history_archive")


@dg.job(
    name="archive_execution_history",
    tags=RUNTIME,
    description="Move runs past their retention to job_execution_history_archive.",
)
def execution_history_job():
    move_old_runs_to_archive()


def _schedule(job: dg.JobDefinition, cron: str, description: str) -> dg.ScheduleDefinition:
    return dg.ScheduleDefinition(
        name=f"{job.name}_schedule",
        job=job,
        cron_schedule=cron,
        execution_timezone=VENUE_TIMEZONE,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=description,
    )


MAINTENANCE_JOBS = [clear_expired_caches, retention_job, execution_history_job]
MAINTENANCE_SCHEDULES = [
    _schedule(clear_expired_caches, "0 3 * * *", "03:00: delete expired cache entries."),
    _schedule(retention_job, "0 3 * * 0", "Sundays 03:00: remove what is past its retention."),
    _schedule(
        execution_history_job, "0 3 * * 0", "Sundays 03:00: archive execution history past its retention."
    ),
]
