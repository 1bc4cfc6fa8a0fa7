"""The spec's job tables, exported from Dagster's own records (Dagster is the only scheduler).

scheduled_jobs: every schedule and sensor; job_dependencies: the asset graph's edges;
job_execution_history: every run and step, with what it cost; runs past their retention
move to job_execution_history_archive each Sunday.
"""

import sqlalchemy as sa

from backroom_reporting.warehouse.tables.metadata import WAREHOUSE
from backroom_reporting.warehouse.types import Count, UtcTimestamp

scheduled_jobs = sa.Table(
    "scheduled_jobs",
    WAREHOUSE,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),  # schedule | sensor | automation
    sa.Column("cron", sa.Text, nullable=True),
    sa.Column("timezone", sa.Text, nullable=True),
    sa.Column("target", sa.Text, nullable=False),  # a job's name, or the assets it watches
    sa.Column("priority", sa.Text, nullable=False),  # dagster/priority of its runs
    sa.Column("retry_policy", sa.Text, nullable=True),
    sa.Column("max_runtime_seconds", Count, nullable=True),
    sa.Column("min_interval_seconds", Count, nullable=True),
    sa.Column("default_status", sa.Text, nullable=False),  # running | stopped
    sa.Column("status", sa.Text, nullable=False),  # running | stopped, as the instance has it now
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("recorded_at", UtcTimestamp, nullable=False),
)

job_dependencies = sa.Table(
    "job_dependencies",
    WAREHOUSE,
    sa.Column("parent", sa.Text, primary_key=True),
    sa.Column("child", sa.Text, primary_key=True),
    sa.Column("parent_partitions", sa.Text, nullable=True),
    sa.Column("child_partitions", sa.Text, nullable=True),
    sa.Column("partition_mapping", sa.Text, nullable=True),
    # When the child runs: its automation condition, or the job or sensor that runs it.
    sa.Column("condition", sa.Text, nullable=False),
    sa.Column("recorded_at", UtcTimestamp, nullable=False),
)


def _history(name: str) -> sa.Table:
    return sa.Table(
        name,
        WAREHOUSE,
        sa.Column("run_id", sa.Text, primary_key=True),
        # '' for the run itself, else the step (asset) key
        sa.Column("step_key", sa.Text, primary_key=True),
        sa.Column("job_name", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("started_at", UtcTimestamp, nullable=True),
        sa.Column("ended_at", UtcTimestamp, nullable=True),
        sa.Column("duration_seconds", sa.Float, nullable=True),
        sa.Column("attempts", Count, nullable=False),
        sa.Column("partitions", sa.Text, nullable=True),  # a key, or first..last of a range
        sa.Column("triggered_by", sa.Text, nullable=True),  # schedule, sensor, backfill or manual
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("rows_written", Count, nullable=True),
        sa.Column("cpu_seconds", sa.Float, nullable=True),
        sa.Column("peak_memory_mb", sa.Float, nullable=True),
        sa.Column("result", sa.Text, nullable=True),  # JSON: the step's materialisation metadata
        sa.Index(None, "job_name", "started_at"),
        sa.Index(None, "ended_at"),
    )


job_execution_history = _history("job_execution_history")
job_execution_history_archive = _history("job_execution_history_archive")
