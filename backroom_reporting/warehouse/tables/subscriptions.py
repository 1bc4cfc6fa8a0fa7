"""Report recipients and their subscriptions: who gets which report, when, where and how.

Lists (formats, channels) and the filter object are JSON text, the same on SQLite and
PostgreSQL. There is no foreign key from subscriptions to recipients: the subscriptions
service checks every reference, and the demo distribution list is replaced as a whole.
"""

import sqlalchemy as sa

from backroom_reporting.warehouse.tables.metadata import WAREHOUSE
from backroom_reporting.warehouse.types import UtcTimestamp

report_recipients = sa.Table(
    "report_recipients",
    WAREHOUSE,
    sa.Column("recipient_id", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    # Null for someone reached only by Slack, webhook or the dashboard.
    sa.Column("email", sa.Text, nullable=True),
    sa.Column("phone", sa.Text, nullable=True),  # E.164, e.g. +447700900123
    # Where Slack deliveries go: a channel id (C…) or a member id (U…) for a direct message.
    sa.Column("slack_channel", sa.Text, nullable=True),
    sa.Column("role", sa.Text, nullable=False),  # owner, manager, events, finance
    sa.Column("preferred_formats", sa.Text, nullable=False),  # JSON list of pdf, html, xlsx, csv
    # JSON list of email, sms, slack, webhook, dashboard, api
    sa.Column("preferred_channels", sa.Text, nullable=False),
    sa.Column("timezone", sa.Text, nullable=False, server_default="Europe/London"),  # IANA name
    # GDPR: what the person agreed to be sent, and when that was recorded.
    sa.Column("email_consent", sa.Boolean, nullable=False),
    sa.Column("sms_consent", sa.Boolean, nullable=False),
    sa.Column("consent_recorded_at", UtcTimestamp, nullable=True),
    sa.Column("email_verified", sa.Boolean, nullable=False),
    sa.Column("email_verified_at", UtcTimestamp, nullable=True),  # when the signed link was followed
    sa.Column("verification_sent_at", UtcTimestamp, nullable=True),  # the last verification email
    # Set by delivery on a hard bounce or a spam complaint: nothing more is sent by email.
    sa.Column("suppressed", sa.Boolean, nullable=False),
    sa.Column("suppressed_at", UtcTimestamp, nullable=True),
    sa.Column("suppressed_reason", sa.Text, nullable=True),
    sa.Column("created_at", UtcTimestamp, nullable=False),
)

report_subscriptions = sa.Table(
    "report_subscriptions",
    WAREHOUSE,
    sa.Column("subscription_id", sa.Text, primary_key=True),
    sa.Column("recipient_id", sa.Text, nullable=False),
    sa.Column("template_key", sa.Text, nullable=False),  # a layout in report_layouts/
    # Null: the template's default schedule and timezone.
    sa.Column("cron", sa.Text, nullable=True),
    sa.Column("timezone", sa.Text, nullable=True),
    sa.Column("filters", sa.Text, nullable=False),  # JSON object: venue_id, and brand when narrowed
    sa.Column("channels", sa.Text, nullable=False),  # JSON list
    sa.Column("formats", sa.Text, nullable=True),  # JSON list; null: the recipient's preferred formats
    # The webhook channel: where to POST, and the Standard Webhooks secret (whsec_…) it is signed
    # with. After a rotation the previous secret signs too, until the receiver has switched.
    sa.Column("webhook_url", sa.Text, nullable=True),
    sa.Column("webhook_secret", sa.Text, nullable=True),
    sa.Column("webhook_previous_secret", sa.Text, nullable=True),
    sa.Column("webhook_secret_rotated_at", UtcTimestamp, nullable=True),
    sa.Column("paused", sa.Boolean, nullable=False),
    sa.Column("next_delivery_at", UtcTimestamp, nullable=True),  # null while paused
    sa.Column("created_at", UtcTimestamp, nullable=False),
    sa.Column("updated_at", UtcTimestamp, nullable=False),
    sa.Index(None, "recipient_id"),
    sa.Index(None, "template_key"),
    # Deliveries look for subscriptions falling due.
    sa.Index(None, "next_delivery_at"),
)
