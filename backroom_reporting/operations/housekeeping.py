"""The spec's maintenance tasks: expired cache entries (03:00), report files past their
retention and execution history past its retention (Sunday 03:00)."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import sqlalchemy as sa

from backroom_reporting.rendering.store import ReportStore
from backroom_reporting.warehouse.database import Database
from backroom_reporting.warehouse.tables.operations import (
    job_execution_history,
    job_execution_history_archive,
)
from backroom_reporting.warehouse.tables.reports import report_generation_history
from backroom_reporting.warehouse.types import table_schema


def report_files_to_remove(history: pl.DataFrame, before: dt.datetime) -> tuple[list[str], set[str]]:
    """(generations whose files go, store paths to delete) for report_generation_history rows.

    A generation older than `before` loses its files, except the latest successful
    generation of each subscription (the report a subscriber may still open or be sent
    again) and any file a kept generation also points at (files are shared by content)."""
    done = history.filter((pl.col("status") == "succeeded") & pl.col("files_removed_at").is_null())
    latest = set(done.sort("generated_at").group_by("subscription_id").last()["generation_id"])
    expired = done.filter((pl.col("generated_at") < before) & ~pl.col("generation_id").is_in(latest))
    kept = done.filter(~pl.col("generation_id").is_in(expired["generation_id"].implode()))

    def paths(rows: pl.DataFrame) -> set[str]:
        return {file["path"] for files in rows["files"] for file in json.loads(files)}

    return expired["generation_id"].to_list(), paths(expired) - paths(kept)


def remove_expired_report_files(
    db: Database, store: ReportStore, now: dt.datetime, retention: dt.timedelta
) -> dict:
    """Delete report files past their retention and mark their generations; what was done."""
    history = db.read_table(report_generation_history)
    generations, paths = report_files_to_remove(history, now - retention)
    freed = 0
    for path in sorted(paths):
        file = store.path_of(path)
        if file.exists():
            freed += file.stat().st_size
            file.unlink()
    if generations:
        table = report_generation_history
        rows = history.filter(pl.col("generation_id").is_in(generations)).with_columns(
            pl.lit(now).alias("files_removed_at")
        )
        db.replace(table, rows, table.c.generation_id.in_(generations))
    return {"generations": len(generations), "files_deleted": len(paths), "bytes_freed": freed}


def archive_execution_history(db: Database, now: dt.datetime, retention: dt.timedelta) -> int:
    """Move runs that ended before the retention into job_execution_history_archive, in one
    transaction; the number of rows moved."""
    old = job_execution_history.c.run_id.in_(
        sa.select(job_execution_history.c.run_id).where(
            job_execution_history.c.step_key == "", job_execution_history.c.ended_at < now - retention
        )
    )
    rows = db.read_table(job_execution_history, old)
    archived = job_execution_history_archive.c.run_id.in_(rows["run_id"].unique().to_list())
    db.replace_many(
        [
            (
                job_execution_history_archive,
                rows.select(table_schema(job_execution_history_archive).keys()),
                archived,
            ),
            (job_execution_history, pl.DataFrame(schema=table_schema(job_execution_history)), old),
        ]
    )
    return rows.height
