"""Load guards: a circuit breaker per source table, tripped before anything is replaced.

A source can go wrong wholesale: a table emptied by a failed export, a snapshot half
copied, a night whose scans never arrived. Loading it would replace good rows with its
emptiness. Each load is weighed against what the warehouse already holds; a load that
trips a guard replaces nothing (that night, or that snapshot, keeps its rows), and the
guard's sentence names the table and the figures. An engineer who knows the change is real
accepts it with the run tag `backroom/accept_changes` (`backroom rebuild --accept-changes`).
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass

import polars as pl

# Run tag: source tables whose tripped guards are accepted as real changes ("all" for all).
ACCEPT_TAG = "backroom/accept_changes"
# A snapshot may lose at most this share of its rows in one load.
MAX_SHRINK = 0.10
# A night's rows may fall to no less than this share of the same weekday's usual count ...
COLLAPSE_SHARE = 0.25
# ... judged on the same weekday of this many weeks before (their median, so one bank-holiday
# Sunday does not make the closed Sundays around it look collapsed), once it is this many rows.
COLLAPSE_WEEKS = 4
COLLAPSE_MIN_ROWS = 20
# A load with more of its rows quarantined than its table's limit (Rules.quarantine_limit)
# is refused, but never for this many bad rows or fewer: on a quiet night they are noise.
QUARANTINE_NOISE = 3


@dataclass(frozen=True)
class Trip:
    """A guard that stopped a load: which, and why, in one sentence."""

    guard: str
    sentence: str


def _day(night: dt.date | None) -> str:
    return f" on {night:%A %-d %B %Y}" if night else ""


def _advice(table: str, night: dt.date | None) -> str:
    scope = f"--from {night.isoformat()} " if night else "--from <a night> "
    return (
        f"the previous rows were kept. If the change is real, accept it with "
        f"`backroom rebuild {scope}--accept-changes {table}`"
    )


def too_many_quarantined(quarantined: int, read: int, limit: float) -> bool:
    """Whether a load's quarantined rows say the source is broken, not merely noisy."""
    return quarantined > QUARANTINE_NOISE and quarantined > read * limit


def snapshot_trip(table: str, before: int, after: int, quarantined: int, limit: float) -> Trip | None:
    """A snapshot load (`after` good rows, `quarantined` refused) against the `before` rows held."""
    read = after + quarantined
    if before and read == 0:
        return Trip(
            "empty_source",
            f"{table} is empty in the booking system but the warehouse holds {before:,} rows: "
            f"{_advice(table, None)}.",
        )
    if before and after < before * (1 - MAX_SHRINK):
        return Trip(
            "shrinking_snapshot",
            f"{table} would shrink from {before:,} to {after:,} rows (more than {MAX_SHRINK:.0%}): "
            f"{_advice(table, None)}.",
        )
    if too_many_quarantined(quarantined, read, limit):
        return Trip(
            "quarantine_rate",
            f"{table}: {quarantined:,} of {read:,} rows failed the contract ({quarantined / read:.1%}, "
            f"more than its limit of {limit:.0%}): {_advice(table, None)}.",
        )
    return None


def usual_counts(history: pl.DataFrame, nights: list[dt.date]) -> dict[dt.date, float]:
    """The median rows loaded on the same weekday of the COLLAPSE_WEEKS weeks before each night,
    from raw_loads rows (business_date, rows_loaded) of one table; nights with too few weeks of
    history have none."""
    loaded = dict(history.select("business_date", "rows_loaded").iter_rows())
    usual = {}
    for night in nights:
        past = [loaded.get(night - dt.timedelta(weeks=w)) for w in range(1, COLLAPSE_WEEKS + 1)]
        known = [count for count in past if count is not None]
        if len(known) == COLLAPSE_WEEKS:
            usual[night] = statistics.median(known)
    return usual


def night_trip(
    table: str,
    night: dt.date,
    held: int,
    loaded: int,
    quarantined: int,
    usual: float | None,
    table_empty: bool,
    limit: float,
) -> Trip | None:
    """A night of a fact table: `loaded` good rows and `quarantined` refused, against the `held`
    rows the warehouse has for it and the `usual` count of its weekday."""
    read = loaded + quarantined
    if table_empty and held:
        return Trip(
            "empty_source",
            f"{table} is empty in the booking system but the warehouse holds {held:,} rows{_day(night)}: "
            f"{_advice(table, night)}.",
        )
    if usual is not None and usual >= COLLAPSE_MIN_ROWS and loaded < usual * COLLAPSE_SHARE:
        return Trip(
            "collapsed_night",
            f"{table}{_day(night)} has {loaded:,} rows where the same night of the last "
            f"{COLLAPSE_WEEKS} weeks usually had {usual:,.0f}: {_advice(table, night)}.",
        )
    if too_many_quarantined(quarantined, read, limit):
        return Trip(
            "quarantine_rate",
            f"{table}{_day(night)}: {quarantined:,} of {read:,} rows failed the contract "
            f"({quarantined / read:.1%}, more than its limit of {limit:.0%}): {_advice(table, night)}.",
        )
    return None


def accepted(tags: dict[str, str], table: str) -> bool:
    """Whether the run accepts `table`'s changes, tripped guards and all."""
    names = {name.strip() for name in tags.get(ACCEPT_TAG, "").split(",")}
    return table in names or "all" in names
