"""A venue's open night in the warehouse, for the live night's tests and benchmark: the accounts
that watch it, facts landing in the raw tables as the open-night refresh writes them (through
ADBC), and the stream read line by line as a browser's EventSource reads it."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import time
from collections.abc import Iterator

import httpx
import polars as pl

from backroom_reporting.portal import accounts, sessions
from backroom_reporting.warehouse.database import Database
from backroom_reporting.warehouse.tables.raw import RAW
from backroom_reporting.warehouse.types import table_schema
from tests.subscriptions import set_venues
from tests.worlds import at, night_of

LEEDS, YORK = "backroom-leeds", "backroom-york"
VENUES = {LEEDS: "The Backroom Leeds", YORK: "The Backroom York"}
SATURDAY = dt.date(2026, 11, 28)
WEEK_BEFORE = SATURDAY - dt.timedelta(days=7)
NOW = at(SATURDAY, "23:30")  # the app's clock in the tests (live._now)
_ids = itertools.count(1)


def saturday_night(db: Database) -> dict[str, str]:
    """Leeds up to 23:30 on Saturday (2 inside of 3 let in; £181.00 taken against £30.00 by
    23:30 the week before), York beside it (5 inside); the cookies of four accounts, by role."""
    set_venues(db, VENUES)
    land_scans(
        db,
        LEEDS,
        [
            (at(SATURDAY, "21:00"), "in"),
            (at(SATURDAY, "21:05"), "in"),
            (at(SATURDAY, "21:20"), "in"),
            (at(SATURDAY, "21:30"), "out"),
            (at(SATURDAY - dt.timedelta(days=1), "23:00"), "in"),  # Friday's
        ],
    )
    land_scans(db, YORK, [(at(SATURDAY, "22:00"), "in")] * 5)
    land_sales(
        db,
        LEEDS,
        [
            (at(SATURDAY, "21:10"), 1_250, None),
            (at(SATURDAY, "22:00"), 15_000, "bk-1"),
            (at(WEEK_BEFORE, "22:00"), 3_000, None),
            (at(WEEK_BEFORE, "23:45"), 7_000, None),  # later in the night than it is now
        ],
    )
    land_event(db, LEEDS, "ev-tonight", at(SATURDAY, "22:00"))
    land_tickets(db, LEEDS, "ev-tonight", [(at(SATURDAY - dt.timedelta(days=20), "13:00"), 2_000, 150)])
    return {
        "manager": sign_in(db, "mia@backroom.test", "manager", [LEEDS]),
        "finance": sign_in(db, "fin@backroom.test", "finance", [LEEDS]),
        "events": sign_in(db, "eve@backroom.test", "events", [YORK]),
        "admin": sign_in(db, "ada@backroom.test", "admin"),
    }


def sign_in(db: Database, email: str, role: str, venue_ids: list[str] | None = None) -> str:
    """An account and a current session for it: the session cookie's value."""
    now = dt.datetime.now(dt.UTC)
    account = accounts.add(db, email, email.split("@")[0].title(), role, now, venue_ids=venue_ids)
    return sessions.open_session(db, account.person, "password", now)


def cookie_header(cookie: str) -> dict[str, str]:
    return {"Cookie": f"{sessions.COOKIE}={cookie}"}


def _land(db: Database, table: str, time_column: str, rows: list[dict]) -> None:
    rows = [{**row, "business_date": night_of(row[time_column])} for row in rows]
    db.append(RAW[table], pl.DataFrame(rows, schema=table_schema(RAW[table])))


def land_scans(db: Database, venue_id: str, scans: list[tuple[dt.datetime, str]]) -> None:
    """Door scans (when, "in" or "out") at the venue."""
    _land(
        db,
        "check_ins",
        "scanned_at",
        [
            dict(
                check_in_id=f"ci-{next(_ids):06d}",
                venue_id=venue_id,
                event_id=None,
                booking_id=None,
                order_id=None,
                customer_id=None,
                direction=direction,
                scanned_at=moment,
                staff_id="door-1",
            )
            for moment, direction in scans
        ],
    )


def land_sales(db: Database, venue_id: str, sales: list[tuple[dt.datetime, int, str | None]]) -> None:
    """Bar sales (when, pence, the booking whose tab it went on or None)."""
    _land(
        db,
        "bar_transactions",
        "occurred_at",
        [
            dict(
                transaction_id=f"tx-{next(_ids):06d}",
                venue_id=venue_id,
                staff_id="bar-1",
                booking_id=booking_id,
                table_id="table-1" if booking_id else None,
                amount_pence=pence,
                items=1,
                occurred_at=moment,
            )
            for moment, pence, booking_id in sales
        ],
    )


def land_event(db: Database, venue_id: str, event_id: str, starts_at: dt.datetime) -> None:
    row = dict(
        event_id=event_id,
        venue_id=venue_id,
        brand="LA FIESTA",
        name="La Fiesta",
        starts_at=starts_at,
        ends_at=starts_at + dt.timedelta(hours=6),
        capacity=300,
        ticket_price_pence=1_000,
        status="scheduled",
    )
    db.append(RAW["events"], pl.DataFrame([row], schema=table_schema(RAW["events"])))


def land_tickets(
    db: Database, venue_id: str, event_id: str, orders: list[tuple[dt.datetime, int, int]]
) -> None:
    """Paid ticket orders (when bought, gross pence, fee pence) for the event."""
    _land(
        db,
        "ticket_sales",
        "purchased_at",
        [
            dict(
                order_id=f"ord-{next(_ids):06d}",
                venue_id=venue_id,
                event_id=event_id,
                customer_id=None,
                quantity=1,
                gross_pence=gross,
                fee_pence=fee,
                status="paid",
                purchased_at=bought,
                refunded_at=None,
            )
            for bought, gross, fee in orders
        ],
    )


def stream_events(response: httpx.Response) -> Iterator[tuple[str, dict | str]]:
    """(event name, its JSON data) for each event, ("comment", text) for each comment line."""
    name, data = "message", []
    for line in response.iter_lines():
        if line.startswith(":"):
            yield "comment", line[1:].strip()
        elif line.startswith("event:"):
            name = line.removeprefix("event:").strip()
        elif line.startswith("data:"):
            data.append(line.removeprefix("data:").strip())
        elif line == "" and data:
            yield name, json.loads("\n".join(data))
            name, data = "message", []


def next_figures(events: Iterator[tuple[str, dict | str]], within: float = 10.0) -> dict:
    """The next `figures` event's data, past any heartbeat; it must come `within` seconds (the
    heartbeats, every 15 s, keep a stream with no news from waiting for ever)."""
    deadline = time.monotonic() + within
    for name, data in events:
        if name == "figures":
            assert isinstance(data, dict)
            return data
        assert name == "comment", (name, data)
        assert time.monotonic() < deadline, f"no new figures within {within:g}s"
    raise AssertionError("the stream ended without sending the figures")
