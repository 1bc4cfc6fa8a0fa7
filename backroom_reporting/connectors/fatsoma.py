"""The Fatsoma connector: events and ticket orders pulled by cursor into landing tables.

Each pull asks Fatsoma for the records changed since the cursor (a little before it, so a
record written while the last pull ran is not missed), follows the pages, keeps the latest
version of each record (by Fatsoma's `updated-at`, duplicates and pages out of order
included), and lands the records that are new or changed, with the new cursor, in one
transaction: a pull that fails lands nothing, and a pull run twice lands each record once.
It reports the nights whose raw ticket sales must be reloaded: those of changed orders, and
the old and new nights of an event renamed or moved (docs/connectors.md).
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field

import dagster as dg
import polars as pl
import sqlalchemy as sa

from backroom_reporting import settings
from backroom_reporting.connectors.fatsoma_mapping import (
    EVENT_COLUMNS,
    EVENT_FIELDSET,
    ORDER_COLUMNS,
    ORDER_FIELDSET,
    event_rows,
    order_rows,
)
from backroom_reporting.connectors.http import JsonApi
from backroom_reporting.metrics.business_time import business_date
from backroom_reporting.warehouse.database import Database
from backroom_reporting.warehouse.tables.connectors import connector_cursors, fatsoma_events, fatsoma_orders
from backroom_reporting.warehouse.types import table_schema

CONNECTOR = "fatsoma"
# Source tables read from a Fatsoma landing table instead of the booking system when tickets
# come from Fatsoma.
LANDED = {"events": fatsoma_events, "ticket_sales": fatsoma_orders}
# Each pull re-reads this much before the cursor: a record saved while the last pull was
# paging may carry an `updated-at` earlier than the newest one it saw.
OVERLAP = dt.timedelta(minutes=10)


def parse_venues(text: str) -> dict[str, str]:
    """`location-id=venue-id,...` (FATSOMA_VENUES) -> {location id: venue id}."""
    pairs = [part.strip() for part in text.split(",") if part.strip()]
    mapping = {}
    for pair in pairs:
        location, sep, venue = pair.partition("=")
        if not sep or not location.strip() or not venue.strip():
            raise ValueError(f"FATSOMA_VENUES entry {pair!r} is not location-id=venue-id")
        mapping[location.strip()] = venue.strip()
    return mapping


class FatsomaResource(dg.ConfigurableResource):
    """Fatsoma's API (docs/connectors.md). Each field left unset is read from its setting when
    a run starts; with tickets from the booking system (the default) nothing is pulled."""

    tickets_source: str | None = None
    base_url: str | None = None
    api_key: str | None = None
    venues: str | None = None
    timeout_seconds: float | None = None
    max_retries: int | None = None
    backoff_seconds: float = 1.0
    page_size: int = 100

    def for_tickets(self) -> bool:
        """Whether the deployment's ticket sales come from Fatsoma."""
        chosen = (self.tickets_source or settings.TICKETS_SOURCE.get()).strip()
        if chosen not in ("booking_system", CONNECTOR):
            raise dg.Failure(
                f"{settings.TICKETS_SOURCE.env}={chosen!r} is neither booking_system nor fatsoma.",
                allow_retries=False,
            )
        return chosen == CONNECTOR

    def venue_map(self) -> dict[str, str]:
        try:
            return parse_venues(self.venues if self.venues is not None else settings.FATSOMA_VENUES.get())
        except ValueError as exc:
            raise dg.Failure(str(exc), allow_retries=False) from exc

    def api(self) -> JsonApi:
        key = self.api_key or settings.FATSOMA_API_KEY.get()
        if not key:
            raise dg.Failure(
                f"Tickets come from Fatsoma but {settings.FATSOMA_API_KEY.env} is not set: set it, "
                f"or {settings.TICKETS_SOURCE.env}=booking_system.",
                allow_retries=False,
            )
        return JsonApi(
            name="Fatsoma",
            base_url=self.base_url or settings.FATSOMA_BASE_URL.get(),
            headers={"Authorization": f"Bearer {key}"},
            timeout_seconds=self.timeout_seconds or float(settings.FATSOMA_TIMEOUT_SECONDS.get()),
            max_retries=self.max_retries
            if self.max_retries is not None
            else int(settings.FATSOMA_MAX_RETRIES.get()),
            backoff_seconds=self.backoff_seconds,
            credential_hint=settings.FATSOMA_API_KEY.env,
        )


@dataclass
class Pull:
    """What one pull of a collection did."""

    resource: str
    records: int = 0  # records received, duplicates included
    landed: int = 0  # new or changed records written
    stale: int = 0  # versions older than the one already landed, ignored
    nights: set[dt.date] = field(default_factory=set)  # raw ticket-sales nights to reload
    cursor: dt.datetime | None = None
    requests: int = 0
    seconds: float = 0.0

    def metadata(self) -> dict:
        return {
            "records_received": self.records,
            "records_landed": self.landed,
            "stale_versions_ignored": self.stale,
            "nights_to_reload": dg.MetadataValue.json(sorted(str(d) for d in self.nights)),
            "cursor": self.cursor.isoformat() if self.cursor else "",
            "requests": self.requests,
            "records_per_second": round(self.records / self.seconds, 1) if self.seconds else 0.0,
        }


def cursor_of(warehouse: Database, resource: str) -> dt.datetime | None:
    c = connector_cursors.c
    found = warehouse.read_columns(
        c.updated_since, where=(c.connector == CONNECTOR) & (c.resource == resource)
    )
    return found["updated_since"][0] if found.height else None


def fetch(
    api: JsonApi, resource: str, fieldset: str, since: dt.datetime | None, page_size: int
) -> list[dict]:
    """Every record of `resource` changed since `since` (all of them without a cursor)."""
    params = {"page[size]": str(page_size), "sort": "updated-at", f"fields[{resource}]": fieldset}
    if since is not None:
        params["filter[updated-at][gte]"] = (since - OVERLAP).isoformat().replace("+00:00", "Z")
    return [record for page in api.pages(resource, params) for record in page if isinstance(record, dict)]


def latest_versions(rows: pl.DataFrame) -> pl.DataFrame:
    """One row per record: the latest `updated_at` wins, and among equals the last received."""
    return (
        rows.with_row_index("_received")
        .sort("updated_at", "_received", nulls_last=False)
        .unique("landing_key", keep="last", maintain_order=True)
        .drop("_received")
    )


def _night(column: str) -> pl.Expr:
    return business_date(pl.col(column))


def changes(
    incoming: pl.DataFrame, landed: pl.DataFrame, columns: list[str], night_of: str
) -> tuple[pl.DataFrame, int, set[dt.date]]:
    """The incoming rows to land (new, or changed and not older than the landed version), how
    many were stale, and the nights of `night_of` before and after each change."""
    before = landed.select(
        "landing_key",
        pl.lit(True).alias("_landed"),
        *(pl.col(c).alias(f"{c}__landed") for c in [*columns, "updated_at"]),
    )
    joined = incoming.join(before, on="landing_key", how="left")
    is_new = pl.col("_landed").is_null()
    stale = pl.col("updated_at").is_not_null() & (pl.col("updated_at") < pl.col("updated_at__landed"))
    differs = pl.any_horizontal(pl.col(c).ne_missing(pl.col(f"{c}__landed")) for c in columns)
    counted = joined.with_columns(is_new.alias("_new"), stale.fill_null(False).alias("_stale"))
    wanted = counted.filter(~pl.col("_stale") & (pl.col("_new") | differs))
    nights = set(
        pl.concat(
            [wanted.select(_night(night_of)), wanted.select(_night(f"{night_of}__landed").alias(night_of))]
        )
        .drop_nulls()[night_of]
        .to_list()
    )
    return wanted.select(incoming.columns), int(counted["_stale"].sum()), nights


def _landed_rows(warehouse: Database, table: sa.Table, keys: pl.Series) -> pl.DataFrame:
    key = table.c.landing_key
    return warehouse.lookup(key, keys, *(c for c in table.c if c is not key))


def _land(
    warehouse: Database,
    table: sa.Table,
    pull: Pull,
    incoming: pl.DataFrame,
    columns: dict[str, pl.DataType],
    night_of: str,
    previous: dt.datetime | None,
    now: dt.datetime,
    also: list[tuple[sa.Table, pl.DataFrame]] = (),
) -> pl.DataFrame:
    latest = latest_versions(incoming)
    landed = _landed_rows(warehouse, table, latest["landing_key"])
    wanted, pull.stale, pull.nights = changes(latest, landed, list(columns), night_of)
    pull.landed = wanted.height
    newest = latest["updated_at"].max()
    pull.cursor = max((t for t in (previous, newest) if t is not None), default=None)
    rows = wanted.with_columns(pl.lit(now).alias("landed_at")).select(table_schema(table).keys())
    writes = [(table, rows, table.c.landing_key.in_(rows["landing_key"].to_list()))]
    writes += [(t, frame, t.c.landing_key.in_(frame["landing_key"].to_list())) for t, frame in also]
    if pull.cursor is not None:
        cursor = pl.DataFrame(
            [
                {
                    "connector": CONNECTOR,
                    "resource": pull.resource,
                    "updated_since": pull.cursor,
                    "pulled_at": now,
                }
            ],
            schema=table_schema(connector_cursors),
        )
        c = connector_cursors.c
        writes.append((connector_cursors, cursor, (c.connector == CONNECTOR) & (c.resource == pull.resource)))
    # The rows and the cursor land together: a failed pull moves neither.
    warehouse.replace_many(writes)
    return wanted


def pull_events(
    api: JsonApi, warehouse: Database, venues: dict[str, str], page_size: int, now: dt.datetime
) -> Pull:
    """Land Fatsoma's events changed since the cursor. An event moved to another venue takes
    its landed orders with it; an event renamed or moved reports its old and new nights."""
    began, requests_before, pull = time.perf_counter(), api.requests, Pull("events")
    previous = cursor_of(warehouse, "events")
    records = fetch(api, "events", EVENT_FIELDSET, previous, page_size)
    pull.records = len(records)
    incoming = event_rows(records, venues)
    landed = _landed_rows(warehouse, fatsoma_events, incoming["landing_key"])
    was = landed.select("landing_key", pl.col("venue_id").alias("_was"), pl.col("updated_at").alias("_then"))
    moved_venue = (
        latest_versions(incoming)
        .join(was, on="landing_key")
        # A stale version (older than the landed one) moves nothing.
        .filter(
            pl.col("venue_id").ne_missing(pl.col("_was"))
            & ~(pl.col("updated_at") < pl.col("_then")).fill_null(False)
        )
        .select("event_id", "venue_id")
    )
    held = warehouse.read_table(
        fatsoma_orders, fatsoma_orders.c.event_id.in_(moved_venue["event_id"].to_list())
    )
    orders = held.drop("venue_id").join(moved_venue, on="event_id").select(held.columns)
    _land(
        warehouse,
        fatsoma_events,
        pull,
        incoming,
        EVENT_COLUMNS,
        "starts_at",
        previous,
        now,
        [(fatsoma_orders, orders)],
    )
    pull.nights |= set(orders.select(_night("purchased_at")).drop_nulls()["purchased_at"].to_list())
    pull.requests, pull.seconds = api.requests - requests_before, time.perf_counter() - began
    return pull


def pull_orders(api: JsonApi, warehouse: Database, page_size: int, now: dt.datetime) -> Pull:
    """Land Fatsoma's ticket orders changed since the cursor, each at its event's venue."""
    began, requests_before, pull = time.perf_counter(), api.requests, Pull("orders")
    previous = cursor_of(warehouse, "orders")
    records = fetch(api, "orders", ORDER_FIELDSET, previous, page_size)
    pull.records = len(records)
    events = warehouse.read_columns(fatsoma_events.c.event_id, fatsoma_events.c.venue_id)
    venues = dict(events.drop_nulls("event_id").iter_rows())
    _land(
        warehouse,
        fatsoma_orders,
        pull,
        order_rows(records, venues),
        ORDER_COLUMNS,
        "purchased_at",
        previous,
        now,
    )
    pull.requests, pull.seconds = api.requests - requests_before, time.perf_counter() - began
    return pull
