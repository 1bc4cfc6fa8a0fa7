"""Which nights of the booking system changed since the raw layer loaded them, and whether
a snapshot table did.

A night's fingerprint is the SHA-256 of its source rows (every contract column as
text, sorted), per fact table. The raw layer records it with every load (raw_loads);
each morning the closing run compares the source's fingerprints of recent nights with
the recorded ones, and reloads only the nights whose rows changed (a refund or feedback
that arrived after the night, a corrected booking). A snapshot table's fingerprint
(raw_snapshot_loads) lets its hourly reload skip the write when nothing changed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping

import polars as pl
import sqlalchemy as sa

from backroom_reporting.ingest.validate import SOURCE_ORDER
from backroom_reporting.metrics.business_time import BusinessWindow, business_date
from backroom_reporting.warehouse.database import Database
from backroom_reporting.warehouse.frames import coerce
from backroom_reporting.warehouse.source_contract import CONTRACT, Rules
from backroom_reporting.warehouse.tables.raw import raw_loads

NIGHT = "_night"


def with_nights(rows: pl.DataFrame, rules: Rules) -> pl.DataFrame:
    """Source rows with the night (platform cutoff) each belongs to: from its time when it
    parses, else from the date its text starts with (null when even that is unreadable)."""
    column = rules.business_time
    parsed, _ = coerce(rows.select(column), {column: pl.Datetime("us", "UTC")})
    prefix = rows[column].cast(pl.String).str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)
    night = pl.select(pl.coalesce(business_date(pl.lit(parsed[column])), pl.lit(prefix))).to_series()
    return rows.with_columns(night.alias(NIGHT))


def _digest(rows: pl.DataFrame) -> str:
    """SHA-256 of the rows written out as CSV, in their order."""
    return hashlib.sha256(rows.write_csv(null_value="\\N").encode()).hexdigest()


def _as_text(rows: pl.DataFrame, rules: Rules, *extra: str) -> pl.DataFrame:
    return rows.select(*extra, *(pl.col(c.name).cast(pl.String) for c in rules.table.columns))


def night_fingerprints(rows: pl.DataFrame, rules: Rules) -> pl.DataFrame:
    """business_date, source_rows, fingerprint of each night present in `rows` (source rows
    with their NIGHT column; other helper columns are ignored)."""
    columns = [c.name for c in rules.table.columns]
    text = _as_text(rows, rules, NIGHT)
    found = []
    for (night,), group in text.filter(pl.col(NIGHT).is_not_null()).group_by(NIGHT):
        ordered = group.drop(NIGHT).sort(columns, nulls_last=True)
        found.append({"business_date": night, "source_rows": ordered.height, "fingerprint": _digest(ordered)})
    schema = {"business_date": pl.Date(), "source_rows": pl.Int64(), "fingerprint": pl.String()}
    return pl.DataFrame(found, schema=schema).sort("business_date")


def snapshot_fingerprint(rows: pl.DataFrame, rules: Rules, referenced: list[str]) -> str:
    """The fingerprint of a snapshot table's load: its source rows (every contract column as
    text) in storage order, which decides among duplicate ids, and the recorded fingerprints
    of the snapshots they refer to, whose rows decide which references are known."""
    own = _digest(_as_text(rows.sort(SOURCE_ORDER), rules))
    return hashlib.sha256("".join([own, *referenced]).encode()).hexdigest()


def recorded_fingerprints(warehouse: Database, window: BusinessWindow) -> pl.DataFrame:
    """source_table, business_date, fingerprint of the raw layer's latest load of each night."""
    return warehouse.read_columns(
        raw_loads.c.source_table,
        raw_loads.c.business_date,
        raw_loads.c.fingerprint,
        where=raw_loads.c.business_date.between(window.first_day, window.last_day),
    )


def changed_nights(
    source: Database,
    warehouse: Database,
    window: BusinessWindow,
    landed: Mapping[str, sa.Table] | None = None,
) -> dict[dt.date, list[str]]:
    """The nights of `window` whose source rows differ from what the raw layer last loaded
    (or that it never loaded), with the fact tables that differ. `landed` names the fact
    tables loaded from a connector's landing table in the warehouse instead of the source."""
    from backroom_reporting.ingest.load import read_source_window

    recorded = recorded_fingerprints(warehouse, window)
    changed: dict[dt.date, list[str]] = {}
    for name, rules in CONTRACT.items():
        if not rules.is_fact:
            continue
        table = (landed or {}).get(name)
        rows = (
            read_source_window(source, rules, window)
            if table is None
            else read_source_window(warehouse, rules, window, table)
        )
        now = night_fingerprints(with_nights(rows, rules), rules)
        then = recorded.filter(pl.col("source_table") == name)
        for day in window.days:
            current = now.filter(pl.col("business_date") == day)["fingerprint"]
            loaded = then.filter(pl.col("business_date") == day)["fingerprint"]
            if loaded.is_empty() or (current[0] if current.len() else EMPTY) != loaded[0]:
                changed.setdefault(day, []).append(name)
    return dict(sorted(changed.items()))


# The fingerprint of a night without rows: what a load of it records.
EMPTY = hashlib.sha256(b"").hexdigest()
