"""Stripe's records as rows: flattened from the API's objects and checked like every source.

Each object type has a contract (`Rules`, as the booking system's tables have in
warehouse/source_contract.py) over the fields the warehouse keeps, and the same validation
(ingest/validate.py): a record that fails it is quarantined with the reason and the whole record
as Stripe sent it, never dropped. Amounts are integer minor units as Stripe sends them; only GBP
lands, so every amount is pence. Venue and booking come from the record's metadata
(`metadata.venue_id`, `metadata.booking_id`); refunds and disputes that carry none take them
from their charge.
"""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import sqlalchemy as sa

from backroom_reporting.ingest.validate import SOURCE_ORDER, Checked, validate
from backroom_reporting.metrics.business_time import business_date
from backroom_reporting.warehouse.source_contract import Rules
from backroom_reporting.warehouse.types import Money, UtcTimestamp

RECORD = "record_json"  # the whole record, kept only in quarantine
_FIELDS = sa.MetaData()
_GBP = {"currency": (r"^gbp$", "GBP: only sterling payments are reconciled, in pence")}
_PLAUSIBLE = 5_000_000  # £50,000: as a booking-system payment (source_contract.py)


def _fields(name: str, key: str, *columns: sa.Column) -> sa.Table:
    return sa.Table(
        name,
        _FIELDS,
        sa.Column(key, sa.Text, nullable=False),
        *columns,
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("created_at", UtcTimestamp, nullable=False),
        sa.Column(RECORD, sa.Text, nullable=True),
    )


def _mapped(*columns: sa.Column) -> tuple[sa.Column, ...]:
    return (
        sa.Column("venue_id", sa.Text, nullable=False),
        sa.Column("booking_id", sa.Text, nullable=False),
        sa.Column("amount_pence", Money, nullable=False),
        *columns,
    )


RULES: dict[str, Rules] = {
    r.name: r
    for r in (
        Rules(
            _fields(
                "stripe_charges",
                "charge_id",
                *_mapped(
                    sa.Column("amount_refunded_pence", Money, nullable=True),
                    sa.Column("disputed", sa.Boolean, nullable=True),
                ),
            ),
            "charge_id",
            business_time="created_at",
            enums={"status": ("succeeded", "pending", "failed")},
            positive=("amount_pence",),
            non_negative=("amount_refunded_pence",),
            at_most=(("amount_refunded_pence", "amount_pence"),),
            patterns=_GBP,
            plausible={"amount_pence": _PLAUSIBLE},
            references={"venue_id": "venues"},
            not_kept=(RECORD,),
        ),
        Rules(
            _fields(
                "stripe_refunds",
                "refund_id",
                sa.Column("charge_id", sa.Text, nullable=True),
                *_mapped(sa.Column("reason", sa.Text, nullable=True)),
            ),
            "refund_id",
            business_time="created_at",
            enums={"status": ("pending", "requires_action", "succeeded", "failed", "canceled")},
            positive=("amount_pence",),
            patterns=_GBP,
            plausible={"amount_pence": _PLAUSIBLE},
            references={"venue_id": "venues"},
            not_kept=(RECORD,),
        ),
        Rules(
            _fields(
                "stripe_disputes",
                "dispute_id",
                sa.Column("charge_id", sa.Text, nullable=False),
                *_mapped(sa.Column("reason", sa.Text, nullable=True)),
            ),
            "dispute_id",
            business_time="created_at",
            positive=("amount_pence",),
            patterns=_GBP,
            plausible={"amount_pence": _PLAUSIBLE},
            references={"venue_id": "venues"},
            not_kept=(RECORD,),
        ),
        Rules(
            _fields(
                "stripe_payouts",
                "payout_id",
                sa.Column("amount_pence", Money, nullable=False),
                sa.Column("arrival_date", sa.Date, nullable=True),
            ),
            "payout_id",
            business_time="created_at",
            enums={"status": ("paid", "pending", "in_transit", "canceled", "failed")},
            positive=("amount_pence",),
            patterns=_GBP,
            not_kept=(RECORD,),
        ),
    )
}


# --- flattening --------------------------------------------------------------------------------


def _text(value) -> str | None:
    """A field as text for the contract's checks: numbers as written, so 12.5 pence is caught."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _instant(value) -> str | None:
    """Stripe's times are Unix seconds; anything else is passed on as text to fail the check."""
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return dt.datetime.fromtimestamp(value, dt.UTC).isoformat()
        except (OverflowError, OSError, ValueError):
            pass
    return _text(value)


def _day(value) -> str | None:
    text = _instant(value)
    return text[:10] if isinstance(value, int) and text else text


def _id_of(value) -> str | None:
    """An id field, expanded (an object) or not (its id)."""
    return value.get("id") if isinstance(value, dict) else value


def _metadata(record: dict, name: str):
    metadata = record.get("metadata")
    return metadata.get(name) if isinstance(metadata, dict) else None


def flatten(table: str, record: dict, charges: dict[str, tuple[str, str]] | None = None) -> dict:
    """One record as the contract's fields, all text. `charges` maps a charge id to its venue
    and booking, for refunds and disputes whose own metadata names neither."""
    row = {
        RULES[table].key: _text(record.get("id")),
        "currency": _text(record.get("currency")),
        "status": _text(record.get("status")),
        "created_at": _instant(record.get("created")),
        "amount_pence": _text(record.get("amount")),
        RECORD: json.dumps(record, sort_keys=True, default=str),
    }
    if table == "stripe_payouts":
        return row | {"arrival_date": _day(record.get("arrival_date"))}
    row |= {
        "venue_id": _text(_metadata(record, "venue_id")),
        "booking_id": _text(_metadata(record, "booking_id")),
    }
    if table == "stripe_charges":
        return row | {
            "amount_refunded_pence": _text(record.get("amount_refunded")),
            "disputed": _text(record.get("disputed")),
        }
    charge = _text(_id_of(record.get("charge")))
    via = (charges or {}).get(charge or "", (None, None))
    return row | {
        "charge_id": charge,
        "venue_id": row["venue_id"] or via[0],
        "booking_id": row["booking_id"] or via[1],
        "reason": _text(record.get("reason")),
    }


def frame_of(
    table: str, records: list[dict], charges: dict[str, tuple[str, str]] | None = None
) -> pl.DataFrame:
    """The records as rows of text in the contract's columns, in the order they came."""
    columns = [c.name for c in RULES[table].table.columns]
    rows = [flatten(table, record, charges) for record in records]
    return pl.DataFrame(
        {name: [row.get(name) for row in rows] for name in columns}, schema=dict.fromkeys(columns, pl.String)
    ).with_row_index(SOURCE_ORDER, offset=1)


def charge_ids(records: list[dict]) -> list[str]:
    """The charges refunds or disputes name."""
    return sorted({c for r in records if isinstance(c := _id_of(r.get("charge")), str)})


def check(table: str, rows: pl.DataFrame, venues: pl.Series) -> Checked:
    """The contract's checks (ingest/validate.py); `venues` are the venue ids the warehouse holds."""
    return validate(rows, RULES[table], {"venues": venues})


def landed_rows(table: str, good: pl.DataFrame, landed_at: dt.datetime) -> pl.DataFrame:
    """Good rows as the warehouse keeps them: the night of `created` (06:00 London roll) added."""
    return good.drop(RULES[table].not_kept).with_columns(
        business_date(pl.col("created_at")).alias("business_date"), pl.lit(landed_at).alias("landed_at")
    )
