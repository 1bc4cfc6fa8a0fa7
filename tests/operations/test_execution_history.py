"""job_execution_history against Dagster's own run records, on SQLite and PostgreSQL.

Real runs go into a real instance (DAGSTER_HOME): a snapshot load, a failure of an asset that
raises, a step that succeeds on its second attempt, and one run over a range of nights. Every
run and step row of the export is compared with `get_run_records`, `get_run_step_stats` and
the materialisation events, read here from the instance.
"""

from __future__ import annotations

import datetime as dt
import threading

import dagster as dg
import pytest

from backroom_reporting.backfill import backfill
from backroom_reporting.metrics.business_time import BusinessWindow
from backroom_reporting.warehouse.tables.operations import job_execution_history
from tests.assets.conftest import definitions_for
from tests.worlds import small_world, write_source

NIGHTS = BusinessWindow(dt.date(2026, 3, 16), dt.date(2026, 3, 20))
SNAPSHOTS = ["raw_venues", "raw_customers", "raw_events", "raw_venue_tables", "raw_staff"]
FACTS = ["raw_bar_transactions", "raw_check_ins", "raw_ticket_sales"]
FAILED_NIGHT = "2026-03-18"
ASSET_STEPS = {*SNAPSHOTS, *FACTS, "kpi_calculations"}  # measured by the project


def utc(timestamp: float | None) -> dt.datetime | None:
    return None if timestamp is None else dt.datetime.fromtimestamp(timestamp, dt.UTC)


def history(databases) -> dict[tuple[str, str], dict]:
    rows = databases.warehouse.read_table(job_execution_history).to_dicts()
    return {(r["run_id"], r["step_key"]): r for r in rows}


def rows_written(instance: dg.DagsterInstance, run_id: str) -> dict[str, int]:
    """step -> the dagster/row_count of its materialisations, added up (one per night in a range)."""
    written: dict[str, int] = {}
    for record in instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
    ).records:
        event = record.event_log_entry.dagster_event
        count = event.event_specific_data.materialization.metadata.get("dagster/row_count")
        if count is not None:
            written[event.step_key] = written.get(event.step_key, 0) + count.value
    return written


def assert_matches_the_records(databases, instance: dg.DagsterInstance, run_ids: list[str]) -> dict:
    """Every run and step row of `run_ids` is what the instance recorded; the rows."""
    rows = history(databases)
    for record in instance.get_run_records(dg.RunsFilter(run_ids=run_ids)):
        run = record.dagster_run
        row = rows[(run.run_id, "")]
        assert (row["job_name"], row["status"], row["attempts"]) == (run.job_name, run.status.value, 1)
        assert (row["started_at"], row["ended_at"]) == (utc(record.start_time), utc(record.end_time))
        stats = instance.get_run_step_stats(run.run_id)
        written = rows_written(instance, run.run_id)
        assert {k for (r, k) in rows if r == run.run_id} == {"", *(s.step_key for s in stats)}
        for step in stats:
            row = rows[(run.run_id, step.step_key)]
            assert (row["status"], row["attempts"]) == (step.status.value, step.attempts), step.step_key
            assert (row["started_at"], row["ended_at"]) == (utc(step.start_time), utc(step.end_time))
            assert row["rows_written"] == written.get(step.step_key), step.step_key
            if step.step_key in ASSET_STEPS and step.status.value == "SUCCESS":
                assert row["cpu_seconds"] >= 0 and row["peak_memory_mb"] > 0, step.step_key
    return rows


@pytest.fixture
def runs(databases, home_instance):
    """Four real runs of the project's assets (and one test asset) in the instance."""
    write_source(databases.source_url, small_world(NIGHTS.days))
    wired = definitions_for(databases)
    backfill(wired, NIGHTS, home_instance, selection=[dg.AssetKey(k) for k in SNAPSHOTS])
    backfill(wired, NIGHTS, home_instance, selection=[dg.AssetKey(k) for k in FACTS])  # one run, a range
    # kpi_calculations refuses to run without a KPI catalogue (kpi_definitions never materialised).
    failed = dg.materialize(
        wired.assets,
        selection=["kpi_calculations"],
        partition_key=FAILED_NIGHT,
        instance=home_instance,
        resources=wired.resources,
        raise_on_error=False,
    )
    attempts = []

    @dg.asset(retry_policy=dg.RetryPolicy(max_retries=2))
    def till_export() -> dg.MaterializeResult:
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectionError("the till did not answer")
        return dg.MaterializeResult(metadata={"dagster/row_count": 7})

    retried = dg.materialize([till_export], instance=home_instance)
    assert not failed.success and retried.success and len(attempts) == 2
    return {"failed": failed.run_id, "retried": retried.run_id}


def test_every_run_and_step_is_exported_as_dagster_recorded_it(databases, home_instance, runs, export):
    exporting = export("job_execution_history")
    run_ids = [r.dagster_run.run_id for r in home_instance.get_run_records()]
    assert len(run_ids) == 5  # the four runs and the export itself, which is left for the next export
    recorded = [r for r in run_ids if r != exporting.run_id]
    rows = assert_matches_the_records(databases, home_instance, recorded)
    assert {run for run, _ in rows} == set(recorded)

    by_step = {step: row for (_, step), row in rows.items() if step}
    assert (by_step["raw_bar_transactions"]["rows_written"], by_step["raw_check_ins"]["rows_written"]) == (
        3 * len(NIGHTS.days),  # small_world: three bar sales and four scans a night
        4 * len(NIGHTS.days),
    )
    assert by_step["raw_venues"]["rows_written"] == 1
    assert by_step["till_export"]["attempts"] == 2 and by_step["till_export"]["rows_written"] == 7

    ranged = [r for r in rows.values() if not r["step_key"] and r["partitions"] and ".." in r["partitions"]]
    assert [r["partitions"] for r in ranged] == [f"{NIGHTS.first_day}..{NIGHTS.last_day}"]
    assert {k for (run, k) in rows if run == ranged[0]["run_id"]} == {"", *FACTS}
    failed_run = rows[(runs["failed"], "")]
    failed_step = rows[(runs["failed"], "kpi_calculations")]
    assert (failed_run["status"], failed_step["status"]) == ("FAILURE", "FAILURE")
    assert (failed_run["partitions"], failed_step["partitions"]) == (FAILED_NIGHT, FAILED_NIGHT)
    assert "kpi_definitions holds no KPIs" in failed_step["error"]
    assert "kpi_calculations" in failed_run["error"]
    assert failed_step["rows_written"] is None
    assert all(r["error"] is None for (run, _), r in rows.items() if run != runs["failed"])
    metadata = exporting.asset_materializations_for_node("job_execution_history")[0].metadata
    assert (metadata["runs"].value, metadata["failed_runs"].value) == (4, 1)
    assert metadata["dagster/row_count"].value == len(rows)


def test_the_next_export_reads_only_runs_new_or_changed_since_its_cursor(
    databases, home_instance, runs, export
):
    first = export("job_execution_history")
    # A mark on an exported row: only a run read again would lose it.
    with databases.warehouse.engine.begin() as conn:
        conn.execute(
            job_execution_history.update()
            .where(job_execution_history.c.run_id == runs["failed"])
            .values(triggered_by="marked")
        )

    started, release = threading.Event(), threading.Event()

    @dg.asset
    def long_load() -> dg.MaterializeResult:
        started.set()
        release.wait()
        return dg.MaterializeResult(metadata={"dagster/row_count": 4})

    running = threading.Thread(target=dg.materialize, args=([long_load],), kwargs={"instance": home_instance})
    running.start()
    try:
        assert started.wait(120)
        second = export("job_execution_history")
        rows = history(databases)
        long_run = next(r for (r, step) in rows if step == "long_load")
        assert_matches_the_records(databases, home_instance, [first.run_id, long_run])
    finally:
        release.set()
        running.join()
    assert rows[(long_run, "")]["status"] == "STARTED" and rows[(long_run, "")]["ended_at"] is None
    assert rows[(long_run, "long_load")]["status"] == "IN_PROGRESS"
    assert rows[(runs["failed"], "")]["triggered_by"] == "marked"  # not read again
    metadata = second.asset_materializations_for_node("job_execution_history")[0].metadata
    assert metadata["runs"].value == 2  # the first export's run and the one still going

    third = export("job_execution_history")
    rows = assert_matches_the_records(databases, home_instance, [second.run_id, long_run])
    assert (rows[(long_run, "")]["status"], rows[(long_run, "long_load")]["rows_written"]) == ("SUCCESS", 4)
    assert rows[(long_run, "")]["ended_at"] is not None
    assert third.asset_materializations_for_node("job_execution_history")[0].metadata["runs"].value == 2
    assert rows[(runs["failed"], "")]["triggered_by"] == "marked"
