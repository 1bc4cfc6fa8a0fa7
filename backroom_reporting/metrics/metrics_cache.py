"""The report metrics cache: key-based, period-specific snapshots of expensive figures.

Reports (and later the API) read a period's KPIs through `period_kpis`: the cached KPIs
come from that period's kpi_scorecard entry while it lives, and when it has expired the
entry is made again from kpi_calculations and put back; real-time KPIs always come
straight from kpi_calculations. `drop_expired` clears what no reader may use any more.
"""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import sqlalchemy as sa

from backroom_reporting.warehouse.database import Database
from backroom_reporting.warehouse.tables.kpis import kpi_calculations, report_metrics_cache
from backroom_reporting.warehouse.types import table_schema

KPI_SCORECARD = "kpi_scorecard"
# What a scorecard tells about each KPI, from its kpi_calculations row and definition.
SCORECARD_FIELDS = (
    "name",
    "unit",
    "direction",
    "target",
    "value",
    "status",
    "trend",
    "value_week_ago",
    "value_month_ago",
    "value_year_ago",
    "change_week_ago",
    "change_month_ago",
    "change_year_ago",
    "trailing_mean",
)


def cache_key(metric: str, venue_id: str, period_type: str, period_start: dt.date) -> str:
    """e.g. kpi_scorecard/backroom-leeds/week/2026-03-23"""
    return f"{metric}/{venue_id}/{period_type}/{period_start.isoformat()}"


def scorecard_entries(
    calculations: pl.DataFrame, definitions: pl.DataFrame, computed_at: dt.datetime
) -> pl.DataFrame:
    """One kpi_scorecard entry per venue and period of `calculations` (kpi_calculations rows).

    The scorecard holds the enabled cached KPIs only (real-time KPIs are read from
    kpi_calculations, never from a cache) and expires after the shortest of their TTLs.
    """
    cached = definitions.filter(pl.col("enabled") & (pl.col("calculation") == "cached"))
    schema = table_schema(report_metrics_cache)
    if cached.is_empty():
        return pl.DataFrame(schema=schema)
    expires_at = computed_at + dt.timedelta(minutes=int(cached["cache_ttl_minutes"].min()))
    rows = calculations.join(
        cached.select("kpi_key", "position", "name", "unit", "direction", "target"), on="kpi_key"
    ).sort("position")
    period = ["venue_id", "period_type", "period_start", "period_end"]
    entries = []
    for (venue_id, period_type, period_start, period_end), kpis in rows.group_by(period, maintain_order=True):
        scorecard = {
            "catalogue_hash": kpis["catalogue_hash"][0],
            "kpis": {
                kpi["kpi_key"]: {f: kpi[f] for f in SCORECARD_FIELDS} for kpi in kpis.iter_rows(named=True)
            },
        }
        entries.append(
            {
                "cache_key": cache_key(KPI_SCORECARD, venue_id, period_type, period_start),
                "metric": KPI_SCORECARD,
                "venue_id": venue_id,
                "period_type": period_type,
                "period_start": period_start,
                "period_end": period_end,
                "value_json": json.dumps(scorecard),
                "computed_at": computed_at,
                "expires_at": expires_at,
            }
        )
    return pl.DataFrame(entries, schema=schema).sort("cache_key")


def _live(now: dt.datetime) -> sa.ColumnElement[bool]:
    return report_metrics_cache.c.expires_at > now


def live_entry(database: Database, key: str, now: dt.datetime):
    """The decoded value of entry `key`, or None when there is none or it expired (expires_at <= now)."""
    table = report_metrics_cache
    found = database.read(
        sa.select(table.c.value_json).where(table.c.cache_key == key, _live(now)), {"value_json": pl.String()}
    )
    return json.loads(found["value_json"][0]) if found.height else None


def drop_expired(database: Database, now: dt.datetime) -> int:
    """Delete every entry expired at `now`; the number deleted."""
    table = report_metrics_cache
    expired = ~_live(now)
    count = database.scalar(sa.select(sa.func.count()).select_from(table).where(expired))
    database.replace(table, pl.DataFrame(schema=table_schema(table)), where=expired)
    return count


def period_kpis(
    database: Database,
    venue_id: str,
    period_type: str,
    period_start: dt.date,
    definitions: pl.DataFrame,
    now: dt.datetime,
) -> dict[str, dict]:
    """The figures of one venue's period by kpi_key (the kpi_calculations fields a report shows)."""
    key = cache_key(KPI_SCORECARD, venue_id, period_type, period_start)
    enabled = definitions.filter(pl.col("enabled"))
    cached = enabled.filter(pl.col("calculation") == "cached")["kpi_key"].to_list()
    scorecard = live_entry(database, key, now) if cached else None
    wanted = (
        enabled["kpi_key"].to_list()
        if scorecard is None
        else [k for k in enabled["kpi_key"] if k not in cached]
    )
    calculations = kpi_calculations.c
    rows = database.read_table(
        kpi_calculations,
        calculations.venue_id == venue_id,
        calculations.period_type == period_type,
        calculations.period_start == period_start,
        calculations.kpi_key.in_(wanted),
    )
    if scorecard is None and cached:
        entries = scorecard_entries(rows, definitions, now)
        if entries.height:
            database.replace(report_metrics_cache, entries, report_metrics_cache.c.cache_key == key)
            scorecard = json.loads(entries["value_json"][0])
    figures = {row["kpi_key"]: row for row in rows.iter_rows(named=True)}
    for kpi_key, fields in (scorecard or {}).get("kpis", {}).items():
        figures[kpi_key] = {"kpi_key": kpi_key, **fields}
    return figures
