"""Every environment variable the platform reads, with its default, in one place.

Values are read when a resource or command runs, never at import time, except the
three that shape the code location itself: LAYOUTS_DIR (each layout brings a schedule),
HISTORY_START (where every partition begins) and BACKFILL_POLICY (how a backfill is cut
into runs). Dagster reads a `.env` file in the
working directory before it loads the code location; `backroom demo` records the demo's
first night there. The README's configuration table is this module written out.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import dagster as dg


@dataclass(frozen=True)
class Setting:
    env: str
    default: str
    help: str

    def get(self) -> str:
        return os.environ.get(self.env) or self.default

    def for_resource(self) -> dg.EnvVar | None:
        """Resource config: the variable itself when it is set (resolved when a run starts, and
        shown as such in the Dagster UI), else nothing, and the resource reads the setting when
        a run starts; a default taken here would outlive a variable set after the code loads."""
        return dg.EnvVar(self.env) if os.environ.get(self.env) else None


SOURCE_URL = Setting(
    "BACKROOM_SOURCE_URL",
    "sqlite:///var/booking.db",
    "SQLAlchemy URL of the booking system's database (the source contract).",
)
WAREHOUSE_URL = Setting(
    "BACKROOM_WAREHOUSE_URL",
    "sqlite:///var/warehouse.db",
    "SQLAlchemy URL of the reporting warehouse; on PostgreSQL its tables live in schema `reporting`.",
)
WAREHOUSE_WORK_MEM = Setting(
    "BACKROOM_WAREHOUSE_WORK_MEM",
    "64MB",
    "On PostgreSQL, the memory (`work_mem`) each sort or grouping of a warehouse query may use "
    "before it spills to disk.",
)

PSEUDONYM_KEY = Setting(
    "BACKROOM_PSEUDONYM_KEY",
    "backroom-demo-pseudonym-key",
    "Secret key of the keyed hash (HMAC-SHA256) that turns customer ids into analytics keys; "
    "set your own in production, and keep it: changing it changes every key.",
)

LAYOUTS_DIR = Setting(
    "BACKROOM_LAYOUTS_DIR",
    "report_layouts",
    "Folder of report layouts (YAML), their Jinja2 templates and stylesheet; a layout added "
    "here becomes a report with its own schedule.",
)
ALERT_RULES = Setting(
    "BACKROOM_ALERT_RULES",
    "report_layouts/alerts/rules.yaml",
    "The alert rules (YAML): what the platform watches, how severe, whom it tells and how it escalates.",
)
ON_CALL = Setting(
    "BACKROOM_ON_CALL",
    "report_layouts/alerts/on_call.yaml",
    "Who is on call when, whom the last step texts, the Slack channel for incidents, and each "
    "escalation policy's timings (YAML).",
)
REPORT_STORE = Setting(
    "BACKROOM_REPORT_STORE",
    "var/reports",
    "Folder where rendered reports are kept, content-addressed (one file per distinct content).",
)
HISTORY_START = Setting(
    "BACKROOM_HISTORY_START",
    "2024-01-01",
    "The first business day the platform keeps (YYYY-MM-DD): every partition starts here. Read "
    "when the code location loads; `backroom demo` writes its first night into `.env`.",
)
BACKFILL_POLICY = Setting(
    "BACKROOM_BACKFILL_POLICY",
    "single_run",
    "How a backfill of nights is cut into runs: `single_run` (the whole range in one run) or "
    "`multi_run:<N>` (runs of at most N nights, which a deployment with a run per pod spreads "
    "over parallel pods; docs/deploy.md). Read when the code location loads.",
)
RETENTION = Setting(
    "BACKROOM_RETENTION",
    "report_layouts/privacy/retention.yaml",
    "Days each table keeps what it holds about people (YAML: a default of 90 and any table's own): "
    "report files, report and delivery history, the access log, quarantined values, customer ids "
    "of raw facts; the Sunday maintenance removes the rest (docs/privacy.md).",
)
EXECUTION_HISTORY_DAYS = Setting(
    "BACKROOM_EXECUTION_HISTORY_DAYS",
    "90",
    "Days runs stay in job_execution_history; the Sunday housekeeping moves older ones to "
    "job_execution_history_archive.",
)

# --- delivery (docs/delivery.md) --------------------------------------------------------------

PORTAL_URL = Setting(
    "BACKROOM_PORTAL_URL",
    "http://127.0.0.1:8000",
    "The web app's address as recipients reach it: the base of every link in a message "
    "(downloads, unsubscribe, verification, tracking, sign-in); an https:// address makes the "
    "session cookie Secure.",
)
LINK_SECRET = Setting(
    "BACKROOM_LINK_SECRET",
    "backroom-demo-link-secret",
    "Secret that signs the links in messages (downloads, unsubscribe, verification, tracking, "
    "incidents); set your own in production: changing it invalidates every link already sent.",
)
DOWNLOAD_LINK_DAYS = Setting(
    "BACKROOM_DOWNLOAD_LINK_DAYS", "7", "Days a signed download link in a message keeps working."
)
OUTBOX_DIR = Setting(
    "BACKROOM_OUTBOX",
    "var/outbox",
    "Where messages go when a channel has no provider configured: emails as .eml files, SMS, "
    "Slack and webhook payloads as JSON beside them.",
)
SMTP_URL = Setting(
    "BACKROOM_SMTP_URL",
    "",
    "The mail relay, e.g. smtp://user:password@smtp.sendgrid.net:587 (STARTTLS) or "
    "smtps://user:password@smtp.postmarkapp.com:465 (TLS from the start); empty: the outbox.",
)
SMTP_CA_FILE = Setting(
    "BACKROOM_SMTP_CA_FILE",
    "",
    "A PEM file of certificates to trust for the mail relay besides the system's (a company relay "
    "with its own authority, or the tests' loopback server); empty: the system's only.",
)
MAIL_FROM = Setting(
    "BACKROOM_MAIL_FROM",
    "The Backroom Leeds <reports@backroom-leeds.example>",
    "The From of every email.",
)
EMAIL_SIZE_CAP_MB = Setting(
    "BACKROOM_EMAIL_SIZE_CAP_MB",
    "10",
    "Attachments above this size in all go as a signed download link instead.",
)
TWILIO_ACCOUNT_SID = Setting("TWILIO_ACCOUNT_SID", "", "Twilio account for SMS; empty: SMS go to the outbox.")
TWILIO_AUTH_TOKEN = Setting(
    "TWILIO_AUTH_TOKEN", "", "Twilio auth token: sends SMS and checks the signature of inbound ones."
)
TWILIO_FROM = Setting("TWILIO_FROM", "", "The number (E.164) or messaging service SID SMS come from.")
TWILIO_BASE_URL = Setting(
    "TWILIO_BASE_URL", "", "Another address for Twilio's API (tests point it at a loopback server)."
)
SLACK_BOT_TOKEN = Setting(
    "SLACK_BOT_TOKEN", "", "Slack bot token (xoxb-…); empty: Slack messages go to the outbox."
)
SLACK_BASE_URL = Setting(
    "SLACK_BASE_URL", "", "Another address for Slack's Web API (tests point it at a loopback server)."
)
SLACK_SIGNING_SECRET = Setting(
    "BACKROOM_SLACK_SIGNING_SECRET",
    "",
    "The Slack app's signing secret, which checks its button clicks (an incident's Acknowledge); "
    "empty: every Slack request is refused.",
)
SENDGRID_WEBHOOK_PUBLIC_KEY = Setting(
    "SENDGRID_WEBHOOK_PUBLIC_KEY",
    "",
    "The verification key of SendGrid's signed event webhook; empty: SendGrid events are refused.",
)
POSTMARK_WEBHOOK_CREDENTIALS = Setting(
    "POSTMARK_WEBHOOK_CREDENTIALS",
    "",
    "user:password that Postmark's webhook sends by basic auth; empty: Postmark events are refused.",
)
ALERT_WEBHOOK_URL = Setting(
    "BACKROOM_ALERT_WEBHOOK_URL",
    "",
    "Where alert rules with the webhook channel POST their incidents (signed as report webhooks "
    "are); empty: those go to the outbox.",
)
ALERT_WEBHOOK_SECRET = Setting(
    "BACKROOM_ALERT_WEBHOOK_SECRET", "", "The secret (whsec_…) that signs the alert webhook's requests."
)

# --- Stripe (docs/connectors.md) ----------------------------------------------------------------

STRIPE_API_KEY = Setting(
    "STRIPE_API_KEY",
    "",
    "Stripe secret or restricted key (read access to charges, refunds, disputes and payouts). Read "
    "when the code location loads: set, the Stripe assets, their job and schedules are part of it; "
    "empty, they are absent and the booking system's payments are the only payment data.",
)
STRIPE_BASE_URL = Setting(
    "STRIPE_BASE_URL", "", "Another address for Stripe's API (the tests point it at a loopback server)."
)
STRIPE_WEBHOOK_SECRET = Setting(
    "STRIPE_WEBHOOK_SECRET",
    "",
    "The signing secret (whsec_…) of the Stripe webhook endpoint /hooks/stripe; empty: every Stripe "
    "event is refused.",
)

# --- connectors (docs/connectors.md) ----------------------------------------------------------

TICKETS_SOURCE = Setting(
    "BACKROOM_TICKETS_SOURCE",
    "booking_system",
    "Where ticket sales come from: `booking_system` (its ticket_sales table) or `fatsoma` (Fatsoma's "
    "orders, pulled by the connector; the booking system's ticket_sales is then not read at all).",
)
FATSOMA_BASE_URL = Setting(
    "FATSOMA_BASE_URL",
    "https://api.fatsoma.com/v1",
    "Fatsoma's API (tests point it at a loopback server).",
)
FATSOMA_API_KEY = Setting(
    "FATSOMA_API_KEY", "", "The promoter account's Fatsoma API key (sent as a bearer token)."
)
FATSOMA_VENUES = Setting(
    "FATSOMA_VENUES",
    "",
    "Fatsoma location ids and the venues they are: `location-id=venue-id,...`; an event at a location "
    "not listed is quarantined naming it.",
)
FATSOMA_TIMEOUT_SECONDS = Setting("FATSOMA_TIMEOUT_SECONDS", "30", "Seconds one request to Fatsoma may take.")
FATSOMA_MAX_RETRIES = Setting(
    "FATSOMA_MAX_RETRIES", "5", "Times a failed request to Fatsoma (5xx, 429, timeout) is tried again."
)
