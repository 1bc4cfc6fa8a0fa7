"""How a Fatsoma record becomes a row of the source contract (docs/connectors.md, "Fatsoma").

Fatsoma's API is JSON:API: a record is `{id, type, attributes: {...}, relationships: {name:
{data: {type, id}}}}`, attribute names dasherised. Its public events endpoint documents
`name`, `starts-at`, `ends-at` and the `location` and `page` relationships; the promoter's
order feed is not public, so the order attributes below are modelled on the same style. This
module is the one place that knows those names: when Fatsoma's real fields differ, correct
them here.

Every value is taken as text and typed by the contract's own parser (warehouse/frames.py):
a value that is missing or does not parse lands empty, and the raw layer quarantines the
row saying which column (nothing is dropped; the record as received stays in the landing
table beside it).
"""

from __future__ import annotations

import hashlib
import json

import polars as pl

from backroom_reporting.warehouse.frames import coerce
from backroom_reporting.warehouse.source_contract import BRANDS, CONTRACT
from backroom_reporting.warehouse.types import table_schema

# What each contract column is read from: an attribute, or ("relationship", name).
EVENT_FIELDS = {
    "name": "name",
    "starts_at": "starts-at",
    "ends_at": "ends-at",
    "capacity": "capacity",
    "ticket_price_pence": "price-sub-unit",
    "status": "status",
}
ORDER_FIELDS = {
    "quantity": "quantity",
    "gross_pence": "total-sub-unit",
    "fee_pence": "fee-sub-unit",
    "status": "status",
    "purchased_at": "created-at",
    "refunded_at": "refunded-at",
}
UPDATED = "updated-at"
# Fatsoma's words for a status -> the contract's; any other word is kept as it came, and the
# raw layer quarantines it as an unknown value.
EVENT_STATUSES = {
    "active": "scheduled",
    "on-sale": "scheduled",
    "ended": "completed",
    "cancelled": "cancelled",
}
ORDER_STATUSES = {"completed": "paid", "paid": "paid", "refunded": "refunded"}
# Sparse fieldsets (JSON:API `fields[type]`): only what is mapped is asked for, so a buyer's
# name or email never leaves Fatsoma.
EVENT_FIELDSET = ",".join([*EVENT_FIELDS.values(), UPDATED, "location"])
ORDER_FIELDSET = ",".join([*ORDER_FIELDS.values(), UPDATED, "event"])

EVENT_COLUMNS = table_schema(CONTRACT["events"].table)
ORDER_COLUMNS = table_schema(CONTRACT["ticket_sales"].table)
LANDING_EXTRA = {"landing_key": pl.String(), "updated_at": pl.Datetime("us", "UTC"), "received": pl.String()}


def _text(value) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _related(record: dict, name: str) -> str | None:
    relationship = (record.get("relationships") or {}).get(name) or {}
    data = relationship.get("data") if isinstance(relationship, dict) else None
    return _text(data.get("id")) if isinstance(data, dict) else None


def _attributes(record: dict) -> dict:
    attributes = record.get("attributes")
    return attributes if isinstance(attributes, dict) else {}


def received(record: dict, fields: dict[str, str], relationships: tuple[str, ...]) -> dict:
    """The part of a record the mapping reads, as it came."""
    attributes = _attributes(record)
    return {
        "id": record.get("id"),
        "type": record.get("type"),
        "attributes": {k: attributes.get(k) for k in (*fields.values(), UPDATED) if k in attributes},
        "relationships": {name: _related(record, name) for name in relationships},
    }


def _landing_key(record: dict, kept: dict) -> str:
    """Fatsoma's id; a record without one is keyed by its content, so it is kept (and
    quarantined for its missing id) rather than dropped."""
    key = _text(record.get("id"))
    return key or "no-id:" + hashlib.sha256(json.dumps(kept, sort_keys=True).encode()).hexdigest()[:32]


def brand_of(name: str | None) -> str | None:
    """The venue's brand a Fatsoma event belongs to, from its name (`LA FIESTA: Halloween`)."""
    upper = (name or "").upper()
    return next((brand for brand in BRANDS if brand != "PRIVATE" and brand in upper), None)


def _typed(rows: list[dict], columns: dict[str, pl.DataType]) -> pl.DataFrame:
    schema = {**dict.fromkeys(columns, pl.String()), **dict.fromkeys(LANDING_EXTRA, pl.String())}
    text = pl.DataFrame(rows, schema=schema, orient="row")
    typed, _ = coerce(text, {**columns, **LANDING_EXTRA})
    return typed


def event_rows(records: list[dict], venues: dict[str, str]) -> pl.DataFrame:
    """Contract `events` columns of Fatsoma event records, with landing_key, updated_at and
    received. `venues`: Fatsoma location id -> the venue's id in the contract."""
    rows = []
    for record in records:
        attributes = _attributes(record)
        kept = received(record, EVENT_FIELDS, ("location",))
        location = _related(record, "location")
        status = _text(attributes.get("status"))
        rows.append(
            {
                "event_id": _text(record.get("id")),
                # An unmapped location names itself, so the quarantine says which to map.
                "venue_id": venues.get(location, f"fatsoma-location:{location}") if location else None,
                "brand": brand_of(_text(attributes.get("name"))),
                **{column: _text(attributes.get(field)) for column, field in EVENT_FIELDS.items()},
                "status": EVENT_STATUSES.get(status, status),
                "landing_key": _landing_key(record, kept),
                "updated_at": _text(attributes.get(UPDATED)),
                "received": json.dumps(kept, sort_keys=True),
            }
        )
    return _typed(rows, EVENT_COLUMNS)


def order_rows(records: list[dict], event_venues: dict[str, str]) -> pl.DataFrame:
    """Contract `ticket_sales` columns of Fatsoma order records, with landing_key, updated_at
    and received. The venue is the order's event's (`event_venues`: event id -> venue id);
    Fatsoma's buyers are not the booking system's customers, so customer_id stays empty."""
    rows = []
    for record in records:
        attributes = _attributes(record)
        kept = received(record, ORDER_FIELDS, ("event",))
        event = _related(record, "event")
        status = _text(attributes.get("status"))
        rows.append(
            {
                "order_id": _text(record.get("id")),
                "venue_id": event_venues.get(event) if event else None,
                "event_id": event,
                "customer_id": None,
                **{column: _text(attributes.get(field)) for column, field in ORDER_FIELDS.items()},
                "status": ORDER_STATUSES.get(status, status),
                "landing_key": _landing_key(record, kept),
                "updated_at": _text(attributes.get(UPDATED)),
                "received": json.dumps(kept, sort_keys=True),
            }
        )
    return _typed(rows, ORDER_COLUMNS)
