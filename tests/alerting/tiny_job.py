"""A tiny job on a real Dagster instance, and the run sensors driven as Dagster drives them.

Runs are either executed (`execute`: the asset raises when tagged broken) or recorded as
Dagster records them, start and end events at chosen times (`started`, `ended`), for a
history of durations without waiting for it.
"""

import datetime as dt
import uuid

import dagster as dg

from backroom_reporting.operations.records import execution_rows
from backroom_reporting.resources.databases import WarehouseResource
from backroom_reporting.resources.delivery import DeliveryResource
from backroom_reporting.sensors.alerts import alert_on_run_failure, resolve_on_run_success
from backroom_reporting.warehouse.database import Database
from backroom_reporting.warehouse.tables.operations import job_execution_history

BROKEN = {"broken": True}
ERROR = "the booking system refused the connection"


@dg.asset
def tiny_figures(context: dg.AssetExecutionContext) -> int:
    if context.run.tags.get("broken"):
        raise ValueError(ERROR)
    return 1


tiny_job = dg.define_asset_job("tiny_job", selection=[tiny_figures])
tiny_defs = dg.Definitions(assets=[tiny_figures], jobs=[tiny_job])


def execute(instance: dg.DagsterInstance, tags: dict | None = None) -> dg.ExecuteInProcessResult:
    job = tiny_defs.resolve_job_def("tiny_job")
    return job.execute_in_process(instance=instance, tags=tags or {}, raise_on_error=False)


def started(instance: dg.DagsterInstance, at: dt.datetime, tags: dict | None = None) -> dg.DagsterRun:
    """A run of tiny_job that started at `at` and is still going."""
    run = instance.add_run(dg.DagsterRun(job_name="tiny_job", run_id=str(uuid.uuid4()), tags=tags or {}))
    _report(instance, run, dg.DagsterEventType.RUN_START, at)
    return instance.get_run_by_id(run.run_id)


def ended(instance: dg.DagsterInstance, run: dg.DagsterRun, at: dt.datetime) -> dg.DagsterEvent:
    """The run succeeded at `at`; its success event."""
    return _report(instance, run, dg.DagsterEventType.RUN_SUCCESS, at)


def _report(
    instance: dg.DagsterInstance, run: dg.DagsterRun, kind: dg.DagsterEventType, at: dt.datetime
) -> dg.DagsterEvent:
    event = dg.DagsterEvent(event_type_value=kind.value, job_name=run.job_name)
    instance.report_dagster_event(event, run_id=run.run_id, timestamp=at.timestamp())
    return event


def failure_event(instance: dg.DagsterInstance, run_id: str) -> dg.DagsterEvent:
    return instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_FAILURE)[-1].dagster_event


def export_history(instance: dg.DagsterInstance, db: Database) -> None:
    """job_execution_history as its hourly export writes it: every run the instance holds."""
    db.replace(job_execution_history, execution_rows(instance, instance.get_run_records()))


def failure_sensor(instance: dg.DagsterInstance, run_id: str, warehouse: WarehouseResource) -> dg.SkipReason:
    with dg.build_run_status_sensor_context(
        sensor_name="alert_on_run_failure",
        dagster_event=failure_event(instance, run_id),
        dagster_instance=instance,
        dagster_run=instance.get_run_by_id(run_id),
        resources={"warehouse": warehouse, "delivery": DeliveryResource()},
    ) as context:
        return alert_on_run_failure(context.for_run_failure())


def success_sensor(
    instance: dg.DagsterInstance, run_id: str, event: dg.DagsterEvent, warehouse: WarehouseResource
) -> dg.SkipReason:
    with dg.build_run_status_sensor_context(
        sensor_name="resolve_on_run_success",
        dagster_event=event,
        dagster_instance=instance,
        dagster_run=instance.get_run_by_id(run_id),
        resources={"warehouse": warehouse, "delivery": DeliveryResource()},
    ) as context:
        return resolve_on_run_success(context)
