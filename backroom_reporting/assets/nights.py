"""What an asset partitioned by night (or by week) tells Dagster: its window, and metadata
and check results per night (or week).

A run may cover one night (the nightly run) or a range (a backfill). Either way each
night's materialisation carries that night's figures and each night's check result is
recorded against that night, so the UI, the alerts and a later re-run of other nights
never mix one night up with another. A weekly snapshot's partition key is its week's
first night, so the same functions serve weeks.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, Mapping

import dagster as dg
import polars as pl
import sqlalchemy as sa
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData,
)
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from backroom_reporting.metrics.business_time import BusinessWindow, last_closed_business_day
from backroom_reporting.warehouse.database import Database
from backroom_reporting.warehouse.tables.raw import RAW

# Examples of failing rows kept in a check result's metadata.
EXAMPLES = 10
# Run tag: the moment a run stands for (a schedule's tick); nights closed by then are final.
AS_OF_TAG = "backroom/as_of"


def window_of(context: dg.AssetExecutionContext) -> BusinessWindow:
    """The nights this run covers."""
    return BusinessWindow.from_instants(*context.partition_time_window)


def as_of(context: dg.AssetExecutionContext) -> dt.datetime:
    """The moment this run stands for: its schedule's tick, else now."""
    tag = context.run.tags.get(AS_OF_TAG)
    return dt.datetime.fromisoformat(tag).astimezone(dt.UTC) if tag else dt.datetime.now(dt.UTC)


def snapshot_weeks(context: dg.AssetExecutionContext) -> dict[dt.date, dt.date]:
    """The business weeks this run covers (by their first night), each with the night its
    snapshot stands at: the week's last night, or for the week still open the last night
    closed by the moment the run stands for."""
    closed = last_closed_business_day(as_of(context))
    return {week.first_day: min(week.last_day, closed) for week in window_of(context).split(7)}


def chunks_of(db: Database, window: BusinessWindow) -> list[BusinessWindow]:
    """The chunks a range run works through `window` in, sized by the venues loaded."""
    return window.chunks(db.scalar(sa.select(sa.func.count()).select_from(RAW["venues"])) or 1)


def describe_nights(
    context: dg.AssetExecutionContext,
    metadata: Mapping[dt.date, Mapping],
    checks: Mapping[dt.date, Iterable[dg.AssetCheckResult]] | None = None,
) -> None:
    """Attach each night's own metadata to that night's materialisation, with the outcome of
    its checks when given (a backfill records check results only where they fail, see
    `check_evaluations`, so the night's metadata says how every check came out)."""
    for day, entries in metadata.items():
        outcome = {"checks": _outcome(checks.get(day, []))} if checks is not None else {}
        context.add_asset_metadata({**entries, **outcome}, partition_key=day.isoformat())


def _outcome(results: Iterable[dg.AssetCheckResult]) -> str:
    failed = [r.check_name for r in results if not r.passed and r.severity == dg.AssetCheckSeverity.ERROR]
    warned = [r.check_name for r in results if not r.passed and r.severity == dg.AssetCheckSeverity.WARN]
    parts = [f"failed {', '.join(failed)}" if failed else "", f"warned {', '.join(warned)}" if warned else ""]
    return "; ".join(p for p in parts if p) or "all passed"


def per_night(frame: pl.DataFrame, window: BusinessWindow, **figures: pl.Expr) -> dict[dt.date, dict]:
    """Each night of the window with `figures` aggregated over its rows of `frame` (which has a
    business_date column); nights without rows get the figures of an empty frame."""
    empty = frame.clear().select(**figures).row(0, named=True)
    found = {
        row.pop("business_date"): row
        for row in frame.group_by("business_date").agg(**figures).iter_rows(named=True)
    }
    return {day: {k: _plain(v) for k, v in found.get(day, empty).items()} for day in window.days}


def _plain(value):
    return value if isinstance(value, int | float | str | bool) or value is None else str(value)


def jsonable(rows: Iterable[dict]) -> list[dict]:
    return [{k: _plain(v) for k, v in row.items()} for row in rows]


def night_results(
    check_name: str,
    problems: pl.DataFrame,
    window: BusinessWindow,
    what: str,
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR,
) -> dict[dt.date, dg.AssetCheckResult]:
    """One result per night: passed when `problems` (failing rows with a business_date) has
    none for that night, else failed with a sentence naming the night and examples."""
    results = {}
    for day in window.days:
        rows = problems.filter(pl.col("business_date") == day) if problems.height else problems
        results[day] = dg.AssetCheckResult(
            check_name=check_name,
            passed=rows.height == 0,
            severity=severity,
            description=f"{day:%A %-d %B %Y}: {rows.height} {what}" if rows.height else None,
            metadata={
                "failing_rows": rows.height,
                "examples": dg.MetadataValue.json(jsonable(rows.head(EXAMPLES).to_dicts())),
            },
        )
    return results


def check_evaluations(
    context: dg.AssetExecutionContext,
    asset_key: dg.AssetKey,
    results: Mapping[dt.date, Iterable[dg.AssetCheckResult]],
) -> Iterator[dg.Output | dg.AssetCheckEvaluation]:
    """Each night's check results as evaluations of that night's partition, pointing at the
    materialisation this run just recorded for it. Yield them after the MaterializeResult.

    A run of one night records every result. A run over a range (a backfill) records the
    results that fail, and those of nights whose last recorded result was not a pass (so a
    night put right turns green); a pass on a night that never had a result is left out, as
    each result costs a write of its own to the instance (about 25 ms on the embedded SQLite
    storage, minutes over a year's backfill).
    """
    # The step's output of each check (Dagster expects one per check, whatever the nights).
    for check_key in sorted(context.selected_asset_check_keys, key=lambda k: k.name):
        if check_key.asset_key == asset_key:
            output = context.assets_def.get_output_name_for_asset_check_key(check_key)
            yield dg.Output(None, output_name=output)
    keys = [day.isoformat() for day in results]
    earlier = _earlier_failures(context, asset_key, results, keys) if len(keys) > 1 else None
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=keys), limit=len(keys)
    ).records
    targets = {
        record.partition_key: AssetCheckEvaluationTargetMaterializationData(
            storage_id=record.storage_id, run_id=record.run_id, timestamp=record.timestamp
        )
        for record in records
        if record.run_id == context.run.run_id
    }
    for day, night in results.items():
        for result in night:
            key = day.isoformat()
            if earlier is not None and result.passed and (result.check_name, key) not in earlier:
                continue
            yield dg.AssetCheckEvaluation(
                asset_key=asset_key,
                check_name=result.check_name,
                passed=result.passed,
                metadata=result.metadata,
                target_materialization_data=targets.get(key),
                severity=result.severity,
                description=result.description,
                partition=key,
            )


def _earlier_failures(
    context: dg.AssetExecutionContext,
    asset_key: dg.AssetKey,
    results: Mapping[dt.date, Iterable[dg.AssetCheckResult]],
    keys: list[str],
) -> set[tuple[str, str]]:
    """(check, night) pairs whose latest recorded result before this run was a failure."""
    wanted, failed = set(keys), set()
    for name in sorted({result.check_name for night in results.values() for result in night}):
        history = context.instance.event_log_storage.get_asset_check_execution_history(
            dg.AssetCheckKey(asset_key, name), limit=RECENT_RESULTS_PER_NIGHT * len(keys), status=COMPLETED
        )
        seen: set[str] = set()
        for record in history:  # newest first
            if record.partition in wanted and record.partition not in seen:
                seen.add(record.partition)
                if record.status == AssetCheckExecutionRecordStatus.FAILED:
                    failed.add((name, record.partition))
    return failed


# Results read back per night of a range when looking for nights that failed before.
RECENT_RESULTS_PER_NIGHT = 20
COMPLETED = {AssetCheckExecutionRecordStatus.SUCCEEDED, AssetCheckExecutionRecordStatus.FAILED}


def summary_of(results: Mapping[dt.date, Iterable[dg.AssetCheckResult]]) -> str:
    """The failed checks of a run, by night, as JSON text for the run's metadata."""
    failed = {
        day.isoformat(): [r.check_name for r in night if not r.passed] for day, night in results.items()
    }
    return json.dumps({day: names for day, names in failed.items() if names})
