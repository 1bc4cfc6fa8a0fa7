"""The spec's maintenance tasks as named jobs, in Europe/London.

- `clear_expired_caches`, daily at 03:00: report_metrics_cache entries past their
  expiry (the cached KPI scorecards) are deleted.
- `remove_expired_report_files` and `archive_execution_history`, Sundays at 03:00:
  report files past their retention (the latest report of every subscription stays) and
  runs past theirs.

The spec's third Sunday task, refreshing the week- and month-to-date summaries, is the
automation condition of weekly_summary and monthly_summary (assets/policies.py).
"""

import datetime as dt

import dagster as dg

from backroom_reporting import settings
from backroom_reporting.assets.policies import RETRY_TRANSIENT_FAULTS
from backroom_reporting.metrics.business_time import VENUE_TIMEZONE
from backroom_reporting.metrics.metrics_cache import drop_expired
from backroom_reporting.operations.housekeeping import archive_execution_history, remove_expired_report_files
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
def delete_old_report_files(
    context: dg.OpExecutionContext, warehouse: WarehouseResource, reports: ReportRenderingResource
) -> None:
    done = remove_expired_report_files(
        warehouse.database(), reports.store(), dt.datetime.now(dt.UTC), _days(settings.REPORT_RETENTION_DAYS)
    )
    context.log.info(
        f"report files past {settings.REPORT_RETENTION_DAYS.get()} days: {done['files_deleted']} files of "
        f"{done['generations']} reports deleted, {done['bytes_freed']:,} bytes freed"
    )


@dg.job(
    name="remove_expired_report_files",
    tags=RUNTIME,
    description="Delete report files past their retention, keeping each subscription's latest report.",
)
def report_files_job():
    delete_old_report_files()


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


MAINTENANCE_JOBS = [clear_expired_caches, report_files_job, execution_history_job]
MAINTENANCE_SCHEDULES = [
    _schedule(clear_expired_caches, "0 3 * * *", "03:00: delete expired cache entries."),
    _schedule(report_files_job, "0 3 * * 0", "Sundays 03:00: delete report files past their retention."),
    _schedule(
        execution_history_job, "0 3 * * 0", "Sundays 03:00: archive execution history past its retention."
    ),
]
