"""The spec's job tables, built from Dagster's own records: scheduled_jobs, job_dependencies
and job_execution_history. Dagster is the only scheduler; these export what it knows, once
an hour, so the spec's tables can be queried and reported on beside the figures."""

import datetime as dt

import dagster as dg
import polars as pl

from backroom_reporting import settings
from backroom_reporting.alerting.rules import AlertRulesError, parse_rules, rules_fingerprint, rules_frame
from backroom_reporting.assets.policies import RETRY_TRANSIENT_FAULTS, every_hour_at, on_change_of_definition
from backroom_reporting.assets.step_metrics import measured
from backroom_reporting.operations.records import (
    execution_rows,
    job_dependencies_frame,
    scheduled_jobs_frame,
)
from backroom_reporting.resources.databases import WarehouseResource
from backroom_reporting.warehouse.tables.alerts import job_alerts as alerts_table
from backroom_reporting.warehouse.tables.operations import job_dependencies as dependencies_table
from backroom_reporting.warehouse.tables.operations import job_execution_history as history_table
from backroom_reporting.warehouse.tables.operations import scheduled_jobs as scheduled_table

GROUP = "operations"
# The export's cursor: the latest run update it has read (metadata of its materialisation).
CURSOR = "runs_updated_through"
COMMON = dict(group_name=GROUP, kinds={"dagster", "sql"}, retry_policy=RETRY_TRANSIENT_FAULTS)


def _project_definitions() -> dg.Definitions:
    # Imported when the asset runs: definitions.py imports this module.
    from backroom_reporting.definitions import defs

    return defs


def _runners(defs: dg.Definitions) -> dict[str, str]:
    """asset key -> the schedules and sensors whose jobs run it."""
    repo = defs.get_repository_def()
    found: dict[str, list[str]] = {}
    triggers = [(s.name, [s.job_name]) for s in repo.schedule_defs] + [
        (s.name, [t.job_name for t in s.targets]) for s in repo.sensor_defs if s.targets
    ]
    for name, job_names in triggers:
        for job_name in job_names:
            if not job_name or not repo.has_job(job_name):
                continue
            for key in repo.get_job(job_name).asset_layer.executable_asset_keys:
                found.setdefault(key.to_user_string(), []).append(name)
    return {key: "run by " + ", ".join(sorted(set(names))) for key, names in found.items()}


def _aware(moment: dt.datetime) -> dt.datetime:
    # Run storage on SQLite hands back naive UTC times.
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@dg.asset(**COMMON, automation_condition=every_hour_at(20))
@measured
def scheduled_jobs(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Every schedule and sensor of the code location: its cron and timezone, what it runs, the
    priority, retry policy and maximum run time of its runs, and whether it is on now."""
    frame = scheduled_jobs_frame(_project_definitions(), context.instance, dt.datetime.now(dt.UTC))
    warehouse.database().replace(scheduled_table, frame)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": frame.height,
            "stopped": dg.MetadataValue.json(frame.filter(pl.col("status") == "stopped")["name"].to_list()),
        }
    )


@dg.asset(**COMMON, automation_condition=every_hour_at(20))
@measured
def job_dependencies(warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Every edge of the asset graph (the spec's job chains): parent, child, their partitions,
    the partition mapping between them, and the condition under which the child runs."""
    defs = _project_definitions()
    frame = job_dependencies_frame(defs, _runners(defs), dt.datetime.now(dt.UTC))
    warehouse.database().replace(dependencies_table, frame)
    return dg.MaterializeResult(metadata={"dagster/row_count": frame.height})


@dg.asset(**COMMON, automation_condition=every_hour_at(25))
@measured
def job_execution_history(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Every run and step Dagster recorded since the last export: status, start and end,
    retries, error, partitions, what triggered it, rows written, CPU seconds and peak memory
    per step, and the step's result metadata as JSON. Runs past their retention are moved to
    job_execution_history_archive on Sundays."""
    previous = context.instance.get_latest_materialization_event(context.asset_key)
    cursor = (
        previous.asset_materialization.metadata.get(CURSOR)
        if previous and previous.asset_materialization
        else None
    )
    since = dt.datetime.fromisoformat(cursor.value) if cursor else None
    records = context.instance.get_run_records(
        filters=dg.RunsFilter(updated_after=since) if since else None, ascending=True
    )
    records = [r for r in records if r.dagster_run.run_id != context.run.run_id]
    rows = execution_rows(context.instance, records)
    run_ids = rows["run_id"].unique().to_list()
    warehouse.database().replace(history_table, rows, history_table.c.run_id.in_(run_ids))
    through = max((_aware(r.update_timestamp) for r in records), default=since)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": rows.height,
            "runs": len(run_ids),
            "failed_runs": rows.filter((pl.col("step_key") == "") & (pl.col("status") == "FAILURE")).height,
            **({CURSOR: through.isoformat()} if through else {}),
        }
    )


@dg.asset(
    **COMMON,
    code_version=rules_fingerprint(settings.ALERT_RULES.get()),
    # Changed rules are recorded as soon as the code location reloads.
    automation_condition=on_change_of_definition(),
)
@measured
def job_alerts(warehouse: WarehouseResource) -> dg.MaterializeResult:
    """The alert rules in force (report_layouts/alerts/rules.yaml), one row per rule: its kind,
    jobs, thresholds, severity, channels, escalation policy and the rules file's hash."""
    known_jobs = {job.name for job in _project_definitions().get_repository_def().get_all_jobs()}
    try:
        rules = parse_rules(settings.ALERT_RULES.get(), known_jobs)
    except AlertRulesError as exc:
        # A mistake in the file: no retry mends it, and the previous rules stay in the table.
        raise dg.Failure(str(exc), allow_retries=False) from exc
    warehouse.database().replace(alerts_table, rules_frame(rules, dt.datetime.now(dt.UTC)))
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(rules.rules),
            "rules_hash": rules.content_hash,
            "rules": dg.MetadataValue.json({r.key: r.kind for r in rules.rules}),
        }
    )
