"""Whether a night's figures are ready: loaded after it closed, computed, and checked.

A night the venue was closed and a night not yet loaded both have no daily figures;
night_status tells them apart, so a report says "figures not ready" rather than "closed".
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import polars as pl

from backroom_reporting.metrics.business_time import VENUE_TIMEZONE, BusinessWindow
from backroom_reporting.warehouse.source_contract import FACT_TABLES
from backroom_reporting.warehouse.tables.aggregations import night_status as night_status_table
from backroom_reporting.warehouse.types import table_schema


def night_status(
    window: BusinessWindow,
    loads: pl.DataFrame,
    failed_checks: dict[dt.date, list[str]],
    aggregated_at: dt.datetime,
) -> pl.DataFrame:
    """One night_status row per night of `window`, from the raw layer's ledger (`loads`:
    raw_loads rows) and the blocking checks each night failed. A night is final when every
    fact table's latest load of it ran after it closed."""
    rows = []
    for day in window.days:
        mine = loads.filter(pl.col("business_date") == day)
        final_tables = set(mine.filter(pl.col("final"))["source_table"])
        not_final = [t for t in FACT_TABLES if t not in final_tables]
        rows.append(
            {
                "business_date": day,
                "final": not not_final,
                "not_final": ", ".join(not_final) or None,
                "loaded_at": mine["loaded_at"].max(),
                "aggregated_at": aggregated_at,
                "failed_checks": ", ".join(failed_checks.get(day, [])) or None,
            }
        )
    return pl.DataFrame(rows, schema=table_schema(night_status_table))


def readiness(status: dict | None, night: dt.date) -> str | None:
    """Why a night's figures are not ready, in one sentence; None when they are."""
    name = f"{night:%A %-d %B %Y}"
    if status is None:
        return f"The figures for {name} are not ready: the night has not been loaded since it closed."
    if not status["final"]:
        return (
            f"The figures for {name} are not ready: {status['not_final']} "
            "were not loaded after the night closed."
        )
    if status["failed_checks"]:
        return (
            f"The figures for {name} are held back: they failed {status['failed_checks']}, "
            "so the previous figures were kept."
        )
    return None


def night_due(moment: dt.datetime, by: dt.time) -> tuple[dt.date, dt.datetime]:
    """The night whose figures must be ready at `moment`, and the deadline that makes it so:
    from `by` (e.g. 07:00) on a morning, London time whatever the season, the night that
    closed at 06:00 that morning."""
    local = moment.astimezone(ZoneInfo(VENUE_TIMEZONE))
    morning = local.date() if local.time() >= by else local.date() - dt.timedelta(days=1)
    deadline = dt.datetime.combine(morning, by, tzinfo=ZoneInfo(VENUE_TIMEZONE))
    return morning - dt.timedelta(days=1), deadline


def night_statuses(rows: pl.DataFrame) -> dict[dt.date, dict]:
    return {row["business_date"]: row for row in rows.iter_rows(named=True)}
