"""The live night: a venue's open night as the door and the tills record it, kept up to date in
the browser without reloading (docs/portal.md, "The live night").

GET /live shows the figures; its script opens GET /live/stream, Server-Sent Events that look
at the night's raw rows every POLL_EVERY seconds as the signed-in person (a cheap fingerprint;
the rows themselves only when it changed) and send the figures whenever they change. The raw
rows are what the open-night refresh loads, so a scan shows here within a poll of landing in
the warehouse. Each poll checks the session again: a
session ended, or an account that no longer covers the venue, ends the stream with the reason.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated

import polars as pl
import sqlalchemy as sa
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from backroom_reporting.metrics.business_time import BusinessWindow, with_business_date
from backroom_reporting.metrics.live_night import A_WEEK, LONDON, LiveFacts, LiveNight, live_night, open_night
from backroom_reporting.portal.pages import Refusal, page
from backroom_reporting.portal.people import LIVE, NotPermitted, Person
from backroom_reporting.portal.scoped import as_person
from backroom_reporting.portal.sessions import COOKIE, CurrentPerson, NotSignedIn, session_of
from backroom_reporting.portal.state import Warehouse, in_warehouse
from backroom_reporting.privacy import audit
from backroom_reporting.rendering.formatting import format_count, format_money
from backroom_reporting.warehouse.database import Database
from backroom_reporting.warehouse.tables.raw import RAW, raw_loads, raw_snapshot_loads
from backroom_reporting.warehouse.types import polars_dtype

router = APIRouter(prefix="/live")
POLL_EVERY = 1.0  # seconds between looks at the night's rows
HEARTBEAT_EVERY = 15.0  # seconds of no news before a comment keeps proxies from closing the stream
RECONNECT_AFTER_MS = 2000  # the browser's wait before reconnecting a dropped stream

VenueChoice = Annotated[str | None, Query(description="the venue's id; default the account's first venue")]


@dataclasses.dataclass(frozen=True)
class Venue:
    venue_id: str
    name: str
    capacity: int


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _frame(conn: sa.Connection, query: sa.Select) -> pl.DataFrame:
    schema = {c.name: polars_dtype(c.type) for c in query.selected_columns}
    return pl.DataFrame(conn.execute(query).all(), schema=schema, orient="row")


def _rows_of(venue_id: str, night: dt.date) -> dict[str, tuple[sa.Select, str]]:
    """The queries of the venue's raw rows of `night` and of the night a week before (by the
    indexed business_date), and the tickets for their events; each with its time column."""
    nights = [night - A_WEEK, night]
    scans, bar, tickets, events = (
        RAW[t] for t in ("check_ins", "bar_transactions", "ticket_sales", "events")
    )
    # Events of either night, with a day's margin for a venue whose night runs off the platform's.
    margin = dt.timedelta(days=1)
    windows = [BusinessWindow(n, n) for n in nights]
    starting = sa.or_(*(events.c.starts_at.between(w.start - margin, w.end + margin) for w in windows))
    return {
        "check_ins": (
            sa.select(
                scans.c.venue_id,
                scans.c.check_in_id,
                scans.c.direction,
                scans.c.scanned_at,
                scans.c.business_date,
            ).where(scans.c.venue_id == venue_id, scans.c.business_date.in_(nights)),
            "scanned_at",
        ),
        "bar_transactions": (
            sa.select(bar.c.booking_id, bar.c.amount_pence, bar.c.occurred_at, bar.c.business_date).where(
                bar.c.venue_id == venue_id, bar.c.business_date.in_(nights)
            ),
            "occurred_at",
        ),
        "ticket_sales": (
            sa.select(
                tickets.c.event_id,
                tickets.c.status,
                tickets.c.gross_pence,
                tickets.c.fee_pence,
                tickets.c.purchased_at,
                tickets.c.business_date,
            ).where(
                tickets.c.venue_id == venue_id,
                sa.or_(
                    tickets.c.business_date.in_(nights),
                    tickets.c.event_id.in_(sa.select(events.c.event_id).where(starting)),
                ),
            ),
            "purchased_at",
        ),
    }


def read_live_facts(conn: sa.Connection, venue_id: str, night: dt.date) -> LiveFacts:
    """The venue's raw rows of the open night and of the night a week before."""
    rows = {name: _frame(conn, query) for name, (query, _) in _rows_of(venue_id, night).items()}
    events, venues = RAW["events"], RAW["venues"]
    named = _frame(
        conn,
        sa.select(events.c.event_id, events.c.venue_id, events.c.starts_at).where(
            events.c.event_id.in_(rows["ticket_sales"]["event_id"].unique().to_list())
        ),
    )
    settings = _frame(conn, sa.select(venues.c.venue_id, venues.c.timezone, venues.c.business_day_cutoff))
    nights = with_business_date(named, "starts_at", settings)
    return LiveFacts(**rows, event_nights=nights.select("event_id", pl.col("business_date").alias("night")))


def fingerprint(conn: sa.Connection, venue_id: str, night: dt.date) -> tuple:
    """What changes when the rows read_live_facts reads change, in one cheap query: how many
    rows each table has and the latest time among them, and the raw layer's latest loads (a
    load may replace a night's rows with as many, or move an event)."""
    measures = []
    for query, time_column in _rows_of(venue_id, night).values():
        rows = query.subquery()
        measures.append(sa.select(sa.func.count()).select_from(rows).scalar_subquery())
        measures.append(sa.select(sa.func.max(rows.c[time_column])).scalar_subquery())
    for ledger in (raw_loads, raw_snapshot_loads):
        measures.append(sa.select(sa.func.max(ledger.c.loaded_at)).scalar_subquery())
    return tuple(conn.execute(sa.select(*measures)).one())


def shown(live: LiveNight) -> dict:
    """The figures as the page shows them; the stream sends this, and the page sets each
    element marked data-figure="<key>" to its value."""
    change = live.change
    return {
        "night": f"{live.night:%A} {live.night.day} {live.night:%B %Y}",
        "occupancy": format_count(live.occupancy),
        "admitted": format_count(live.admitted),
        "takings": format_money(live.takings.total_pence),
        "bar": format_money(live.takings.bar_pence),
        "tables": format_money(live.takings.table_pence),
        "tickets": format_money(live.takings.ticket_pence),
        "last_week": format_money(live.last_week.total_pence),
        "last_week_by": live.last_week_by,
        "change": "no takings to compare with" if change is None else f"{change:+.1%}",
        "as_of": f"{live.as_of.astimezone(LONDON):%H:%M:%S}",
        "admissions": [[slot.clock, slot.admitted] for slot in live.admissions],
    }


def _venues(conn: sa.Connection, person: Person) -> list[Venue]:
    """The venues the person's account covers, by id (so the first is the account's first)."""
    venues = RAW["venues"]
    rows = conn.execute(
        sa.select(venues.c.venue_id, venues.c.name, venues.c.capacity).order_by(venues.c.venue_id)
    ).all()
    return [Venue(*row) for row in rows if person.sees_venue(row.venue_id)]


def _venue_to_watch(db: Database, person: Person, venue_id: str | None) -> tuple[Venue, list[Venue]]:
    """The venue asked for (default: the account's first) and every venue the account covers;
    refused when the account may not watch the live night or that venue."""
    person.require(LIVE)
    if venue_id is not None:
        person.require_venue(venue_id)
    with as_person(db, person) as conn:
        venues = _venues(conn, person)
    if venue_id is None:
        if not venues:
            raise Refusal("there is no venue in the warehouse that this account covers", 404)
        return venues[0], venues
    chosen = next((v for v in venues if v.venue_id == venue_id), None)
    if chosen is None:
        raise Refusal(f"there is no venue {venue_id} in the warehouse", 404)
    return chosen, venues


def _figures(db: Database, person: Person, venue_id: str, now: dt.datetime) -> dict:
    with as_person(db, person) as conn:
        return _shown_at(read_live_facts(conn, venue_id, open_night(now).first_day), now)


@router.get("", name="live_night", response_class=HTMLResponse)
def live_page(
    request: Request, person: CurrentPerson, db: Warehouse, venue: VenueChoice = None
) -> HTMLResponse:
    now = _now()
    chosen, venues = _venue_to_watch(db, person, venue)
    figures = _figures(db, person, chosen.venue_id, now)
    audit.record(db, person.user_id, "view", now, subject="/live", detail={"venue_id": chosen.venue_id})
    return page(request, "live.html", venue=chosen, venues=venues, figures=figures)


@dataclasses.dataclass
class _Watch:
    """What a stream last read: the night, its rows' fingerprint, and the rows."""

    night: dt.date | None = None
    fingerprint: tuple | None = None
    facts: LiveFacts | None = None


def _still_watching(db: Database, cookie: str, venue_id: str, watch: _Watch) -> dt.datetime:
    """Check the session still covers the venue, and read the night's rows again if the
    fingerprint says they changed: the refresh lands them hourly, and the probe is one small
    query where a busy night's rows take a few hundred milliseconds. Returns when it looked."""
    now = _now()
    person, _ = session_of(db, cookie, now)
    person.require(LIVE)
    person.require_venue(venue_id)
    night = open_night(now).first_day
    with as_person(db, person) as conn:
        seen = fingerprint(conn, venue_id, night)
        if (night, seen) != (watch.night, watch.fingerprint):
            watch.night, watch.fingerprint = night, seen
            watch.facts = read_live_facts(conn, venue_id, night)
    return now


def _shown_at(facts: LiveFacts, now: dt.datetime) -> dict:
    return shown(live_night(facts, now))


def _event(name: str, data: dict) -> str:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def _events(request: Request, cookie: str, venue_id: str) -> AsyncIterator[str]:
    """The figures whenever they change, a comment when there has been no news for a while,
    and, when the session ends, an `ended` event with the reason."""
    yield f"retry: {RECONNECT_AFTER_MS}\n\n"
    watch, sent, last_sent = _Watch(), None, time.monotonic()
    while not await request.is_disconnected():
        try:
            now = await in_warehouse(request, _still_watching, cookie, venue_id, watch)
        except (NotSignedIn, NotPermitted) as exc:
            yield _event("ended", {"reason": exc.reason[:1].upper() + exc.reason[1:].rstrip(".") + "."})
            return
        # Figures move with the clock as well as the rows (a new quarter hour, last week's
        # time of night), so they are worked out on every poll, away from the warehouse.
        figures = await run_in_threadpool(_shown_at, watch.facts, now)
        news = {k: v for k, v in figures.items() if k != "as_of"}
        if news != sent:
            yield _event("figures", figures)
            sent, last_sent = news, time.monotonic()
        elif time.monotonic() - last_sent >= HEARTBEAT_EVERY:
            yield ": still here\n\n"
            last_sent = time.monotonic()
        await asyncio.sleep(POLL_EVERY)


def _watcher(db: Database, cookie: str, venue_id: str | None) -> Venue:
    person, _ = session_of(db, cookie, _now())
    return _venue_to_watch(db, person, venue_id)[0]


@router.get("/stream", name="live_night_stream")
async def live_stream(request: Request, venue: VenueChoice = None) -> StreamingResponse:
    """Server-Sent Events: `figures` (JSON, as `shown`) when they change, and `ended`."""
    try:
        # Not the CurrentPerson dependency: it holds the warehouse for as long as the response
        # lasts, which for a stream is the whole evening.
        watched = await in_warehouse(request, _watcher, request.cookies.get(COOKIE, ""), venue)
    except NotSignedIn as exc:
        raise Refusal(exc.reason, 401) from None  # an EventSource cannot follow a sign-in page
    return StreamingResponse(
        _events(request, request.cookies.get(COOKIE, ""), watched.venue_id),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
