"""The maintenance jobs, run through Dagster with real resources on SQLite and PostgreSQL, and
their schedules: 03:00 Europe/London every day (caches) and on Sundays (retention, execution
history), across both clock changes of 2026.
"""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import dagster as dg
import polars as pl
import pytest
import sqlalchemy as sa
from dagster._utils.schedules import schedule_execution_time_iterator

from backroom_reporting.operations.housekeeping import archive_execution_history
from backroom_reporting.rendering.model import RenderedFile
from backroom_reporting.rendering.store import ReportStore
from backroom_reporting.resources.databases import WarehouseResource
from backroom_reporting.resources.reports import ReportRenderingResource
from backroom_reporting.schedules.maintenance import MAINTENANCE_SCHEDULES
from backroom_reporting.warehouse.tables.kpis import report_metrics_cache
from backroom_reporting.warehouse.tables.operations import (
    job_execution_history,
    job_execution_history_archive,
)
from backroom_reporting.warehouse.tables.reports import report_generation_history
from backroom_reporting.warehouse.types import table_schema
from tests.metrics.test_metrics_cache import entry

LONDON = ZoneInfo("Europe/London")
SCHEDULES = {s.name: s for s in MAINTENANCE_SCHEDULES}
NOW = dt.datetime.now(dt.UTC)


def ago(days: float) -> dt.datetime:
    return NOW - dt.timedelta(days=days)


def write(databases, table: sa.Table, rows: list[dict]) -> None:
    databases.warehouse.append(table, pl.DataFrame(rows, schema=table_schema(table)))


def run_on_its_schedule(schedule_name: str, resources: dict) -> dg.ExecuteInProcessResult:
    """What the schedule asks for at its last tick, run in-process with real resources."""
    schedule = SCHEDULES[schedule_name]
    tick = next(schedule_execution_time_iterator(NOW.timestamp(), schedule.cron_schedule, LONDON.key, False))
    with dg.DagsterInstance.ephemeral() as instance:
        context = dg.build_schedule_context(instance=instance, scheduled_execution_time=tick)
        (request,) = schedule.evaluate_tick(context).run_requests
        return schedule.job.execute_in_process(resources=resources, instance=instance, tags=request.tags)


# --- report_metrics_cache -----------------------------------------------------------------------


def test_clear_expired_caches_deletes_expired_entries_and_keeps_live_ones(databases):
    write(
        databases,
        report_metrics_cache,
        [
            entry("expired-yesterday", {}, ago(1)),
            entry("expired-a-minute-ago", {}, ago(1 / 1440)),
            entry("live-for-an-hour", {}, NOW + dt.timedelta(hours=1)),
            entry("live-for-a-week", {}, NOW + dt.timedelta(days=7)),
        ],
    )
    result = run_on_its_schedule(
        "clear_expired_caches_schedule", {"warehouse": WarehouseResource(url=databases.warehouse_url)}
    )
    assert result.success
    left = databases.warehouse.read_table(report_metrics_cache)
    assert sorted(left["cache_key"]) == ["live-for-a-week", "live-for-an-hour"]


# --- report files ----------------------------------------------------------------------------------


def generation(
    generation_id: str,
    subscription_id: str,
    days_old: float,
    files: list,
    status: str = "succeeded",
    files_removed_at: dt.datetime | None = None,
) -> dict:
    day = (NOW - dt.timedelta(days=days_old)).date()
    return dict(
        generation_id=generation_id,
        subscription_id=subscription_id,
        template_key="daily_summary",
        template_hash="t1",
        venue_id="leeds",
        period_kind="day",
        period_first_day=day,
        period_last_day=day,
        filters="{}",
        formats=json.dumps(sorted({f.format for f in files})),
        files=json.dumps(
            [
                {
                    "format": f.format,
                    "name": f.name,
                    "path": f.path,
                    "sha256": f.sha256,
                    "size_bytes": f.size_bytes,
                    "reused_from": None,
                }
                for f in files
            ]
        ),
        row_counts="{}",
        key_metrics="{}",
        warnings="[]",
        duration_seconds=1.0,
        status=status,
        error=None if status == "succeeded" else "render failed",
        generated_at=ago(days_old),
        expires_at=None,
        dagster_run_id=None,
        files_removed_at=files_removed_at,
    )


def test_report_files_past_retention_go_except_the_latest_report_and_shared_files(
    databases, tmp_path, monkeypatch
):
    retention = tmp_path / "retention.yaml"
    retention.write_text("default_days: 365\ndays:\n  report_files: 30\n")
    monkeypatch.setenv("BACKROOM_RETENTION", str(retention))
    store = ReportStore(tmp_path / "reports")

    def stored(name: str, content: bytes):
        return store.put(RenderedFile(name.rsplit(".", 1)[1], name, content, "application/octet-stream"))

    old_pdf, shared_csv = stored("a-60.pdf", b"a, 60 days ago"), stored("a.csv", b"rows unchanged since")
    older_pdf, new_pdf = stored("a-45.pdf", b"a, 45 days ago"), stored("a-5.pdf", b"a, 5 days ago")
    b_pdf = stored("b.pdf", b"b's only report")
    c_old, c_latest = stored("c-50.pdf", b"c, 50 days ago"), stored("c-40.pdf", b"c, 40 days ago")
    d_new = stored("d-1.pdf", b"d, yesterday")
    long_gone = dt.datetime(2026, 1, 4, 3, 0, tzinfo=dt.UTC)
    write(
        databases,
        report_generation_history,
        [
            generation("a-60", "a", 60, [old_pdf, shared_csv]),
            generation("a-45", "a", 45, [older_pdf]),
            generation("a-5", "a", 5, [new_pdf, shared_csv]),  # the same CSV: one file in the store
            generation("a-70", "a", 70, [], files_removed_at=long_gone),
            generation("b-100", "b", 100, [b_pdf]),  # b's latest successful report, however old
            generation("b-3", "b", 3, [], status="failed"),
            generation("c-50", "c", 50, [c_old]),
            generation("c-40", "c", 40, [c_latest]),  # past retention too, but c's latest
            generation("d-60", "d", 60, [b_pdf]),  # rendered the same bytes as b's report
            generation("d-1", "d", 1, [d_new]),
        ],
    )
    before = dt.datetime.now(dt.UTC)
    result = run_on_its_schedule(
        "apply_retention_schedule",
        {
            "warehouse": WarehouseResource(url=databases.warehouse_url),
            "reports": ReportRenderingResource(store_dir=str(store.root)),
        },
    )
    after = dt.datetime.now(dt.UTC)
    assert result.success
    gone = {old_pdf, older_pdf, c_old}
    for file in (old_pdf, shared_csv, older_pdf, new_pdf, b_pdf, c_old, c_latest, d_new):
        assert (store.root / file.path).exists() == (file not in gone), file.name
    rows = {
        r["generation_id"]: r for r in databases.warehouse.read_table(report_generation_history).to_dicts()
    }
    removed = {g for g, r in rows.items() if r["files_removed_at"] is not None and g != "a-70"}
    assert removed == {"a-60", "a-45", "c-50", "d-60"}
    assert all(before <= rows[g]["files_removed_at"] <= after for g in removed)
    assert rows["a-70"]["files_removed_at"] == long_gone


# --- execution history ------------------------------------------------------------------------------


def history_rows(run_id: str, started: dt.datetime | None, ended: dt.datetime | None) -> list[dict]:
    def row(step_key: str) -> dict:
        return dict(
            run_id=run_id,
            step_key=step_key,
            job_name="closing_run",
            status="SUCCESS" if ended else "STARTED",
            started_at=started,
            ended_at=ended,
            duration_seconds=(ended - started).total_seconds() if ended else None,
            attempts=1,
            partitions="2026-03-28",
            triggered_by="schedule closing_run_schedule",
            error=None,
            rows_written=None if not step_key else 12,
            cpu_seconds=None if not step_key else 0.5,
            peak_memory_mb=None if not step_key else 310.0,
            result="{}",
        )

    return [row(""), row("raw_bookings"), row("raw_payments")]


def test_runs_past_retention_move_to_the_archive(databases, monkeypatch):
    monkeypatch.setenv("BACKROOM_EXECUTION_HISTORY_DAYS", "60")
    old = history_rows("old-run", ago(61), ago(61) + dt.timedelta(minutes=3))
    recent = history_rows("recent-run", ago(59), ago(59) + dt.timedelta(minutes=3))
    # Started long ago and never ended (its process died): not past its retention until it ends.
    unfinished = history_rows("unfinished-run", ago(200), None)
    write(databases, job_execution_history, old + recent + unfinished)
    result = run_on_its_schedule(
        "archive_execution_history_schedule", {"warehouse": WarehouseResource(url=databases.warehouse_url)}
    )
    assert result.success
    kept = databases.warehouse.read_table(job_execution_history)
    archived = databases.warehouse.read_table(job_execution_history_archive)
    assert sorted(kept["run_id"].unique()) == ["recent-run", "unfinished-run"]
    assert kept.height == 6
    expected = pl.DataFrame(old, schema=table_schema(job_execution_history_archive))
    assert archived.sort("step_key").equals(expected.sort("step_key"))


SQLITE_REFUSAL = """CREATE TRIGGER refuse_delete BEFORE DELETE ON job_execution_history
BEGIN SELECT RAISE(ABORT, 'job_execution_history is read-only'); END"""
POSTGRES_REFUSAL = [
    """CREATE FUNCTION refuse_delete() RETURNS trigger LANGUAGE plpgsql AS
    $$ BEGIN RAISE EXCEPTION 'job_execution_history is read-only'; END $$""",
    """CREATE TRIGGER refuse_delete BEFORE DELETE ON job_execution_history
    FOR EACH ROW EXECUTE FUNCTION refuse_delete()""",
]


def test_the_move_is_one_transaction(databases):
    """When the runs cannot leave job_execution_history, nothing reaches the archive either."""
    old = history_rows("old-run", ago(200), ago(200) + dt.timedelta(minutes=3))
    write(databases, job_execution_history, old)
    with databases.warehouse.engine.begin() as conn:
        for statement in [SQLITE_REFUSAL] if databases.backend == "sqlite" else POSTGRES_REFUSAL:
            conn.execute(sa.text(statement))
    with pytest.raises(Exception, match="read-only"):
        archive_execution_history(databases.warehouse, NOW, dt.timedelta(days=90))
    assert databases.warehouse.read_table(job_execution_history).height == len(old)
    assert databases.warehouse.read_table(job_execution_history_archive).is_empty()


# --- schedules -------------------------------------------------------------------------------------


def three_in_the_morning(first: dt.date, last: dt.date, sundays_only: bool) -> list[dt.datetime]:
    """03:00 London wall clock on each day (or Sunday) from first to last, as UTC instants."""
    days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    return [
        dt.datetime(d.year, d.month, d.day, 3, tzinfo=LONDON).astimezone(dt.UTC)
        for d in days
        if not sundays_only or d.weekday() == 6
    ]


@pytest.mark.parametrize(
    "first, last",
    [
        (dt.date(2026, 3, 22), dt.date(2026, 4, 5)),  # clocks go forward on Sunday 29 March
        (dt.date(2026, 10, 18), dt.date(2026, 11, 1)),  # and back on Sunday 25 October
    ],
)
@pytest.mark.parametrize(
    "schedule_name, job_name, sundays_only",
    [
        ("clear_expired_caches_schedule", "clear_expired_caches", False),
        ("apply_retention_schedule", "apply_retention", True),
        ("archive_execution_history_schedule", "archive_execution_history", True),
    ],
)
def test_maintenance_fires_at_three_london_time_across_the_clock_changes(
    schedule_name, job_name, sundays_only, first, last
):
    schedule = SCHEDULES[schedule_name]
    start = dt.datetime(first.year, first.month, first.day, tzinfo=LONDON)
    end = dt.datetime(last.year, last.month, last.day, 23, 59, tzinfo=LONDON)
    # The ticks the scheduler daemon computes for this schedule.
    ticks = []
    for tick in schedule_execution_time_iterator(
        start.timestamp(), schedule.cron_schedule, schedule.execution_timezone
    ):
        if tick > end:
            break
        ticks.append(tick)
    assert [t.astimezone(dt.UTC) for t in ticks] == three_in_the_morning(first, last, sundays_only)
    if first.month == 3:  # 03:00 is 02:00 UTC once British Summer Time has begun
        assert dt.datetime(2026, 3, 29, 2, tzinfo=dt.UTC) in ticks
        assert dt.datetime(2026, 3, 22, 3, tzinfo=dt.UTC) in ticks
    else:
        assert dt.datetime(2026, 10, 25, 3, tzinfo=dt.UTC) in ticks
        assert dt.datetime(2026, 10, 18, 2, tzinfo=dt.UTC) in ticks
    with dg.DagsterInstance.ephemeral() as instance:
        for tick in ticks:
            context = dg.build_schedule_context(instance=instance, scheduled_execution_time=tick)
            requests = schedule.evaluate_tick(context).run_requests
            assert len(requests) == 1, tick
    assert schedule.job_name == job_name
