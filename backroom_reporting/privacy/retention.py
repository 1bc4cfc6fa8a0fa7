"""Retention: how long each table keeps what it holds about people, and removing the rest.

The days come from one YAML file (BACKROOM_RETENTION, docs/privacy.md "Retention"): a default
of 90 and any table's own number. `apply_retention` runs every step in turn and says how many
rows (or files) each removed; with `dry_run` it only counts. The Sunday maintenance job and
`backroom gdpr apply-retention` both call it. Which rows go is decided here, without Dagster.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import polars as pl
import sqlalchemy as sa
from pydantic import Field

from backroom_reporting import settings
from backroom_reporting.config_types import Choice, ConfigModel, checked_yaml
from backroom_reporting.privacy import audit
from backroom_reporting.rendering.store import ReportStore
from backroom_reporting.warehouse.database import Database
from backroom_reporting.warehouse.source_contract import CONTRACT
from backroom_reporting.warehouse.tables.deliveries import report_deliveries, report_delivery_history
from backroom_reporting.warehouse.tables.portal import access_log
from backroom_reporting.warehouse.tables.raw import RAW, raw_loads, raw_quarantine, raw_snapshot_loads
from backroom_reporting.warehouse.tables.reports import report_generation_history

DEFAULT_DAYS = 90
# Fact tables whose rows name a customer: after retention their customer_id is gone.
CUSTOMER_FACTS = tuple(
    f"raw_{name}" for name, rules in CONTRACT.items() if rules.is_fact and "customer_id" in rules.table.c
)
# What stands in a NOT NULL customer_id once the customer is no longer named.
TOMBSTONE = "removed"
# A quarantined row past retention keeps its table, day, id and reason, not its values.
NO_VALUES = "{}"
VALUES_REMOVED = "values removed by retention"

KEPT = (
    "report_files",
    "report_generation_history",
    "report_deliveries",
    "report_delivery_history",
    "access_log",
    "raw_quarantine",
    *CUSTOMER_FACTS,
)


class RetentionError(ValueError):
    """A retention file that cannot be used, in one sentence naming the file and the field."""


Days = Annotated[int, Field(ge=1, le=36_500)]


class _RetentionSpec(ConfigModel):
    default_days: Days = DEFAULT_DAYS
    days: dict[Choice("table", KEPT), Days] = Field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Retention:
    default_days: int = DEFAULT_DAYS
    days: dict[str, int] = dataclasses.field(default_factory=dict)

    def days_for(self, kept: str) -> int:
        return self.days.get(kept, self.default_days)

    def before(self, kept: str, now: dt.datetime) -> dt.datetime:
        """The moment before which `kept` keeps nothing."""
        return now - dt.timedelta(days=self.days_for(kept))


def parse_retention(path: Path | str | None = None) -> Retention:
    """The retention file (default: the BACKROOM_RETENTION setting); a missing file is an error,
    not a silent 90 days everywhere."""
    path = Path(path or settings.RETENTION.get())
    where = path.as_posix()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RetentionError(f"{where}: no retention file there") from None
    shape = "a retention file is a mapping (default_days, days)"
    _, spec = checked_yaml(text, where, _RetentionSpec, shape, RetentionError)
    return Retention(spec.default_days, dict(spec.days))


# --- which rows go (plain functions) --------------------------------------------------------------


def latest_reports(history: pl.DataFrame) -> set[str]:
    """The latest successful generation of each subscription: the report a subscriber may still
    open or be sent again, kept whatever its age."""
    done = history.filter(pl.col("status") == "succeeded")
    return set(done.sort("generated_at").group_by("subscription_id").last()["generation_id"])


def report_files_to_remove(history: pl.DataFrame, before: dt.datetime) -> tuple[list[str], set[str]]:
    """(generations whose files go, store paths to delete) for report_generation_history rows.

    A generation older than `before` loses its files, except the latest successful
    generation of each subscription and any file a kept generation also points at (files
    are shared by content)."""
    done = history.filter((pl.col("status") == "succeeded") & pl.col("files_removed_at").is_null())
    latest = latest_reports(history)
    expired = done.filter((pl.col("generated_at") < before) & ~pl.col("generation_id").is_in(latest))
    kept = done.filter(~pl.col("generation_id").is_in(expired["generation_id"].implode()))
    return expired["generation_id"].to_list(), stored_paths(expired) - stored_paths(kept)


def stored_paths(generations: pl.DataFrame) -> set[str]:
    """The report store paths the generations' files (and email parts) point at."""
    paths = {file["path"] for files in generations["files"] for file in json.loads(files)}
    for parts in generations["email_parts"].drop_nulls():
        body = json.loads(parts)
        paths |= {body["html"], body["text"], *(image["path"] for image in body["images"])}
    return paths


def generations_to_remove(history: pl.DataFrame, before: dt.datetime) -> list[str]:
    """Generations older than `before` whose files are gone (or that had none): the row goes
    only after its files, so no file is left that no row points at. The latest report stays."""
    latest = latest_reports(history)
    filed = (pl.col("status") == "succeeded") & pl.col("files_removed_at").is_null()
    return history.filter(
        (pl.col("generated_at") < before) & ~filed & ~pl.col("generation_id").is_in(latest)
    )["generation_id"].to_list()


# --- applying it --------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Step:
    kept: str  # the name in the retention file
    what: str  # what one unit removed is, as printed: rows, files, values
    run: Callable[[Database, ReportStore, Retention, dt.datetime, bool], int]


def _report_files(db: Database, store: ReportStore, retention: Retention, now: dt.datetime, dry: bool) -> int:
    before = retention.before("report_files", now)
    history = db.read_table(report_generation_history)
    generations, paths = report_files_to_remove(history, before)
    if dry:
        return len(paths)
    for path in sorted(paths):
        store.path_of(path).unlink(missing_ok=True)
    if generations:
        with db.engine.begin() as conn:
            conn.execute(
                sa.update(report_generation_history)
                .where(report_generation_history.c.generation_id.in_(generations))
                .values(files_removed_at=now)
            )
    return len(paths)


def _generations(db: Database, _store, retention: Retention, now: dt.datetime, dry: bool) -> int:
    before = retention.before("report_generation_history", now)
    history = db.read_table(report_generation_history)
    if dry:  # as it will be once the report files step has run
        files_going, _ = report_files_to_remove(history, retention.before("report_files", now))
        history = history.with_columns(
            pl.when(pl.col("generation_id").is_in(files_going))
            .then(pl.lit(now))
            .otherwise(pl.col("files_removed_at"))
            .alias("files_removed_at")
        )
    gone = generations_to_remove(history, before)
    if gone and not dry:
        with db.engine.begin() as conn:
            conn.execute(
                sa.delete(report_generation_history).where(
                    report_generation_history.c.generation_id.in_(gone)
                )
            )
    return len(gone)


def _count_or_run(db: Database, statement: sa.Update | sa.Delete, table: sa.Table, where, dry: bool) -> int:
    with db.engine.begin() as conn:
        if dry:
            return conn.execute(sa.select(sa.func.count()).select_from(table).where(where)).scalar_one()
        return conn.execute(statement.where(where)).rowcount


def _deliveries(db: Database, _store, retention: Retention, now: dt.datetime, dry: bool) -> int:
    """Deliveries with nothing new for the retention; their lifecycle events go with them."""
    before = retention.before("report_deliveries", now)
    old = report_deliveries.c.status_at < before
    with db.engine.begin() as conn:
        ids = sa.select(report_deliveries.c.delivery_id).where(old)
        if dry:
            return conn.execute(
                sa.select(sa.func.count()).select_from(report_deliveries).where(old)
            ).scalar_one()
        conn.execute(sa.delete(report_delivery_history).where(report_delivery_history.c.delivery_id.in_(ids)))
        return conn.execute(sa.delete(report_deliveries).where(old)).rowcount


def _delivery_history(db: Database, _store, retention: Retention, now: dt.datetime, dry: bool) -> int:
    before = retention.before("report_delivery_history", now)
    table = report_delivery_history
    return _count_or_run(db, sa.delete(table), table, table.c.at < before, dry)


def _access_log(db: Database, _store, retention: Retention, now: dt.datetime, dry: bool) -> int:
    before = retention.before("access_log", now)
    if dry:
        return db.scalar(sa.select(sa.func.count()).select_from(access_log).where(access_log.c.at < before))
    return audit.prune(db, before, now)


def quarantine_aged(before: dt.datetime) -> sa.ColumnElement[bool]:
    """Quarantined rows older than `before` that still hold their values. A row of a night is as
    old as its night; a row no night owns (snapshots, unreadable times) as old as the last load
    of its table that wrote it."""
    q = raw_quarantine.c
    snapshot_loaded = (
        sa.select(raw_snapshot_loads.c.loaded_at)
        .where(raw_snapshot_loads.c.source_table == q.source_table)
        .scalar_subquery()
    )
    fact_loaded = (
        sa.select(sa.func.max(raw_loads.c.loaded_at))
        .where(raw_loads.c.source_table == q.source_table)
        .scalar_subquery()
    )
    undated_age = sa.func.coalesce(snapshot_loaded, fact_loaded)
    return sa.and_(
        q.raw_values != NO_VALUES,
        sa.or_(q.business_date < before.date(), sa.and_(q.business_date.is_(None), undated_age < before)),
    )


def _quarantine(db: Database, _store, retention: Retention, now: dt.datetime, dry: bool) -> int:
    before = retention.before("raw_quarantine", now)
    statement = sa.update(raw_quarantine).values(raw_values=NO_VALUES, detail=VALUES_REMOVED)
    return _count_or_run(db, statement, raw_quarantine, quarantine_aged(before), dry)


def customer_gone(table: sa.Table) -> object:
    """What replaces a customer_id no longer kept: null, or the tombstone where it is required."""
    return None if table.c.customer_id.nullable else TOMBSTONE


def _facts(name: str):
    table = RAW[name.removeprefix("raw_")]

    def run(db: Database, _store, retention: Retention, now: dt.datetime, dry: bool) -> int:
        before = retention.before(name, now)
        named = sa.and_(table.c.business_date < before.date(), table.c.customer_id.is_not(None))
        named = sa.and_(named, table.c.customer_id != TOMBSTONE)
        statement = sa.update(table).values(customer_id=customer_gone(table))
        return _count_or_run(db, statement, table, named, dry)

    return run


STEPS = (
    # Files before their generations' rows: a row goes only once its files have.
    Step("report_files", "files", _report_files),
    Step("report_generation_history", "rows", _generations),
    # Events past their retention, then deliveries past theirs with any events left.
    Step("report_delivery_history", "rows", _delivery_history),
    Step("report_deliveries", "rows", _deliveries),
    Step("raw_quarantine", "raw values", _quarantine),
    *(Step(name, "customer ids", _facts(name)) for name in CUSTOMER_FACTS),
    # Last: pruning records itself in the log.
    Step("access_log", "entries", _access_log),
)


@dataclasses.dataclass(frozen=True)
class Removed:
    kept: str
    days: int
    count: int
    what: str

    def __str__(self) -> str:
        return f"{self.kept}: {self.count} {self.what} older than {self.days} days"


def apply_retention(
    db: Database, store: ReportStore, retention: Retention, now: dt.datetime, dry_run: bool = False
) -> list[Removed]:
    """Remove what is past its retention, step by step; what each step removed (or would)."""
    removed = []
    for step in STEPS:
        count = step.run(db, store, retention, now, dry_run)
        removed.append(Removed(step.kept, retention.days_for(step.kept), count, step.what))
    return removed


def counted(removed: list[Removed]) -> dict[str, int]:
    """What a run removed, per table, as the access log records it."""
    return {step.kept: step.count for step in removed}
