"""Landing a pull of Stripe into the warehouse: upserts by Stripe id, quarantine, and the ledger.

A run covers nights (a partition window). Where it starts pulling is its cursor: the start of the
first night that must be pulled whole (never pulled, closed since its last pull, or re-opened by a
webhook event: connectors/stripe_late.py), else the latest `created` already landed in the window
less OVERLAP, so the open night's hourly pulls fetch only what is new and a re-run fetches again
what it fetched. Good records replace their earlier versions by id; records that fail the
contract go to raw_quarantine with the whole record, and leave a good version already landed in
place (a later good version of the same id takes the bad one's place in quarantine);
stripe_loads gets a row per night pulled.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from dataclasses import dataclass, field

import polars as pl
import sqlalchemy as sa

from backroom_reporting.connectors.stripe import Pulled, pull
from backroom_reporting.connectors.stripe_late import reopened_nights
from backroom_reporting.connectors.stripe_records import RULES, charge_ids, check, frame_of, landed_rows
from backroom_reporting.metrics.business_time import BusinessWindow, business_date
from backroom_reporting.warehouse.database import IN_LIST_CHUNK, Database
from backroom_reporting.warehouse.frames import parse_utc
from backroom_reporting.warehouse.tables.raw import RAW, raw_quarantine
from backroom_reporting.warehouse.tables.stripe import (
    stripe_charges,
    stripe_disputes,
    stripe_loads,
    stripe_payouts,
    stripe_refunds,
)
from backroom_reporting.warehouse.types import table_schema

LANDED = {t.name: t for t in (stripe_charges, stripe_refunds, stripe_disputes, stripe_payouts)}
# Records created shortly before the latest one landed may still have been in flight (Stripe's
# lists are eventually consistent): each incremental pull fetches them again.
OVERLAP = dt.timedelta(minutes=10)


@dataclass
class Landing:
    table: str
    window: BusinessWindow
    since: dt.datetime
    pulled: Pulled
    landed: int = 0
    quarantined: int = 0
    outside_window: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    reasons_by_night: dict[dt.date, dict[str, int]] = field(default_factory=dict)
    # This pull's records of each night: (landed, quarantined).
    pulled_by_night: dict[dt.date, tuple[int, int]] = field(default_factory=dict)
    nights: pl.DataFrame | None = None  # the stripe_loads rows written
    seconds: float = 0.0


def cursor(db: Database, table: str, window: BusinessWindow, as_of: dt.datetime) -> dt.datetime:
    """Where a pull of `window` starts (see the module's docstring)."""
    whole = set(reopened_nights(db, window, (table,)))
    ledger = db.read_columns(
        stripe_loads.c.business_date,
        stripe_loads.c.final,
        where=(stripe_loads.c.source_table == table)
        & stripe_loads.c.business_date.between(window.first_day, window.last_day),
    )
    closed_since = {
        day for day, final in ledger.iter_rows() if not final and BusinessWindow(day, day).end <= as_of
    }
    if whole | closed_since:
        return BusinessWindow(min(whole | closed_since), window.last_day).start
    landed = LANDED[table]
    latest = db.read(
        sa.select(sa.func.max(landed.c.created_at).label("latest")).where(
            landed.c.created_at >= window.start, landed.c.created_at < window.end
        ),
        {"latest": pl.Datetime("us", "UTC")},
    ).item()
    return window.start if latest is None else max(window.start, latest - OVERLAP)


def _charges_of(db: Database, records: list[dict]) -> dict[str, tuple[str, str]]:
    found = db.lookup(
        stripe_charges.c.charge_id,
        charge_ids(records),
        stripe_charges.c.venue_id,
        stripe_charges.c.booking_id,
    )
    return {charge: (venue, booking) for charge, venue, booking in found.iter_rows()}


def _in_window(records: list[dict], since: dt.datetime, until: dt.datetime) -> tuple[list[dict], int]:
    """Records created in [since, until), and those whose time cannot say (the contract catches
    them); a server that ignores the `created` filter cannot put rows into other nights' loads."""
    low, high = since.timestamp(), until.timestamp()
    kept = [r for r in records if not isinstance(r.get("created"), int) or low <= r["created"] < high]
    return kept, len(records) - len(kept)


def _chunks(values: list) -> list[list]:
    return [values[i : i + IN_LIST_CHUNK] for i in range(0, len(values), IN_LIST_CHUNK)]


def land(
    sdk,
    db: Database,
    table: str,
    window: BusinessWindow,
    as_of: dt.datetime,
    *,
    rate_limit_retries: int = 5,
    first_wait: float = 1.0,
) -> Landing:
    """Pull `table` for `window` from its cursor and land it (see the module's docstring)."""
    began = time.perf_counter()
    landed_at = dt.datetime.now(dt.UTC)
    since = cursor(db, table, window, as_of)
    pulled = pull(sdk, table, since, window.end, rate_limit_retries=rate_limit_retries, first_wait=first_wait)
    records, outside = _in_window(pulled.records, since, window.end)
    charges = _charges_of(db, records) if table in ("stripe_refunds", "stripe_disputes") else None
    rows = frame_of(table, records, charges)
    venues = db.read_columns(RAW["venues"].c.venue_id)["venue_id"]
    checked = check(table, rows, venues)
    good = landed_rows(table, checked.good, landed_at)
    quarantined = checked.quarantined.select(
        pl.lit(table).alias("source_table"),
        business_date(pl.col("created_at")).alias("business_date"),
        "record_id",
        "reason",
        "detail",
        "raw_values",
    )
    key = RULES[table].key
    # A good version replaces the one landed; a bad one is quarantined and leaves it in place
    # (never good overwritten by bad). Either replaces what the quarantine held for its id.
    good_ids, ids = good[key].to_list(), rows[key].drop_nulls().unique().to_list()
    unnamed = quarantined.filter(pl.col("record_id").is_null())["raw_values"].to_list()
    target, q = LANDED[table], raw_quarantine.c
    ours = q.source_table == table
    writes = [(target, good.clear(), target.c[key].in_(chunk)) for chunk in _chunks(good_ids)]
    writes += [(raw_quarantine, quarantined.clear(), ours & q.record_id.in_(chunk)) for chunk in _chunks(ids)]
    writes += [
        (raw_quarantine, quarantined.clear(), ours & q.raw_values.in_(chunk)) for chunk in _chunks(unnamed)
    ]
    writes += [(target, good, sa.false()), (raw_quarantine, quarantined, sa.false())]
    db.replace_many(writes)
    nights = _ledger(
        db, table, BusinessWindow(business_date_of(since), window.last_day), rows, as_of, landed_at, since
    )
    reasons = Counter(quarantined["reason"].to_list())
    landed_on = Counter(good["business_date"].to_list())
    kept_on = Counter(quarantined["business_date"].to_list())
    by_night: dict[dt.date, dict[str, int]] = {}
    for day, reason, count in quarantined.group_by("business_date", "reason").len().iter_rows():
        by_night.setdefault(day, {})[reason] = count
    return Landing(
        table=table,
        window=window,
        since=since,
        pulled=pulled,
        landed=good.height,
        quarantined=quarantined.height,
        outside_window=outside,
        reasons=dict(reasons),
        reasons_by_night=by_night,
        pulled_by_night={
            day: (landed_on.get(day, 0), kept_on.get(day, 0)) for day in nights["business_date"].to_list()
        },
        nights=nights,
        seconds=time.perf_counter() - began,
    )


def business_date_of(moment: dt.datetime) -> dt.date:
    return pl.select(business_date(pl.lit(moment).cast(pl.Datetime("us", "UTC")))).item()


def _ledger(
    db: Database,
    table: str,
    nights: BusinessWindow,
    rows: pl.DataFrame,
    as_of: dt.datetime,
    loaded_at: dt.datetime,
    since: dt.datetime,
) -> pl.DataFrame:
    """Write and return the stripe_loads rows of the nights pulled: what each holds now."""
    landed, q = LANDED[table], raw_quarantine.c
    held = db.read(
        sa.select(landed.c.business_date, sa.func.count().label("n"))
        .where(landed.c.business_date.between(nights.first_day, nights.last_day))
        .group_by(landed.c.business_date),
        {"business_date": pl.Date(), "n": pl.Int64()},
    )
    kept = db.read(
        sa.select(q.business_date, sa.func.count().label("n"))
        .where(q.source_table == table, q.business_date.between(nights.first_day, nights.last_day))
        .group_by(q.business_date),
        {"business_date": pl.Date(), "n": pl.Int64()},
    )
    parsed = rows.select(business_date(parse_utc(pl.col("created_at"))).alias("d"))["d"]
    counts = Counter(parsed.drop_nulls().to_list())
    held_by, kept_by = dict(held.iter_rows()), dict(kept.iter_rows())
    ledger = pl.DataFrame(
        [
            {
                "source_table": table,
                "business_date": day,
                "loaded_at": loaded_at,
                "as_of": as_of,
                "final": BusinessWindow(day, day).end <= as_of,
                "since": max(since, BusinessWindow(day, day).start),
                "rows_pulled": counts.get(day, 0),
                "rows_landed": held_by.get(day, 0),
                "rows_quarantined": kept_by.get(day, 0),
            }
            for day in nights.days
        ],
        schema=table_schema(stripe_loads),
    )
    db.replace(
        stripe_loads,
        ledger,
        (stripe_loads.c.source_table == table)
        & stripe_loads.c.business_date.between(nights.first_day, nights.last_day),
    )
    return ledger
