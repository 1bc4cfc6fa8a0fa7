"""Runs drive alerts: a failed run raises an incident (unless Dagster will retry it), and a
later success of the same job resolves it (backroom_reporting/alerting/runs.py)."""

import datetime as dt

import dagster as dg

from backroom_reporting import settings
from backroom_reporting.alerting.rules import parse_rules
from backroom_reporting.alerting.runs import first_error, run_failed, run_succeeded, will_be_retried
from backroom_reporting.resources.databases import WarehouseResource


@dg.run_failure_sensor(
    name="alert_on_run_failure",
    monitor_all_code_locations=False,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Raises an incident for a failed run, unless Dagster's run retries will run it again.",
)
def alert_on_run_failure(context: dg.RunFailureSensorContext, warehouse: WarehouseResource):
    run = context.dagster_run
    if will_be_retried(context.instance, run):
        return dg.SkipReason(f"run {run.run_id} of {run.job_name} will be retried by Dagster")
    steps = [
        e.step_failure_data.error for e in context.get_step_failure_events() if e.step_failure_data.error
    ]
    error = first_error(steps, context.failure_event.message)
    raised = run_failed(
        warehouse.database(),
        parse_rules(settings.ALERT_RULES.get()),
        run.job_name,
        run.run_id,
        error,
        dt.datetime.now(dt.UTC),
    )
    numbers = ", ".join(str(i.incident_number) for i in raised) or "none (no rule watches this job)"
    return dg.SkipReason(f"run {run.run_id} of {run.job_name} failed: incidents {numbers}")


@dg.run_status_sensor(
    name="resolve_on_run_success",
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitor_all_code_locations=False,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Resolves a job's open failure incidents when it next succeeds.",
)
def resolve_on_run_success(context: dg.RunStatusSensorContext, warehouse: WarehouseResource):
    run = context.dagster_run
    resolved = run_succeeded(
        warehouse.database(),
        parse_rules(settings.ALERT_RULES.get()),
        run.job_name,
        run.run_id,
        dt.datetime.now(dt.UTC),
    )
    numbers = ", ".join(str(i.incident_number) for i in resolved) or "none open"
    return dg.SkipReason(f"run {run.run_id} of {run.job_name} succeeded: incidents resolved {numbers}")
