"""Loading the booking system into the raw layer, one window or one snapshot at a time.

A fact table's window is read from the source by its business-time column, checked
against the contract, and written with its quarantined rows and its entries in the
ledger of loads (raw_loads: per night, when, whether final, and the fingerprint of the
source rows) in one transaction that first deletes what the window held before (a range,
a chunk of nights at a time). Snapshot tables are replaced whole when their source
changed (raw_snapshot_loads). Customers erased on request are left out before the rows
are checked (privacy/erased.py): their customers row is not loaded, and their id on a fact
is replaced as erasure replaces it.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import polars as pl
import sqlalchemy as sa

from backroom_reporting.ingest.fingerprints import (
    EMPTY,
    night_fingerprints,
    snapshot_fingerprint,
    with_nights,
)
from backroom_reporting.ingest.guards import COLLAPSE_WEEKS, Trip, night_trip, snapshot_trip, usual_counts
from backroom_reporting.ingest.validate import SOURCE_ORDER, Checked, validate
from backroom_reporting.metrics.business_time import BusinessWindow, business_date, with_business_date
from backroom_reporting.privacy.erased import erased_hashes, forget_erased
from backroom_reporting.privacy.retention import TOMBSTONE
from backroom_reporting.warehouse.database import Database, DuplicateKey
from backroom_reporting.warehouse.frames import coerce
from backroom_reporting.warehouse.source_contract import CONTRACT, Rules
from backroom_reporting.warehouse.tables.raw import RAW, raw_loads, raw_quarantine, raw_snapshot_loads
from backroom_reporting.warehouse.types import table_schema


@dataclass
class LoadResult:
    table: str
    window: str
    loaded: int
    quarantined: int
    reasons: dict[str, int] = field(default_factory=dict)
    unattributable: int = 0
    seconds: float = 0.0
    # Fact tables: one row per night of the window, as written to raw_loads, and the
    # reasons rows of each night were quarantined for.
    nights: pl.DataFrame | None = None
    reasons_by_night: dict[dt.date, dict[str, int]] = field(default_factory=dict)
    # Snapshot tables: the source was as the last load found it, so nothing was written.
    unchanged: bool = False
    # Guards that stopped the load (by night; None for a snapshot): what they kept, and why.
    trips: dict[dt.date | None, Trip] = field(default_factory=dict)
    # Guards that tripped but whose change the run accepted.
    accepted: dict[dt.date | None, Trip] = field(default_factory=dict)

    @property
    def read(self) -> int:
        return self.loaded + self.quarantined

    @property
    def quarantine_rate(self) -> float:
        return self.quarantined / self.read if self.read else 0.0


# No table comes from a connector's landing table: the booking system is the whole source.
NOTHING_LANDED: Mapping[str, sa.Table] = MappingProxyType({})


# --- reading the source -------------------------------------------------------------------


def _source_select(source: Database, rules: Rules, table: sa.Table | None = None) -> sa.Select:
    """All contract columns of `table` (the booking system's, else a landing table of the same
    columns) plus storage order. SQLite columns are read as text: its columns hold whatever was
    written, and text always reads, so a bad value reaches validation instead of breaking the read."""
    table = rules.table if table is None else table
    columns = [table.c[c.name] for c in rules.table.columns]
    if source.dialect == "sqlite":
        columns = [sa.cast(c, sa.Text).label(c.name) for c in columns]
        order = sa.literal_column("rowid")
    else:
        order = sa.literal_column("ctid")
    return sa.select(*columns, sa.func.row_number().over(order_by=order).label(SOURCE_ORDER))


def read_source_window(
    source: Database, rules: Rules, window: BusinessWindow, table: sa.Table | None = None
) -> pl.DataFrame:
    """Source rows of a fact table (or of `table`, a landing table of its columns) that this
    window owns.

    On PostgreSQL the column is typed and filtered exactly. On SQLite the time is text in
    whatever ISO form the writer chose, so rows are fetched by date prefix with a day's
    margin (index-friendly) and then filtered exactly once parsed. A row whose time has a
    valid date prefix but does not parse is owned by the window holding that date.
    """
    table = rules.table if table is None else table
    column = table.c[rules.business_time]
    query = _source_select(source, rules, table)
    if source.dialect == "postgresql":
        return source.read(query.where(column >= window.start, column < window.end))
    as_text = sa.type_coerce(column, sa.Text)
    low = (window.first_day - dt.timedelta(days=1)).isoformat()
    high = (window.last_day + dt.timedelta(days=2)).isoformat()
    rows = source.read(query.where(as_text >= low, as_text < high))
    parsed, _ = coerce(rows.select(rules.business_time), {rules.business_time: pl.Datetime("us", "UTC")})
    instant = parsed[rules.business_time]
    # An empty SQLite result has no column types: cast before treating the time as text.
    prefix_day = (
        rows[rules.business_time].cast(pl.String).str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)
    )
    owned = (instant >= window.start) & (instant < window.end)
    unreadable_here = instant.is_null() & prefix_day.is_between(window.first_day, window.last_day)
    return rows.filter(owned.fill_null(False) | unreadable_here.fill_null(False))


def read_source_unattributable(source: Database, rules: Rules, table: sa.Table | None = None) -> pl.DataFrame:
    """Fact rows no business day can own: the time is missing, or not even a date.

    Every load looks for them, so the search must not read the whole table: PostgreSQL
    types the column, and on SQLite `_undated` finds them through the column's index."""
    table = rules.table if table is None else table
    column = table.c[rules.business_time]
    query = _source_select(source, rules, table)
    if source.dialect == "postgresql":
        return source.read(query.where(column.is_(None)))
    return source.read(query.where(_undated(source, rules, table)))


# Appended to a text prefix, the bound above every text that starts with it.
MAX_CODE_POINT = 0x10FFFF


def _undated(source: Database, rules: Rules, table: sa.Table) -> sa.ColumnElement[bool]:
    """SQLite rows whose time is missing or whose first 10 characters are not a date, as
    index lookups: the distinct prefixes are walked one seek each (a few hundred for a year
    of nights, where testing every row would read the whole table), and the undated ones
    become ranges. A text shorter than a date is its own prefix."""
    column = table.c[rules.business_time]
    table, name = table.name, rules.business_time
    as_text = sa.type_coerce(column, sa.Text)
    prefix = sa.func.substr(as_text, 1, 10)
    found = source.read(
        f"""
        WITH RECURSIVE prefix(p) AS (
            SELECT substr(MIN({name}), 1, 10) FROM {table} WHERE {name} >= ''
            UNION ALL
            SELECT (
                SELECT substr(MIN({name}), 1, 10) FROM {table}
                WHERE {name} > CASE WHEN length(p) < 10 THEN p ELSE p || char({MAX_CODE_POINT}) END
            )
            FROM prefix WHERE p IS NOT NULL
        )
        SELECT p FROM prefix WHERE p IS NOT NULL AND date(p) IS NULL
        """
    )
    ranges = [
        sa.and_(as_text >= p, as_text < sa.literal(p) + sa.func.char(MAX_CODE_POINT), prefix == p)
        for p in (found["p"] if found.height else [])
    ]
    # Numbers sort before any text and blobs after it: tested one by one, when there are any.
    others = source.read(
        f"SELECT (SELECT MIN({name}) FROM {table} WHERE {name} < '') IS NOT NULL AS numbers, "
        f"(SELECT MAX({name}) FROM {table} WHERE {name} >= x'') IS NOT NULL AS blobs"
    ).row(0, named=True)
    undated = sa.func.date(prefix).is_(None)
    if others["numbers"]:
        ranges.append(sa.and_(as_text < "", undated))
    if others["blobs"]:
        ranges.append(sa.and_(as_text >= sa.literal_column("x''"), undated))
    return sa.or_(column.is_(None), *ranges)


# --- references ---------------------------------------------------------------------------


def known_references(
    source: Database,
    warehouse: Database,
    rules: Rules,
    rows: pl.DataFrame,
    landed: Mapping[str, sa.Table] = NOTHING_LANDED,
) -> dict[str, pl.Series]:
    """For each referenced table, which of the referenced keys exist.

    Snapshot tables (venues, customers, ...) are checked against what the warehouse has
    loaded, so every loaded fact points at a loaded row. Fact tables (bookings, ticket
    orders) are checked against the source: a deposit is paid weeks before its booking's
    night, so the booking sits in another partition that may not be loaded yet. The
    tombstone stands for a customer no longer named (erased, or past retention), so it is
    a known customer. A fact table a connector lands (`landed`, e.g. Fatsoma's orders for
    ticket_sales) is checked against its landing table in the warehouse instead.
    """
    known: dict[str, pl.Series] = {}
    for column, target in rules.references.items():
        wanted = rows[column].cast(pl.String).drop_nulls().unique()
        target_rules = CONTRACT[target]
        if target_rules.is_fact:
            facts = (warehouse, landed[target]) if target in landed else (source, target_rules.table)
            found = facts[0].lookup(facts[1].c[target_rules.key], wanted)
        else:
            found = warehouse.lookup(RAW[target].c[target_rules.key], wanted)
        previous = known.get(target, pl.Series(dtype=pl.String))
        gone = [TOMBSTONE] if target == "customers" else []
        known[target] = pl.concat(
            [previous, found[target_rules.key], pl.Series(gone, dtype=pl.String)]
        ).unique()
    return known


def venue_settings(warehouse: Database) -> pl.DataFrame:
    venues = RAW["venues"]
    return warehouse.read_table(venues).select("venue_id", "timezone", "business_day_cutoff")


# --- writing ------------------------------------------------------------------------------


def _quarantine_rows(rules: Rules, checked: Checked, day: pl.Expr | None) -> pl.DataFrame:
    rows = checked.quarantined
    return rows.select(
        pl.lit(rules.name).alias("source_table"),
        (day if day is not None else pl.lit(None, pl.Date)).alias("business_date"),
        "record_id",
        "reason",
        "detail",
        "raw_values",
    )


def _owning_day(rules: Rules) -> pl.Expr:
    """The business day (platform cutoff) whose window found a quarantined row: from its
    time when it parses, else from its date prefix."""
    parsed = business_date(pl.col(rules.business_time))
    prefix = (
        pl.col("raw_values")
        .str.json_path_match(f"$.{rules.business_time}")
        .str.slice(0, 10)
        .str.to_date("%Y-%m-%d", strict=False)
    )
    return pl.coalesce(parsed, prefix)


def _quarantine_of(rules: Rules, days: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
    return sa.and_(raw_quarantine.c.source_table == rules.name, days)


def _ledger(
    rules: Rules,
    window: BusinessWindow,
    rows: pl.DataFrame,
    good: pl.DataFrame,
    quarantined: pl.DataFrame,
    as_of: dt.datetime,
    loaded_at: dt.datetime,
) -> pl.DataFrame:
    """The raw_loads rows of a window: one per night, empty nights included."""
    nights = pl.DataFrame({"business_date": window.days}, schema={"business_date": pl.Date()})
    counts = [
        night_fingerprints(rows, rules),
        good.group_by(business_date(pl.col(rules.business_time)).alias("business_date")).agg(
            pl.len().alias("rows_loaded")
        ),
        quarantined.group_by("business_date").agg(pl.len().alias("rows_quarantined")),
    ]
    for frame in counts:
        nights = nights.join(frame, on="business_date", how="left")
    ends = pl.Series([BusinessWindow(day, day).end for day in window.days], dtype=pl.Datetime("us", "UTC"))
    return nights.with_columns(
        pl.lit(rules.name).alias("source_table"),
        pl.lit(loaded_at).alias("loaded_at"),
        pl.lit(as_of).alias("as_of"),
        (ends <= as_of).alias("final"),
        pl.col("source_rows", "rows_loaded", "rows_quarantined").fill_null(0),
        pl.col("fingerprint").fill_null(EMPTY),
    ).select(table_schema(raw_loads).keys())


def load_window(
    source: Database,
    warehouse: Database,
    rules: Rules,
    window: BusinessWindow,
    as_of: dt.datetime | None = None,
    accept_changes: bool = False,
    landed: Mapping[str, sa.Table] = NOTHING_LANDED,
) -> LoadResult:
    """Replace a fact table's window in the raw layer (and the table's unattributable rows).

    The rows are read from the table of the contract in `source`, or, when `landed` names a
    landing table in the warehouse for it (a connector's, docs/connectors.md), from there;
    then the source's own table is not read at all.

    `as_of` is the moment the load stands for (default now): nights that closed by then are
    recorded as final, the open night as provisional. A range is loaded a chunk of nights
    at a time, each in a transaction of its own, so a year's backfill holds a few weeks of
    rows at once; like separate nightly loads, a chunk sees the ids earlier chunks loaded.

    A night that trips a load guard (ingest/guards.py) keeps what the warehouse held for it,
    unless `accept_changes`."""
    began = time.perf_counter()
    loaded_at = dt.datetime.now(dt.UTC)
    as_of = (as_of or loaded_at).astimezone(dt.UTC)
    erased = erased_hashes(warehouse)
    table = landed.get(rules.name, rules.table)
    if rules.name in landed:
        source = warehouse
    loose = forget_erased(read_source_unattributable(source, rules, table), rules, erased)
    unattributable = validate(loose, rules, known_references(source, warehouse, rules, loose, landed))
    if unattributable.good.height:  # parse_utc accepts only what SQLite's date() accepts
        raise AssertionError(f"{rules.name}: rows with unreadable times passed validation")
    lost = _quarantine_rows(rules, unattributable, None)
    warehouse.replace(raw_quarantine, lost, _quarantine_of(rules, raw_quarantine.c.business_date.is_(None)))
    ledgers, reasons, by_night, venues = [], Counter(), {}, venue_settings(warehouse)
    trips: dict[dt.date, Trip] = {}
    source_empty = source.scalar(sa.select(sa.literal(1)).select_from(table).limit(1)) is None
    for chunk in window.chunks(venues.height):
        ledger, found, tripped = _load_chunk(
            source,
            warehouse,
            rules,
            chunk,
            venues,
            as_of,
            loaded_at,
            source_empty,
            accept_changes,
            erased,
            table,
            landed,
        )
        ledgers.append(ledger)
        # Counted, not kept: a frame of the chunk's rows would hold all their memory.
        reasons.update(found["reason"].to_list())
        by_night |= _reasons_by_night(found)
        trips |= tripped
    reasons.update(lost["reason"].to_list())
    nights = pl.concat(ledgers, how="vertical_relaxed")
    return LoadResult(
        table=rules.name,
        window=str(window),
        loaded=int(nights["rows_loaded"].sum()),
        quarantined=sum(reasons.values()),
        reasons=dict(reasons),
        unattributable=lost.height,
        seconds=time.perf_counter() - began,
        nights=nights,
        reasons_by_night=by_night,
        # Tripped nights kept their rows, unless the run accepted the changes.
        trips={} if accept_changes else trips,
        accepted=trips if accept_changes else {},
    )


def _held_and_usual(
    warehouse: Database, rules: Rules, window: BusinessWindow
) -> tuple[dict[dt.date, int], dict[dt.date, float]]:
    """Rows the warehouse holds for each night of `window`, and each night's usual count."""
    raw_table = RAW[rules.name]
    held = warehouse.read(
        sa.select(raw_table.c.business_date, sa.func.count().label("rows"))
        .where(raw_table.c.business_date.between(window.first_day, window.last_day))
        .group_by(raw_table.c.business_date),
        {"business_date": pl.Date(), "rows": pl.Int64()},
    )
    since = window.first_day - dt.timedelta(weeks=COLLAPSE_WEEKS)
    history = warehouse.read_columns(
        raw_loads.c.business_date,
        raw_loads.c.rows_loaded,
        where=(raw_loads.c.source_table == rules.name)
        & raw_loads.c.business_date.between(since, window.last_day),
    )
    return dict(held.iter_rows()), usual_counts(history, window.days)


def _load_chunk(
    source: Database,
    warehouse: Database,
    rules: Rules,
    window: BusinessWindow,
    venues: pl.DataFrame,
    as_of: dt.datetime,
    loaded_at: dt.datetime,
    source_empty: bool,
    accept_changes: bool,
    erased: frozenset[str],
    table: sa.Table,
    landed: Mapping[str, sa.Table],
) -> tuple[pl.DataFrame, pl.DataFrame, dict[dt.date, Trip]]:
    """Load the nights of `window` in one transaction: their raw_loads rows, quarantined rows,
    and the guards that stopped some nights (those keep what the warehouse held).

    The ledger fingerprints the source rows as they are; what is checked and written has
    the erased customers' ids replaced."""
    raw_table = RAW[rules.name]
    column = raw_table.c[rules.business_time]
    rows = with_nights(read_source_window(source, rules, window, table), rules)
    loadable = forget_erased(rows, rules, erased)
    known = known_references(source, warehouse, rules, loadable, landed)
    in_window = sa.and_(column >= window.start, column < window.end)

    def load(loaded_elsewhere: pl.DataFrame | None) -> tuple[pl.DataFrame, pl.DataFrame, dict[dt.date, Trip]]:
        checked = validate(loadable, rules, known, loaded_elsewhere=loaded_elsewhere)
        good = with_business_date(checked.good.drop(rules.not_kept), rules.business_time, venues)
        quarantined = _quarantine_rows(rules, checked, _owning_day(rules))
        ledger = _ledger(rules, window, rows, checked.good, quarantined, as_of, loaded_at)
        held, usual = _held_and_usual(warehouse, rules, window)
        trips = {
            night["business_date"]: trip
            for night in ledger.iter_rows(named=True)
            if (
                trip := night_trip(
                    rules.name,
                    night["business_date"],
                    held.get(night["business_date"], 0),
                    night["rows_loaded"],
                    night["rows_quarantined"],
                    usual.get(night["business_date"]),
                    source_empty,
                    rules.quarantine_limit,
                )
            )
        }
        kept = [] if accept_changes else sorted(trips)
        # Each tripped night keeps its rows: its own time span is left out of every replacement.
        spans = [BusinessWindow(day, day) for day in kept]
        replaced = sa.and_(in_window, *(sa.not_((column >= n.start) & (column < n.end)) for n in spans))
        loads = sa.and_(
            raw_loads.c.source_table == rules.name,
            raw_loads.c.business_date.between(window.first_day, window.last_day),
            raw_loads.c.business_date.not_in(kept),
        )
        nights = raw_quarantine.c.business_date.between(window.first_day, window.last_day)
        warehouse.replace_many(
            [
                (raw_table, good.filter(~business_date(pl.col(rules.business_time)).is_in(kept)), replaced),
                (
                    raw_loads,
                    ledger.filter(~pl.col("business_date").is_in(kept)),
                    loads,
                ),
                (
                    raw_quarantine,
                    quarantined.filter(~pl.col("business_date").is_in(kept)),
                    _quarantine_of(rules, nights & raw_quarantine.c.business_date.not_in(kept)),
                ),
            ]
        )
        return ledger, quarantined, trips

    try:
        return load(None)
    except DuplicateKey as clash:
        # A key loaded for another night is rare; the raw table's primary key finds it, and
        # only then are the keys looked up (a night's 30,000 door scans at 25 venues).
        if clash.table != raw_table.name:
            raise
        elsewhere = warehouse.lookup(
            raw_table.c[rules.key],
            rows[rules.key].cast(pl.String),
            raw_table.c.business_date,
            where=sa.not_(in_window),
        )
        return load(elsewhere)


def _reasons_by_night(quarantined: pl.DataFrame) -> dict[dt.date, dict[str, int]]:
    found: dict[dt.date, dict[str, int]] = {}
    for day, reason, count in quarantined.group_by("business_date", "reason").len().iter_rows():
        found.setdefault(day, {})[reason] = count
    return found


def load_snapshot(
    source: Database,
    warehouse: Database,
    rules: Rules,
    accept_changes: bool = False,
    landed: Mapping[str, sa.Table] = NOTHING_LANDED,
) -> LoadResult:
    """Replace a snapshot table (venues, customers, events, tables, staff) whole, unless its
    source rows and the snapshots they refer to are as its last load found them: the
    open night's hourly refresh reloads every snapshot, and most hours nothing changed.
    A load that trips a guard (emptied, shrunk, mostly bad) replaces nothing, unless
    `accept_changes`.

    `landed` may name a landing table in the warehouse whose rows join the source's (a
    connector's events, docs/connectors.md); a landed row replaces the source's row of the
    same id."""
    began = time.perf_counter()
    rows = source.read(_source_select(source, rules))
    if rules.name in landed:
        rows = _with_landed(rows, warehouse.read(_source_select(warehouse, rules, landed[rules.name])), rules)
    recorded = warehouse.read_table(raw_snapshot_loads)  # in source_table order
    snapshots = {t for t in rules.references.values() if not CONTRACT[t].is_fact}
    referenced = recorded.filter(pl.col("source_table").is_in(snapshots))["fingerprint"].to_list()
    fingerprint = snapshot_fingerprint(rows, rules, referenced)
    last = recorded.filter(pl.col("source_table") == rules.name)
    if last.height and last["fingerprint"][0] == fingerprint and _still_holds(warehouse, rules, last):
        return LoadResult(
            table=rules.name,
            window="snapshot",
            loaded=last["rows_loaded"][0],
            quarantined=last["rows_quarantined"][0],
            reasons=_snapshot_reasons(warehouse, rules),
            seconds=time.perf_counter() - began,
            unchanged=True,
        )
    # Fingerprinted as the source has them; checked and written without the erased customers.
    loadable = forget_erased(rows, rules, erased_hashes(warehouse))
    checked = validate(loadable, rules, known_references(source, warehouse, rules, loadable, landed))
    quarantined = _quarantine_rows(rules, checked, None)
    held = warehouse.scalar(sa.select(sa.func.count()).select_from(RAW[rules.name]))
    trip = snapshot_trip(rules.name, held, checked.good.height, quarantined.height, rules.quarantine_limit)
    result = LoadResult(
        table=rules.name,
        window="snapshot",
        loaded=checked.good.height,
        quarantined=quarantined.height,
        reasons=dict(Counter(quarantined["reason"].to_list())),
        trips={None: trip} if trip and not accept_changes else {},
        accepted={None: trip} if trip and accept_changes else {},
    )
    if result.trips:
        result.seconds = time.perf_counter() - began
        return result
    ledger = pl.DataFrame(
        [
            {
                "source_table": rules.name,
                "loaded_at": dt.datetime.now(dt.UTC),
                "source_rows": rows.height,
                "rows_loaded": checked.good.height,
                "rows_quarantined": quarantined.height,
                "fingerprint": fingerprint,
            }
        ],
        schema=table_schema(raw_snapshot_loads),
    )
    warehouse.replace_many(
        [
            (RAW[rules.name], checked.good.drop(rules.not_kept), None),
            (raw_quarantine, quarantined, _quarantine_of(rules, raw_quarantine.c.business_date.is_(None))),
            (raw_snapshot_loads, ledger, raw_snapshot_loads.c.source_table == rules.name),
        ]
    )
    result.seconds = time.perf_counter() - began
    return result


def _with_landed(rows: pl.DataFrame, landed: pl.DataFrame, rules: Rules) -> pl.DataFrame:
    """The source's rows without those a landed row replaces, then the landed rows, in that
    storage order."""
    kept = rows.filter(~pl.col(rules.key).cast(pl.String).is_in(landed[rules.key].cast(pl.String).implode()))
    after = landed.with_columns(pl.col(SOURCE_ORDER) + (rows[SOURCE_ORDER].max() or 0))
    return pl.concat([kept, after], how="vertical_relaxed")


def _still_holds(warehouse: Database, rules: Rules, last: pl.DataFrame) -> bool:
    """The raw table still holds the rows the last load wrote (nobody emptied it since)."""
    count = warehouse.scalar(sa.select(sa.func.count()).select_from(RAW[rules.name]))
    return count == last["rows_loaded"][0]


def _snapshot_reasons(warehouse: Database, rules: Rules) -> dict[str, int]:
    """The quarantine reasons of a snapshot table's rows, as its last load recorded them."""
    q = raw_quarantine.c
    found = warehouse.read(
        sa.select(q.reason, sa.func.count().label("rows"))
        .where(_quarantine_of(rules, q.business_date.is_(None)))
        .group_by(q.reason),
        {"reason": pl.String(), "rows": pl.Int64()},
    )
    return dict(found.iter_rows())


def earliest_business_day(source: Database) -> dt.date | None:
    """The first business day any fact of the source belongs to (presales and deposits
    come weeks before the first night), by the platform's cutoff."""
    firsts = []
    for rules in CONTRACT.values():
        if rules.is_fact:
            column = rules.table.c[rules.business_time]
            earliest = source.read(sa.select(sa.func.min(column).label("t")), {"t": pl.Datetime("us", "UTC")})
            firsts.extend(earliest.select(business_date(pl.col("t")))["t"].drop_nulls().to_list())
    return min(firsts, default=None)
