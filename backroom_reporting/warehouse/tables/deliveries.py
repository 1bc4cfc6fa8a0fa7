"""Deliveries: every report sent to every address, its lifecycle, consents and API tokens.

report_deliveries holds one row per (subscription, period, channel, address), keyed by
its idempotency key; the row is claimed before a send and its outcome recorded after it
(docs/delivery.md, "Exactly once"). report_delivery_history is the lifecycle, one row per
change of status, with when, what and who said so (a run, a provider callback, a click).
"""

import sqlalchemy as sa

from backroom_reporting.warehouse.tables.metadata import WAREHOUSE
from backroom_reporting.warehouse.types import UtcTimestamp

# An autoincrementing key: SQLite only autoincrements INTEGER PRIMARY KEY.
EventId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

report_deliveries = sa.Table(
    "report_deliveries",
    WAREHOUSE,
    # The idempotency key: a hash of (subscription, period, channel, address), and "stale" for
    # the last good report sent in place of the period's failed one.
    sa.Column("delivery_id", sa.Text, primary_key=True),
    sa.Column("subscription_id", sa.Text, nullable=False),
    sa.Column("recipient_id", sa.Text, nullable=False),
    sa.Column("template_key", sa.Text, nullable=False),
    sa.Column("period", sa.Text, nullable=False),  # the period's label: 2026-11-28, 2026-W47
    sa.Column("period_first_day", sa.Date, nullable=False),
    sa.Column("period_last_day", sa.Date, nullable=False),
    sa.Column("channel", sa.Text, nullable=False),  # email, sms, slack, webhook, dashboard, api
    # What the channel sends to: an email address, an E.164 number, a Slack channel, a URL,
    # or the recipient id for the dashboard and API.
    sa.Column("address", sa.Text, nullable=False),
    sa.Column("generation_id", sa.Text, nullable=False),  # the report delivered
    # A stale delivery: the last good report sent because this period's report failed, and why.
    sa.Column("stale_reason", sa.Text, nullable=True),
    sa.Column("status", sa.Text, nullable=False),  # the latest status of its lifecycle
    sa.Column("status_at", UtcTimestamp, nullable=False),
    sa.Column("detail", sa.Text, nullable=True),  # why, in one sentence, when not plain sailing
    sa.Column("attempts", sa.BigInteger, nullable=False),  # sends tried
    # For a failed delivery: whether trying again may work (a refusal for now, not for good).
    sa.Column("retryable", sa.Boolean, nullable=True),
    sa.Column("provider_message_id", sa.Text, nullable=True),
    # The run (or process) that holds the claim while the status is `sending`.
    sa.Column("claimed_by", sa.Text, nullable=True),
    sa.Column("queued_at", UtcTimestamp, nullable=False),
    sa.Column("sent_at", UtcTimestamp, nullable=True),
    sa.Column("delivered_at", UtcTimestamp, nullable=True),
    sa.Column("opened_at", UtcTimestamp, nullable=True),
    sa.Column("clicked_at", UtcTimestamp, nullable=True),
    sa.Index(None, "subscription_id", "period"),
    sa.Index(None, "status"),
    sa.Index(None, "provider_message_id"),
)

report_delivery_history = sa.Table(
    "report_delivery_history",
    WAREHOUSE,
    sa.Column("event_id", EventId, primary_key=True, autoincrement=True),
    sa.Column("delivery_id", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("at", UtcTimestamp, nullable=False),
    sa.Column("detail", sa.Text, nullable=True),
    # Who said so: a Dagster run id, or sendgrid, postmark, twilio, slack, tracking, reconcile.
    sa.Column("source", sa.Text, nullable=False),
    sa.Index(None, "delivery_id", "at"),
)

# GDPR: every consent given or withdrawn, by whom, when and how. report_recipients keeps
# the current state; this keeps how it came to be.
consent_events = sa.Table(
    "consent_events",
    WAREHOUSE,
    sa.Column("event_id", EventId, primary_key=True, autoincrement=True),
    sa.Column("recipient_id", sa.Text, nullable=False),
    sa.Column("subscription_id", sa.Text, nullable=True),  # an unsubscribe from one subscription
    sa.Column("channel", sa.Text, nullable=False),  # email, sms, ...
    sa.Column("action", sa.Text, nullable=False),  # granted | withdrawn
    sa.Column("at", UtcTimestamp, nullable=False),
    sa.Column("how", sa.Text, nullable=False),  # e.g. one-click unsubscribe, SMS STOP, backroom CLI
    sa.Column("by", sa.Text, nullable=False),  # the person, or the address the request came from
    sa.Index(None, "recipient_id", "at"),
)

# The API: a bearer token for a recipient (their deliveries) or for a portal account (what
# its role may read), kept as its SHA-256 only. Exactly one of recipient_id and user_id is set.
api_tokens = sa.Table(
    "api_tokens",
    WAREHOUSE,
    sa.Column("token_id", sa.Text, primary_key=True),
    sa.Column("token_sha256", sa.Text, nullable=False, unique=True),
    sa.Column("recipient_id", sa.Text, nullable=True),
    sa.Column("user_id", sa.Text, nullable=True),
    sa.Column("scopes", sa.Text, nullable=False),  # JSON list, e.g. ["deliveries:read"]
    sa.Column("created_at", UtcTimestamp, nullable=False),
    sa.Column("expires_at", UtcTimestamp, nullable=True),
    sa.Column("revoked_at", UtcTimestamp, nullable=True),
)
