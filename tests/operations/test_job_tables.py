"""scheduled_jobs and job_dependencies: the code location's schedules, sensors and asset graph,
exported through Dagster into the warehouse, on SQLite and PostgreSQL.

What each row should say is read here from the definitions themselves (Dagster's own view of
them) and from what the spec asks of the nightly and maintenance jobs, never from the export.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg
from dagster._core.remote_origin import (
    InProcessCodeLocationOrigin,
    RemoteInstigatorOrigin,
    RemoteRepositoryOrigin,
)
from dagster._core.scheduler.instigation import (
    InstigatorState,
    InstigatorStatus,
    InstigatorType,
    ScheduleInstigatorData,
)
from dagster._core.test_utils import in_process_test_workspace
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

from backroom_reporting.definitions import defs
from backroom_reporting.operations.records import scheduled_jobs_frame
from backroom_reporting.warehouse.tables.operations import job_dependencies, scheduled_jobs

CODE_LOCATION = LoadableTargetOrigin(module_name="backroom_reporting.definitions")
STEP_RETRIES = "3 retries, exponential backoff from 5s"
# The spec's jobs: (cron in Europe/London, job, priority, maximum run time in seconds, step retries).
SPEC = {
    "open_night_refresh_schedule": ("5 12-23,0-5 * * *", "open_night_refresh", "1", 15 * 60, STEP_RETRIES),
    "closing_run_schedule": ("15 6 * * *", "closing_run", "2", 45 * 60, STEP_RETRIES),
    "morning_freshness_check_schedule": ("0 7 * * *", "morning_freshness_check", "0", 5 * 60, None),
    "clear_expired_caches_schedule": ("0 3 * * *", "clear_expired_caches", "0", 15 * 60, STEP_RETRIES),
    "apply_retention_schedule": (
        "0 3 * * 0",
        "apply_retention",
        "0",
        15 * 60,
        STEP_RETRIES,
    ),
    "archive_execution_history_schedule": (
        "0 3 * * 0",
        "archive_execution_history",
        "0",
        15 * 60,
        STEP_RETRIES,
    ),
}


def exported(databases, table) -> dict[str, dict]:
    rows = databases.warehouse.read_table(table).to_dicts()
    if table is scheduled_jobs:
        return {r["name"]: r for r in rows}
    return {(r["parent"], r["child"]): r for r in rows}


def test_every_schedule_and_sensor_is_listed_with_its_policies(databases, export):
    export("scheduled_jobs")
    rows = exported(databases, scheduled_jobs)
    repo = defs.get_repository_def()
    assert rows.keys() == {s.name for s in repo.schedule_defs} | {s.name for s in repo.sensor_defs}
    for schedule in repo.schedule_defs:
        row = rows[schedule.name]
        assert (row["kind"], row["cron"], row["timezone"], row["target"]) == (
            "schedule",
            schedule.cron_schedule,
            "Europe/London",
            schedule.job_name,
        )
    # On a fresh deployment everything runs: nothing waits to be switched on in the UI.
    assert {(r["default_status"], r["status"]) for r in rows.values()} == {("running", "running")}
    for name, (cron, job, priority, runtime, retries) in SPEC.items():
        row = rows[name]
        assert (row["cron"], row["target"], row["priority"]) == (cron, job, priority), name
        assert (row["max_runtime_seconds"], row["retry_policy"]) == (runtime, retries), name
    # The delivery sensor runs the report and delivery steps, which retry transient faults.
    assert rows["deliveries_due"]["retry_policy"] == STEP_RETRIES
    automation = rows["follow_inputs"]
    assert (automation["kind"], automation["cron"], automation["min_interval_seconds"]) == (
        "automation",
        None,
        30,
    )
    assert automation["target"] == "assets with an automation condition"
    partitions = rows["subscription_partitions"]
    assert (partitions["kind"], partitions["target"], partitions["retry_policy"]) == (
        "sensor",
        "no job",
        None,
    )
    assert all(r["recorded_at"] is not None for r in rows.values())


def test_a_schedule_or_sensor_switched_off_in_the_instance_is_reported_stopped(
    databases, export, home_instance
):
    with in_process_test_workspace(home_instance, CODE_LOCATION) as workspace:
        location = workspace.get_code_location(workspace.code_location_names[0])
        (repo,) = location.get_repositories().values()
        three = repo.get_schedule("clear_expired_caches_schedule")
        home_instance.stop_schedule(three.get_remote_origin_id(), three.selector_id, three)
        follow = repo.get_sensor("follow_inputs")
        home_instance.stop_sensor(follow.get_remote_origin_id(), follow.selector_id, follow)
        export("scheduled_jobs")
        rows = exported(databases, scheduled_jobs)
        stopped = {name for name, row in rows.items() if row["status"] == "stopped"}
        assert stopped == {"clear_expired_caches_schedule", "follow_inputs"}
        assert rows["clear_expired_caches_schedule"]["default_status"] == "running"
        assert export("scheduled_jobs").asset_materializations_for_node("scheduled_jobs")[0].metadata[
            "stopped"
        ].value == ["clear_expired_caches_schedule", "follow_inputs"]

        # Reset to the code's default (the UI's "reset"): on again.
        home_instance.reset_schedule(three)
        export("scheduled_jobs")
        assert exported(databases, scheduled_jobs)["clear_expired_caches_schedule"]["status"] == "running"


def test_a_reset_leaves_an_instigator_off_by_default_off(home_instance):
    """Dagster stores DECLARED_IN_CODE after a reset: the default status holds, whichever it is."""

    @dg.op
    def nothing() -> None: ...

    @dg.job
    def quiet() -> None:
        nothing()

    quiet_hours = dg.ScheduleDefinition(
        name="quiet_hours",
        job=quiet,
        cron_schedule="0 4 * * *",
        default_status=dg.DefaultScheduleStatus.STOPPED,
    )
    origin = RemoteInstigatorOrigin(
        RemoteRepositoryOrigin(InProcessCodeLocationOrigin(CODE_LOCATION), "__repository__"), "quiet_hours"
    )
    home_instance.add_instigator_state(
        InstigatorState(
            origin,
            InstigatorType.SCHEDULE,
            InstigatorStatus.DECLARED_IN_CODE,
            ScheduleInstigatorData(quiet_hours.cron_schedule),
        )
    )
    frame = scheduled_jobs_frame(
        dg.Definitions(jobs=[quiet], schedules=[quiet_hours]), home_instance, dt.datetime.now(dt.UTC)
    )
    assert frame.select("name", "default_status", "status").rows() == [("quiet_hours", "stopped", "stopped")]


def graph_edges(graph) -> set[tuple[str, str]]:
    """Every (parent, child) of the asset graph, walked from the parents' side."""
    return {
        (key.to_user_string(), child.to_user_string())
        for key in graph.get_all_asset_keys()
        for child in graph.get(key).child_keys
    }


# (parent, child) -> the partition mapping Dagster applies between them.
MAPPINGS = {
    ("booking_system/bookings", "raw_bookings"): "same period",
    ("raw_bookings", "daily_aggregations"): "same period",
    ("customer_visits", "top_customers"): "periods -89 to +0",
    ("raw_staff_shifts", "event_performance_analytics"): "periods -1 to +0",
    # A weekly snapshot follows the nights the closing run can still change: its week and the two before.
    ("customer_visits", "customer_analytics"): "periods -2 to +0",
    # An unpartitioned asset reads every night of a partitioned one.
    ("daily_aggregations", "subscription_reports"): "AllPartitionMapping",
    # An unpartitioned parent is one snapshot, whatever the night.
    ("raw_venues", "customer_visits"): None,
    ("kpi_definitions", "kpi_calculations"): None,
}


def test_job_dependencies_are_the_asset_graphs_edges_with_their_mappings(databases, export):
    export("job_dependencies")
    rows = exported(databases, job_dependencies)
    graph = defs.resolve_asset_graph()
    assert rows.keys() == graph_edges(graph)
    assert {edge: rows[edge]["partition_mapping"] for edge in MAPPINGS} == MAPPINGS
    for (parent_name, child_name), row in rows.items():
        parent_node = graph.get(dg.AssetKey.from_user_string(parent_name))
        child_node = graph.get(dg.AssetKey.from_user_string(child_name))
        assert (row["parent_partitions"] is None) == (parent_node.partitions_def is None)
        assert (row["child_partitions"] is None) == (child_node.partitions_def is None)
        assert (row["partition_mapping"] is None) == (parent_node.partitions_def is None), (
            parent_name,
            child_name,
        )
        condition = child_node.automation_condition
        if condition is not None:
            assert row["condition"] == condition.get_label(), child_name
    conditions = {child: row["condition"] for (_, child), row in rows.items()}
    # The raw layer is loaded by the nightly schedules, everything downstream follows its inputs.
    assert conditions["raw_bookings"] == "run by closing_run_schedule, open_night_refresh_schedule"
    assert conditions["daily_aggregations"] == "follows its inputs"
    assert conditions["subscription_reports"] == "run by deliveries_due"
    assert conditions["report_deliveries"] == "run by deliveries_due"
