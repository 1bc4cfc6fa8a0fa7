"""Refunds and disputes that land after a night closed: Stripe's signed webhook events, kept once
each, and the nights they re-open.

A verified event about a refund or dispute (or a charge refunded) is stored with the night of the
object it is about. That night is then "re-opened" for Stripe: an event received after the
night's last pull. The Stripe closing schedule reloads re-opened nights among the 14 it re-checks
each morning, as the closing run reloads nights whose booking-system rows changed (docs/operations.md,
"Late facts"); a re-opened night's next pull takes it whole, not from its cursor.
"""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import sqlalchemy as sa

from backroom_reporting.metrics.business_time import BusinessWindow, business_date
from backroom_reporting.warehouse.database import Database
from backroom_reporting.warehouse.tables.stripe import stripe_events, stripe_loads
from backroom_reporting.warehouse.types import table_schema

PULLED_TABLES = ("stripe_charges", "stripe_refunds", "stripe_disputes", "stripe_payouts")
# The events that change a night already pulled: a charge refunded, a refund's or dispute's news.
LATE_EVENTS = (
    "charge.refunded",
    "charge.refund.updated",
    "refund.created",
    "refund.updated",
    "refund.failed",
    "charge.dispute.created",
    "charge.dispute.updated",
    "charge.dispute.closed",
    "charge.dispute.funds_withdrawn",
    "charge.dispute.funds_reinstated",
)
# What is kept of an event's object: what the connector reads. The cardholder's details Stripe
# sends with it (billing details, receipt email, a dispute's evidence) are not kept
# (docs/privacy.md, "What the warehouse keeps").
KEPT_FIELDS = ("id", "object", "amount", "currency", "status", "created", "charge", "reason", "metadata")


def record_event(db: Database, event: dict, received_at: dt.datetime) -> str:
    """Keep a verified event once (without the cardholder's details); say what became of it
    ("stored", "already stored", "ignored")."""
    kind = event.get("type")
    if kind not in LATE_EVENTS:
        return "ignored"
    found = ((event.get("data") or {}).get("object")) or {}
    created, object_id = found.get("created"), found.get("id")
    if not isinstance(created, int) or not isinstance(object_id, str):
        raise ValueError(f"event {event.get('id')} ({kind}) names no object with an id and a created time")
    if db.lookup(stripe_events.c.event_id, [event["id"]]).height:
        return "already stored"
    at = dt.datetime.fromtimestamp(created, dt.UTC)
    row = {
        "event_id": event["id"],
        "type": kind,
        "object_id": object_id,
        "object_created_at": at,
        "business_date": pl.select(business_date(pl.lit(at))).item(),
        "received_at": received_at,
        "payload": json.dumps(
            {
                "id": event["id"],
                "type": kind,
                "created": event.get("created"),
                "livemode": event.get("livemode"),
                "object": {k: found[k] for k in KEPT_FIELDS if k in found},
            },
            sort_keys=True,
        ),
    }
    db.append(stripe_events, pl.DataFrame([row], schema=table_schema(stripe_events)))
    return "stored"


def reopened_nights(db: Database, window: BusinessWindow, tables=PULLED_TABLES) -> dict[dt.date, list[str]]:
    """Nights of `window` Stripe must be pulled again for, with the tables: never pulled, or
    an event about them received after the table's last pull of the night."""
    loads = db.read_columns(
        stripe_loads.c.source_table,
        stripe_loads.c.business_date,
        stripe_loads.c.loaded_at,
        where=stripe_loads.c.business_date.between(window.first_day, window.last_day),
    )
    events = db.read(
        sa.select(stripe_events.c.business_date, sa.func.max(stripe_events.c.received_at).label("latest"))
        .where(stripe_events.c.business_date.between(window.first_day, window.last_day))
        .group_by(stripe_events.c.business_date),
        {"business_date": pl.Date(), "latest": pl.Datetime("us", "UTC")},
    )
    latest = dict(events.iter_rows())
    pulled = {(t, d): at for t, d, at in loads.iter_rows()}
    found: dict[dt.date, list[str]] = {}
    for day in window.days:
        for table in tables:
            last = pulled.get((table, day))
            if last is None or (day in latest and latest[day] > last):
                found.setdefault(day, []).append(table)
    return found
