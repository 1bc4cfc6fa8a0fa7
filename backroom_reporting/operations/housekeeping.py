"""The spec's maintenance task for execution history past its retention (Sunday 03:00).
Report files past theirs go with everything else retention removes (privacy/retention.py)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import sqlalchemy as sa

from backroom_reporting.warehouse.database import Database
from backroom_reporting.warehouse.tables.operations import (
    job_execution_history,
    job_execution_history_archive,
)
from backroom_reporting.warehouse.types import table_schema


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
