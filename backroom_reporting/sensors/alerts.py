"""Runs drive alerts (backroom_reporting/alerting/runs.py): a failed run raises the job's
failure, timeout and consecutive-failure incidents, a successful run its slow-run ones, and
a later success of the same job resolves them. What they raise or resolve is paged in the
same tick (sensors/on_call.py), so the first message waits for no other sensor."""

import dagster as dg
from dagster._time import get_current_datetime

from backroom_reporting import settings
from backroom_reporting.alerting.rules import parse_rules
from backroom_reporting.alerting.runs import (
    failed_in_a_row,
    first_error,
    job_paces,
    run_failed,
    run_succeeded,
    run_timed_out,
    run_was_slow,
    stopped_for_its_maximum,
    will_be_retried,
)
from backroom_reporting.resources.databases import WarehouseResource
from backroom_reporting.resources.delivery import DeliveryResource
from backroom_reporting.sensors.on_call import incident_numbers, paged


@dg.run_failure_sensor(
    name="alert_on_run_failure",
    monitor_all_code_locations=False,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Raises the incidents of a failed run: its failure (unless Dagster's run retries "
    "will run it again), its timeout, and the job's failures in a row.",
)
def alert_on_run_failure(
    context: dg.RunFailureSensorContext, warehouse: WarehouseResource, delivery: DeliveryResource
):
    run, instance = context.dagster_run, context.instance
    db, rules, now = warehouse.database(), parse_rules(settings.ALERT_RULES.get()), get_current_datetime()
    maximum = stopped_for_its_maximum(instance, run.run_id)
    retried = will_be_retried(instance, run)
    # A run stopped for its maximum run time has already cost that time, and its retry may
    # cost it again: on call hears of it even when Dagster will retry it.
    raised = (
        [] if maximum is None else run_timed_out(db, rules, run.job_name, run.run_id, maximum, retried, now)
    )
    if retried:
        timed_out = f"; timed out: incidents {incident_numbers(raised)}" if maximum is not None else ""
        return dg.SkipReason(
            f"run {run.run_id} of {run.job_name} will be retried by Dagster{timed_out}"
            f"{paged(warehouse, delivery, raised, now)}"
        )
    steps = [
        e.step_failure_data.error for e in context.get_step_failure_events() if e.step_failure_data.error
    ]
    error = first_error(steps, context.failure_event.message)
    raised += run_failed(db, rules, run.job_name, run.run_id, error, now, timed_out=maximum is not None)
    raised += failed_in_a_row(db, instance, rules, run.job_name, error, now)
    numbers = incident_numbers(raised, "none (no rule watches this job)")
    return dg.SkipReason(
        f"run {run.run_id} of {run.job_name} failed: incidents {numbers}"
        f"{paged(warehouse, delivery, raised, now)}"
    )


@dg.run_status_sensor(
    name="resolve_on_run_success",
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitor_all_code_locations=False,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Raises a slow run's incidents, and resolves the job's open failure, timeout "
    "and (when not slow itself) slow-run incidents.",
)
def resolve_on_run_success(
    context: dg.RunStatusSensorContext, warehouse: WarehouseResource, delivery: DeliveryResource
):
    run = context.dagster_run
    db, rules, now = warehouse.database(), parse_rules(settings.ALERT_RULES.get()), get_current_datetime()
    paces = job_paces(db, rules, run.job_name, context.instance.get_run_record_by_id(run.run_id))
    raised = run_was_slow(db, rules, run.job_name, run.run_id, paces, now)
    resolved = run_succeeded(db, rules, run.job_name, paces, now)
    said = [
        f"run {run.run_id} of {run.job_name} succeeded: "
        f"incidents resolved {incident_numbers(resolved, 'none open')}"
        f"{paged(warehouse, delivery, raised + resolved, now)}"
    ]
    if raised:
        said.append(f"slow: incidents {incident_numbers(raised)}")
    for key, found in paces.items():
        if found is None:
            minimum = rules.by_key(key).thresholds["min_runs"]
            said.append(f"{key}: fewer than {minimum} earlier successful runs, too few to judge its pace")
    return dg.SkipReason("; ".join(said))
