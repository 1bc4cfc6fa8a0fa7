"""What the Stripe connector lands (docs/connectors.md, "Stripe"): charges, refunds, disputes and
payouts upserted by their Stripe id, the webhook events that re-open closed nights, the ledger of
pulls by night, and the reconciliation of booking-system payments with Stripe's.

Money is integer minor units as Stripe gives it (pence: only GBP lands); each row's business
date is the night of its `created` (06:00 London roll).
"""

from __future__ import annotations

import sqlalchemy as sa

from backroom_reporting.warehouse.tables.metadata import WAREHOUSE
from backroom_reporting.warehouse.types import Count, Money, UtcTimestamp


def _landed(name: str, key: str, *columns: sa.Column) -> sa.Table:
    return sa.Table(
        name,
        WAREHOUSE,
        sa.Column(key, sa.Text, primary_key=True),
        *columns,
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("created_at", UtcTimestamp, nullable=False),
        sa.Column("business_date", sa.Date, nullable=False),
        # When this version of the record landed: an upsert replaces the row and this with it.
        sa.Column("landed_at", UtcTimestamp, nullable=False),
        sa.Index(None, "business_date"),
    )


stripe_charges = _landed(
    "stripe_charges",
    "charge_id",
    sa.Column("venue_id", sa.Text, nullable=False),
    sa.Column("booking_id", sa.Text, nullable=False),
    sa.Column("amount_pence", Money, nullable=False),
    # Stripe always sends these; a record without them still lands (they are not reconciled).
    sa.Column("amount_refunded_pence", Money, nullable=True),
    sa.Column("disputed", sa.Boolean, nullable=True),
)
stripe_refunds = _landed(
    "stripe_refunds",
    "refund_id",
    sa.Column("charge_id", sa.Text, nullable=True),  # a refund may carry its own venue and booking
    sa.Column("venue_id", sa.Text, nullable=False),
    sa.Column("booking_id", sa.Text, nullable=False),
    sa.Column("amount_pence", Money, nullable=False),
    sa.Column("reason", sa.Text, nullable=True),
)
stripe_disputes = _landed(
    "stripe_disputes",
    "dispute_id",
    sa.Column("charge_id", sa.Text, nullable=False),
    sa.Column("venue_id", sa.Text, nullable=False),
    sa.Column("booking_id", sa.Text, nullable=False),
    sa.Column("amount_pence", Money, nullable=False),
    sa.Column("reason", sa.Text, nullable=True),
)
# A payout settles the whole account's balance, every venue's, so it names none.
stripe_payouts = _landed(
    "stripe_payouts",
    "payout_id",
    sa.Column("amount_pence", Money, nullable=False),
    sa.Column("arrival_date", sa.Date, nullable=True),
)

# Signed webhook events about refunds and disputes, once each (Stripe retries a delivery, and
# may send an event twice). business_date is the night of the object the event is about: an
# event received after that night's last pull re-opens it (connectors/stripe_late.py).
stripe_events = sa.Table(
    "stripe_events",
    WAREHOUSE,
    sa.Column("event_id", sa.Text, primary_key=True),
    sa.Column("type", sa.Text, nullable=False),
    sa.Column("object_id", sa.Text, nullable=False),
    sa.Column("object_created_at", UtcTimestamp, nullable=False),
    sa.Column("business_date", sa.Date, nullable=False),
    sa.Column("received_at", UtcTimestamp, nullable=False),
    # The event's id, type and times, and its object cut down to what the connector reads (JSON).
    sa.Column("payload", sa.Text, nullable=False),
    sa.Index(None, "business_date"),
)

# One row per Stripe table and night: its latest pull. `since` is where that pull's `created`
# cursor started (the night's start when it was pulled whole).
stripe_loads = sa.Table(
    "stripe_loads",
    WAREHOUSE,
    sa.Column("source_table", sa.Text, primary_key=True),
    sa.Column("business_date", sa.Date, primary_key=True),
    sa.Column("loaded_at", UtcTimestamp, nullable=False),
    sa.Column("as_of", UtcTimestamp, nullable=False),
    sa.Column("final", sa.Boolean, nullable=False),
    sa.Column("since", UtcTimestamp, nullable=False),
    sa.Column("rows_pulled", Count, nullable=False),
    sa.Column("rows_landed", Count, nullable=False),
    sa.Column("rows_quarantined", Count, nullable=False),
)

# Each difference between the booking system's payments and Stripe's, per venue and night, in
# one sentence; a night that reconciles has no rows.
payment_reconciliation = sa.Table(
    "payment_reconciliation",
    WAREHOUSE,
    sa.Column("business_date", sa.Date, nullable=False),
    sa.Column("venue_id", sa.Text, nullable=False),
    sa.Column("booking_id", sa.Text, nullable=True),
    sa.Column("kind", sa.Text, nullable=False),  # deposit or refund
    sa.Column("booking_system_pence", Money, nullable=False),
    sa.Column("stripe_pence", Money, nullable=False),
    sa.Column("stripe_ids", sa.Text, nullable=False),  # comma-separated, empty when none
    sa.Column("difference", sa.Text, nullable=False),
    sa.Index(None, "business_date", "venue_id"),
)
