"""Dagster's own records as the spec's job tables: schedules and sensors, the graph's edges,
and every run and step with what it cost.

Dagster is the only scheduler; these frames are exports of what it already knows, so the
spec's tables exist in the warehouse and can be reported on.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable

import dagster as dg
import polars as pl
from dagster._core.scheduler.instigation import InstigatorStatus

from backroom_reporting.assets.step_metrics import CPU_SECONDS, PEAK_MEMORY_MB
from backroom_reporting.warehouse.tables.operations import (
    job_dependencies,
    job_execution_history,
    scheduled_jobs,
)
from backroom_reporting.warehouse.types import table_schema

RUN_ROW = ""  # the step_key of a run's own row
TRIGGER_TAGS = (
    ("dagster/schedule_name", "schedule"),
    ("dagster/sensor_name", "sensor"),
    ("dagster/backfill", "backfill"),
)


def _utc(timestamp: float | None) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC) if timestamp is not None else None


def _stored_statuses(instance: dg.DagsterInstance) -> dict[str, str]:
    """Schedules and sensors switched on or off in the instance (by the UI or the CLI)."""
    found: dict[str, str] = {}
    if instance.schedule_storage is None:  # an ephemeral instance keeps no schedule state
        return found
    # DECLARED_IN_CODE (after a reset) means the default status holds: not an override.
    for state in instance.all_instigator_state():
        if state.status == InstigatorStatus.RUNNING:
            found[state.instigator_name] = "running"
        elif state.status == InstigatorStatus.STOPPED:
            found[state.instigator_name] = "stopped"
    return found


def _policy(job: dg.JobDefinition | None) -> tuple[str | None, int | None, str]:
    """(retry policy, max runtime, priority) of a job's runs."""
    if job is None:
        return None, None, "0"
    tags = job.tags or {}
    # Each step's own policy as Dagster resolves it (the op's or asset's, else the job's).
    policies = {job.get_retry_policy_for_handle(handle) for handle in job.graph.iterate_node_handles()}
    steps = "; ".join(
        sorted(
            f"{retry.max_retries} retries, {retry.backoff.value.lower() if retry.backoff else 'fixed'} "
            f"backoff from {retry.delay}s"
            for retry in policies
            if retry
        )
    )
    runs = tags.get("dagster/max_retries") and f"{tags['dagster/max_retries']} run retries"
    retries = "; ".join(part for part in (steps, runs) if part)
    runtime = tags.get("dagster/max_runtime")
    return retries or None, int(runtime) if runtime else None, str(tags.get("dagster/priority", "0"))


def scheduled_jobs_frame(
    defs: dg.Definitions, instance: dg.DagsterInstance, now: dt.datetime
) -> pl.DataFrame:
    """One row per schedule and sensor of the code location."""
    stored = _stored_statuses(instance)
    repo = defs.get_repository_def()
    rows = []
    for schedule in repo.schedule_defs:
        job = repo.get_job(schedule.job_name) if schedule.job_name else None
        retries, runtime, priority = _policy(job)
        rows.append(
            {
                "name": schedule.name,
                "kind": "schedule",
                "cron": str(schedule.cron_schedule),
                "timezone": schedule.execution_timezone or "UTC",
                "target": schedule.job_name,
                "priority": priority,
                "retry_policy": retries,
                "max_runtime_seconds": runtime,
                "min_interval_seconds": None,
                "default_status": schedule.default_status.value.lower(),
                "status": stored.get(schedule.name, schedule.default_status.value.lower()),
                "description": schedule.description,
                "recorded_at": now,
            }
        )
    for sensor in repo.sensor_defs:
        automation = isinstance(sensor, dg.AutomationConditionSensorDefinition)
        job_names = [t.job_name for t in sensor.targets] if sensor.targets else []
        job = repo.get_job(job_names[0]) if len(job_names) == 1 and job_names[0] else None
        retries, runtime, priority = _policy(job)
        rows.append(
            {
                "name": sensor.name,
                "kind": "automation" if automation else "sensor",
                "cron": None,
                "timezone": None,
                "target": ", ".join(n for n in job_names if n)
                or ("assets with an automation condition" if automation else "no job"),
                "priority": priority,
                "retry_policy": retries,
                "max_runtime_seconds": runtime,
                "min_interval_seconds": sensor.minimum_interval_seconds,
                "default_status": sensor.default_status.value.lower(),
                "status": stored.get(sensor.name, sensor.default_status.value.lower()),
                "description": sensor.description,
                "recorded_at": now,
            }
        )
    return pl.DataFrame(rows, schema=table_schema(scheduled_jobs)).sort("name")


def _mapping(mapping) -> str | None:
    if mapping is None:
        return None
    if isinstance(mapping, dg.TimeWindowPartitionMapping):
        if (mapping.start_offset, mapping.end_offset) == (0, 0):
            return "same period"
        return f"periods {mapping.start_offset:+d} to {mapping.end_offset:+d}"
    return type(mapping).__name__


def _partitions(partitions_def) -> str | None:
    if partitions_def is None:
        return None
    if isinstance(partitions_def, dg.DynamicPartitionsDefinition):
        return f"dynamic ({partitions_def.name})"
    if isinstance(partitions_def, dg.TimeWindowPartitionsDefinition):
        return f"{partitions_def.cron_schedule} ({partitions_def.timezone})"
    return type(partitions_def).__name__


def job_dependencies_frame(defs: dg.Definitions, runners: dict[str, str], now: dt.datetime) -> pl.DataFrame:
    """One row per edge of the asset graph, with the child's condition to run.

    runners: asset key -> the job or sensor that runs it, for assets without a condition."""
    graph = defs.resolve_asset_graph()
    rows = []
    for child_key in graph.get_all_asset_keys():
        child = graph.get(child_key)
        if not child.is_materializable:
            continue
        condition = child.automation_condition
        when = (
            condition.get_label() or condition.name
            if condition is not None
            else runners.get(child_key.to_user_string(), "run by hand or a backfill")
        )
        for parent_key in sorted(child.parent_keys, key=lambda k: k.to_user_string()):
            parent = graph.get(parent_key)
            # A partitioned parent always maps to its child (an unpartitioned child reads all of it).
            mapping = graph.get_partition_mapping(child_key, parent_key) if parent.partitions_def else None
            rows.append(
                {
                    "parent": parent_key.to_user_string(),
                    "child": child_key.to_user_string(),
                    "parent_partitions": _partitions(parent.partitions_def),
                    "child_partitions": _partitions(child.partitions_def),
                    "partition_mapping": _mapping(mapping),
                    "condition": when,
                    "recorded_at": now,
                }
            )
    return pl.DataFrame(rows, schema=table_schema(job_dependencies)).sort("child", "parent")


def _triggered_by(tags: dict[str, str]) -> str:
    for tag, kind in TRIGGER_TAGS:
        if tag in tags:
            return f"{kind} {tags[tag]}"
    return "manual"


def _partitions_of(tags: dict[str, str]) -> str | None:
    if "dagster/partition" in tags:
        return tags["dagster/partition"]
    start, end = (
        tags.get("dagster/asset_partition_range_start"),
        tags.get("dagster/asset_partition_range_end"),
    )
    return f"{start}..{end}" if start else None


def _errors(instance: dg.DagsterInstance, run_id: str) -> dict[str, str]:
    """The error message of each failed step ('' for the run's own failure)."""
    errors = {}
    for record in instance.all_logs(
        run_id, of_type={dg.DagsterEventType.STEP_FAILURE, dg.DagsterEventType.RUN_FAILURE}
    ):
        event = record.dagster_event
        if event.event_type == dg.DagsterEventType.STEP_FAILURE:
            error = event.step_failure_data.error
            errors[event.step_key] = error.message.strip() if error else "step failed"
        else:
            errors[RUN_ROW] = record.message or "run failed"
    return errors


def _metadata_values(entries: Iterable) -> dict:
    return {key: getattr(value, "value", value) for key, value in entries}


def execution_rows(instance: dg.DagsterInstance, records: Iterable) -> pl.DataFrame:
    """job_execution_history rows of runs (Dagster RunRecords): one per run and per step."""
    rows = []
    for record in records:
        run = record.dagster_run
        tags = dict(run.tags)
        errors = _errors(instance, run.run_id) if run.status == dg.DagsterRunStatus.FAILURE else {}
        common = {
            "run_id": run.run_id,
            "job_name": run.job_name,
            "partitions": _partitions_of(tags),
            "triggered_by": _triggered_by(tags),
        }
        steps = instance.get_run_step_stats(run.run_id)
        rows.append(
            {
                **common,
                "step_key": RUN_ROW,
                "status": run.status.value,
                "started_at": _utc(record.start_time),
                "ended_at": _utc(record.end_time),
                "duration_seconds": record.end_time - record.start_time
                if record.start_time and record.end_time
                else None,
                "attempts": 1 + int(tags.get("dagster/retry_number", 0)),
                "error": errors.get(RUN_ROW),
                "rows_written": None,
                "cpu_seconds": None,
                "peak_memory_mb": None,
                "result": json.dumps({k: v for k, v in tags.items() if not k.startswith(".")}, default=str),
            }
        )
        for step in steps:
            metadata = [
                _metadata_values(e.asset_materialization.metadata.items())
                for e in step.materialization_events
            ]
            written = [
                m["dagster/row_count"] for m in metadata if isinstance(m.get("dagster/row_count"), int)
            ]
            rows.append(
                {
                    **common,
                    "step_key": step.step_key,
                    "status": step.status.value if step.status else "UNKNOWN",
                    "started_at": _utc(step.start_time),
                    "ended_at": _utc(step.end_time),
                    "duration_seconds": step.end_time - step.start_time
                    if step.start_time and step.end_time
                    else None,
                    "attempts": step.attempts or 1,
                    "error": errors.get(step.step_key),
                    "rows_written": sum(written) if written else None,
                    "cpu_seconds": max((m[CPU_SECONDS] for m in metadata if CPU_SECONDS in m), default=None),
                    "peak_memory_mb": max(
                        (m[PEAK_MEMORY_MB] for m in metadata if PEAK_MEMORY_MB in m), default=None
                    ),
                    "result": json.dumps(
                        {"materializations": len(metadata), **(metadata[-1] if metadata else {})}, default=str
                    ),
                }
            )
    return pl.DataFrame(rows, schema=table_schema(job_execution_history))
