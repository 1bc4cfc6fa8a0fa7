"""The figures drive alerts (backroom_reporting/alerting/figures.py), each sensor every 30 s:

- `alert_on_failed_checks` reads the asset check results of the runs finished since its
  cursor: a blocking failure raises an incident, a pass resolves it. It follows finished runs
  rather than check events: on the embedded SQLite storage Dagster can list a run's events,
  or the runs that finished, but not every check event since a storage id.
- `alert_on_late_figures` judges the night just closed against each not_fresh rule's deadline.
- `alert_on_kpi_status` reads the nights kpi_calculations wrote since its cursor.

They read the time from Dagster's clock, which tests can set.
"""

from __future__ import annotations

import datetime as dt
import json

import dagster as dg
from dagster._time import get_current_datetime

from backroom_reporting import settings
from backroom_reporting.alerting.figures import (
    CheckOutcome,
    checks_failed,
    checks_passed,
    figures_landed,
    figures_late,
    kpis_judged,
    latest_outcomes,
)
from backroom_reporting.alerting.rules import parse_rules
from backroom_reporting.resources.databases import WarehouseResource
from backroom_reporting.resources.delivery import DeliveryResource
from backroom_reporting.sensors.on_call import incident_numbers, paged

FINISHED = (
    dg.DagsterEventType.RUN_SUCCESS,
    dg.DagsterEventType.RUN_FAILURE,
    dg.DagsterEventType.RUN_CANCELED,
)
# A first tick (no cursor yet) reads the runs of the last day, not all of history.
FIRST_LOOK_BACK = dt.timedelta(days=1)
# Runs (of each ending) and materialisations read per tick; the rest wait for the next.
PER_TICK = 200
KPI_CALCULATIONS = dg.AssetKey("kpi_calculations")


def finished_runs(
    instance: dg.DagsterInstance, cursor: dict[str, int], now: dt.datetime
) -> tuple[list[dg.EventLogRecord], dict[str, int]]:
    """The runs that ended since `cursor` (the storage id of the last run seen, per ending),
    and the cursor after them."""
    ended, moved = [], dict(cursor)
    for ending in FINISHED:
        after = cursor.get(ending.name)
        found = instance.fetch_run_status_changes(
            dg.RunStatusChangeRecordsFilter(
                ending,
                after_storage_id=after,
                after_timestamp=(now - FIRST_LOOK_BACK).timestamp() if after is None else None,
            ),
            limit=PER_TICK,
            ascending=True,
        ).records
        ended += found
        if found:
            moved[ending.name] = found[-1].storage_id
    return ended, moved


def check_outcomes(instance: dg.DagsterInstance, ended: list[dg.EventLogRecord]) -> list[CheckOutcome]:
    """Every check result the runs recorded, in the order they were recorded. A check without
    partitions of its own on a partitioned asset (report_rendered, per subscription) is
    judged for the run's partition."""
    timed = []
    for record in ended:
        run = instance.get_run_by_id(record.run_id)
        if run is None:  # deleted since
            continue
        evaluations = instance.get_records_for_run(
            run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
        ).records
        for entry in (e.event_log_entry for e in evaluations):
            evaluation = entry.dagster_event.event_specific_data
            outcome = CheckOutcome(
                asset=evaluation.asset_key.to_user_string(),
                check=evaluation.check_name,
                partition=evaluation.partition or run.tags.get("dagster/partition"),
                passed=evaluation.passed,
                blocking=evaluation.severity == dg.AssetCheckSeverity.ERROR,
                description=evaluation.description,
                metadata={name: value.value for name, value in evaluation.metadata.items()},
                job_name=run.job_name,
                run_id=run.run_id,
            )
            timed.append((entry.timestamp, outcome))
    return [outcome for _, outcome in sorted(timed, key=lambda pair: pair[0])]


@dg.sensor(
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Raises an incident for each blocking asset check that failed in a finished run (per "
    "check_failed rule, asset, check and partition), and resolves it when the check passes there again.",
)
def alert_on_failed_checks(
    context: dg.SensorEvaluationContext, warehouse: WarehouseResource, delivery: DeliveryResource
):
    now = get_current_datetime()
    ended, cursor = finished_runs(context.instance, json.loads(context.cursor or "{}"), now)
    outcomes = latest_outcomes(check_outcomes(context.instance, ended))
    rules, db = parse_rules(settings.ALERT_RULES.get()), warehouse.database()
    raised = checks_failed(db, rules, outcomes, now)
    resolved = checks_passed(db, rules, outcomes, now)
    return dg.SensorResult(
        cursor=json.dumps(cursor, sort_keys=True),
        skip_reason=f"{len(ended)} run(s) finished, {len(outcomes)} check result(s): "
        f"incidents raised {incident_numbers(raised)}; resolved {incident_numbers(resolved)}"
        f"{paged(warehouse, delivery, raised + resolved, now)}",
    )


@dg.sensor(
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Raises an incident when the night just closed is not ready to report by a not_fresh "
    "rule's deadline (London time), and resolves it when the night's figures are ready.",
)
def alert_on_late_figures(
    context: dg.SensorEvaluationContext, warehouse: WarehouseResource, delivery: DeliveryResource
):
    now = get_current_datetime()
    rules, db = parse_rules(settings.ALERT_RULES.get()), warehouse.database()
    raised = figures_late(db, rules, now)
    resolved = figures_landed(db, rules, now)
    return dg.SkipReason(
        f"incidents raised {incident_numbers(raised)}; resolved {incident_numbers(resolved)}"
        f"{paged(warehouse, delivery, raised + resolved, now)}"
    )


@dg.sensor(
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Raises one incident per kpi_status rule, KPI, venue and night judged critical (or "
    "warning, where a rule asks) in the nights kpi_calculations wrote; never twice for the same night.",
)
def alert_on_kpi_status(
    context: dg.SensorEvaluationContext, warehouse: WarehouseResource, delivery: DeliveryResource
):
    now = get_current_datetime()
    after = int(context.cursor) if context.cursor else None
    written = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(KPI_CALCULATIONS, after_storage_id=after), limit=PER_TICK, ascending=True
    ).records
    nights = sorted({dt.date.fromisoformat(r.partition_key) for r in written if r.partition_key})
    raised = kpis_judged(warehouse.database(), parse_rules(settings.ALERT_RULES.get()), nights, now)
    return dg.SensorResult(
        cursor=str(written[-1].storage_id) if written else context.cursor,
        skip_reason=f"nights written: {', '.join(map(str, nights)) or 'none'}; "
        f"incidents raised {incident_numbers(raised)}{paged(warehouse, delivery, raised, now)}",
    )
