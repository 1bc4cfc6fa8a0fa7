"""Report recipients and subscriptions: who gets which report, on what schedule, by which channels.

Plain functions over the warehouse `Database`, with no click and no Dagster, shared by the
command line, the demo distribution list and the assets. Everything is checked before
anything is written; a refusal is a SubscriptionError saying what was wrong and what
would be accepted.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import getpass
import json
import re
import secrets
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import phonenumbers
import polars as pl
import sqlalchemy as sa
from croniter import croniter

from backroom_reporting import settings
from backroom_reporting.choices import listing, one_of
from backroom_reporting.config_types import checked_cron, checked_timezone
from backroom_reporting.metrics.business_time import VENUE_TIMEZONE
from backroom_reporting.rendering.layouts import Layout, LayoutError, load_layouts
from backroom_reporting.rendering.model import FORMATS, GROUP
from backroom_reporting.warehouse.database import Database
from backroom_reporting.warehouse.source_contract import BRANDS
from backroom_reporting.warehouse.tables.deliveries import consent_events
from backroom_reporting.warehouse.tables.raw import RAW
from backroom_reporting.warehouse.tables.subscriptions import report_recipients, report_subscriptions
from backroom_reporting.warehouse.types import table_schema

ROLES = ("owner", "manager", "events", "finance")
CHANNELS = ("email", "sms", "slack", "webhook", "dashboard", "api")
DEFAULT_FORMATS = ("pdf",)
DEFAULT_CHANNELS = ("email",)
# Ids become Dagster partition keys and appear in URLs: keep them plain.
ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]*")
EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# A host name's label (RFC 1123), once an international domain is in its ASCII (IDNA) form.
DOMAIN_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
MAX_EMAIL = 254  # RFC 5321's longest path
MAX_NAME = 100
# Numbers without a country code are read as British: the venues are in the UK.
PHONE_REGION = "GB"
PHONE_TYPES = (
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
)
# Ofcom keeps 07700 900000-900999 for drama: never assigned, so `phonenumbers` does not know
# them. They are accepted as mobiles that reach no one: the demo and the tests use them.
DRAMA_MOBILES = re.compile(r"\+447700900\d{3}")
# A Slack conversation id: a public (C) or private (G) channel, a direct message (D) or a member (U).
SLACK_CHANNEL_PATTERN = re.compile(r"[CGDU][A-Z0-9]{8,11}")
# Plain http only to a receiver on this machine (tests, a local relay): anything else is https.
LOCAL_HOSTS = ("127.0.0.1", "localhost")
WEBHOOK_SECRET_BYTES = 24
CONSENT_ACTIONS = ("granted", "withdrawn")
# Longer than any clock change (one hour in the UK, two at most anywhere).
CLOCK_CHANGE_MARGIN = dt.timedelta(hours=3)


class SubscriptionError(ValueError):
    """A request the subscriptions service refuses, saying why and what would be accepted."""


@dataclasses.dataclass(frozen=True)
class Recipient:
    recipient_id: str
    name: str
    email: str | None
    phone: str | None
    role: str
    preferred_formats: tuple[str, ...]
    preferred_channels: tuple[str, ...]
    timezone: str
    email_consent: bool
    sms_consent: bool
    consent_recorded_at: dt.datetime | None
    email_verified: bool
    suppressed: bool
    created_at: dt.datetime
    slack_channel: str | None = None
    email_verified_at: dt.datetime | None = None
    verification_sent_at: dt.datetime | None = None
    suppressed_at: dt.datetime | None = None
    suppressed_reason: str | None = None

    def __str__(self) -> str:
        return f"{self.name} ({self.recipient_id})"


@dataclasses.dataclass(frozen=True)
class Subscription:
    subscription_id: str
    recipient_id: str
    template_key: str
    cron: str | None  # None: the template's default schedule
    timezone: str | None  # None: the template's timezone
    # One venue's report: venue_id, and brand when narrowed to one. The group's (every venue
    # side by side, a group layout): scope "group" and nothing else.
    filters: dict[str, str]
    channels: tuple[str, ...]
    formats: tuple[str, ...] | None  # None: the recipient's preferred formats
    paused: bool
    next_delivery_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    webhook_url: str | None = None
    webhook_secret: str | None = None  # whsec_…, Standard Webhooks
    webhook_previous_secret: str | None = None  # still signs for a while after a rotation
    webhook_secret_rotated_at: dt.datetime | None = None

    @property
    def venue_id(self) -> str | None:
        """The venue whose report this is; None for a group report."""
        return self.filters.get("venue_id")

    @property
    def group(self) -> bool:
        return self.filters.get("scope") == GROUP

    @property
    def brand(self) -> str | None:
        return self.filters.get("brand")

    def delivery_schedule(self, template: Layout, recipient: Recipient) -> tuple[str, str]:
        """The cron expression and timezone deliveries follow: the subscription's own cron, else the
        template's, on the clock of the subscription's timezone, else the recipient's, else the
        template's."""
        timezone = self.timezone or recipient.timezone or template.timezone
        return self.cron or template.cron, timezone


# --- schedules --------------------------------------------------------------------------------


def next_delivery(cron: str, timezone: str, after: dt.datetime) -> dt.datetime:
    """The first time `cron`, read on the wall clock of `timezone`, fires after `after` (in UTC).

    A wall-clock time the clocks skip in spring fires as far after the jump as it was
    after the last minute before it (01:30 becomes 02:30 BST); a time repeated in autumn
    fires once, at its first occurrence.
    """
    if after.tzinfo is None:
        raise ValueError(f"naive datetime {after!r}: `after` must be timezone-aware")
    zone = ZoneInfo(timezone)
    after = after.astimezone(dt.UTC)
    # Read the wall clock from a little before `after`: a skipped time just before it on the
    # wall clock can still be due just after it.
    wall_clock = croniter(cron, (after - CLOCK_CHANGE_MARGIN).astimezone(zone).replace(tzinfo=None))
    while True:
        # fold=0 (the default): the first of a repeated time, the pre-change offset in a gap.
        candidate = wall_clock.get_next(dt.datetime).replace(tzinfo=zone).astimezone(dt.UTC)
        if candidate > after:
            return candidate


# --- checks -----------------------------------------------------------------------------------


def _one_of(what: str, value: str, known: Sequence[str]) -> str:
    return one_of(what, value, known, SubscriptionError)


def _checked_list(what: str, values: Iterable[str], known: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_one_of(what, v, known) for v in values))


def _checked(what: str, check: Callable[[str], str], value: str) -> str:
    """`value` passed by one of config_types' checks, else a SubscriptionError naming `what`."""
    try:
        return check(value)
    except ValueError as exc:
        raise SubscriptionError(f"{what} {exc}") from None


def _checked_name(name: str) -> str:
    """A person's name as one line of sensible length (it heads emails and report covers)."""
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in name):
        raise SubscriptionError(
            f"a recipient's name is one line of text, without control characters: {name[:40]!r}"
        )
    name = " ".join(name.split())
    if not name:
        raise SubscriptionError("a recipient needs a name")
    if len(name) > MAX_NAME:
        raise SubscriptionError(f"a recipient's name has at most {MAX_NAME} characters, not {len(name):,}")
    return name


def _checked_id(what: str, value: str | None, prefix: str) -> str:
    if value is None:
        return f"{prefix}-{uuid.uuid4().hex[:8]}"
    if not ID_PATTERN.fullmatch(value):
        raise SubscriptionError(f"{what} id {value!r} must be lower-case letters, digits and hyphens")
    return value


def _checked_email(email: str) -> str:
    """An address in lower case (one address, one recipient), with a plausible domain."""
    email = email.strip().lower()
    if not EMAIL_PATTERN.fullmatch(email) or len(email) > MAX_EMAIL:
        raise SubscriptionError(f"{email!r} is not an email address")
    domain = email.rpartition("@")[2]
    try:
        labels = domain.encode("idna").decode("ascii").split(".")
    except UnicodeError:
        labels = []
    if len(labels) < 2 or not all(DOMAIN_LABEL.fullmatch(label) for label in labels):
        raise SubscriptionError(
            f"{email!r} is not an email address: {domain!r} is not a domain name "
            "(letters, digits and hyphens, in at least two parts separated by dots)"
        )
    return email


def checked_phone(phone: str) -> str:
    """A number in use, in E.164 (+447700900123); without a country code it is read as British."""
    refusal = SubscriptionError(
        f"{phone!r} is not a phone number in use: give a UK mobile or landline number "
        "(e.g. 07700 900123) or an international one starting with + and its country code"
    )
    try:
        number = phonenumbers.parse(phone, PHONE_REGION)
    except phonenumbers.NumberParseException:
        raise refusal from None
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if DRAMA_MOBILES.fullmatch(e164):
        return e164
    if not phonenumbers.is_valid_number(number) or phonenumbers.number_type(number) not in PHONE_TYPES:
        raise refusal
    return e164


def is_mobile(e164: str) -> bool:
    """Whether a stored number can take a text message (a landline cannot)."""
    if DRAMA_MOBILES.fullmatch(e164):
        return True
    kind = phonenumbers.number_type(phonenumbers.parse(e164))
    return kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)


def _checked_slack_channel(channel: str) -> str:
    channel = channel.strip()
    if not SLACK_CHANNEL_PATTERN.fullmatch(channel):
        raise SubscriptionError(
            f"{channel!r} is not a Slack channel or member id: C, G, D or U and 8 to 11 upper-case "
            "letters or digits (e.g. C0123456789; Slack shows it under the channel's details)"
        )
    return channel


def _checked_webhook_url(url: str) -> str:
    """An https URL with a host and no credentials or fragment (http only to this machine)."""
    parts = urlsplit(url.strip())
    refused = f"webhook URL {url!r} is refused:"
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise SubscriptionError(f"{refused} give an https URL with a host, e.g. https://example.com/hooks")
    if parts.scheme == "http" and parts.hostname not in LOCAL_HOSTS:
        raise SubscriptionError(
            f"{refused} reports are only posted over https (http only to {LOCAL_HOSTS[0]})"
        )
    if parts.username is not None or parts.password is not None:
        raise SubscriptionError(
            f"{refused} it holds a user name or password; the receiver checks the signature instead"
        )
    if parts.fragment:
        raise SubscriptionError(f"{refused} a fragment (#{parts.fragment}) is never sent to the receiver")
    return parts.geturl()


def new_webhook_secret() -> str:
    """A Standard Webhooks signing secret: whsec_ and base64 of random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(WEBHOOK_SECRET_BYTES)).decode("ascii")


def _checked_reach(recipient: Recipient, channels: Sequence[str]) -> None:
    """Refuse channels the recipient cannot be reached by or has not consented to."""
    if not channels:
        raise SubscriptionError(f"choose at least one channel for {recipient.name}: {listing(CHANNELS)}")
    if "email" in channels:
        if not recipient.email:
            raise SubscriptionError(f"{recipient.name} has no email address, which the email channel needs")
        if not recipient.email_consent:
            raise SubscriptionError(
                f"{recipient.name} has not consented to reports by email: record their consent "
                "before choosing the email channel"
            )
    if "sms" in channels:
        if not recipient.phone:
            raise SubscriptionError(f"{recipient.name} has no phone number, which the sms channel needs")
        if not is_mobile(recipient.phone):
            raise SubscriptionError(
                f"{recipient.name}'s number {recipient.phone} is a landline: the sms channel needs a mobile"
            )
        if not recipient.sms_consent:
            raise SubscriptionError(
                f"{recipient.name} has not consented to messages by SMS: record their consent "
                "before choosing the sms channel"
            )
    if "slack" in channels and not recipient.slack_channel:
        raise SubscriptionError(
            f"{recipient.name} has no Slack channel or member id, which the slack channel needs"
        )


def _now(now: dt.datetime | None) -> dt.datetime:
    if now is None:
        return dt.datetime.now(dt.UTC)
    if now.tzinfo is None:
        raise ValueError(f"naive datetime {now!r}: `now` must be timezone-aware")
    return now.astimezone(dt.UTC)


# --- templates and venues ---------------------------------------------------------------------


def load_templates(layouts_dir: Path | str | None = None) -> dict[str, Layout]:
    """The report templates (layouts) by key; the folder defaults to settings.LAYOUTS_DIR."""
    folder = Path(layouts_dir or settings.LAYOUTS_DIR.get())
    try:
        templates = load_layouts(folder)
    except LayoutError as exc:
        raise SubscriptionError(f"cannot read the report templates: {exc}") from exc
    if not templates:
        raise SubscriptionError(f"no report templates in {folder.resolve()}")
    return templates


def _template(templates: Mapping[str, Layout], key: str) -> Layout:
    if key not in templates:
        raise SubscriptionError(f"unknown template {key!r}; known: {listing(sorted(templates))}")
    return templates[key]


def venues(db: Database) -> dict[str, str]:
    """The warehouse's venues: id -> name."""
    table = RAW["venues"]
    frame = db.read_columns(table.c.venue_id, table.c.name).sort("venue_id")
    return dict(frame.iter_rows())


def _venuelisting(known: dict[str, str]) -> str:
    return listing(f"{venue_id} ({name})" for venue_id, name in known.items())


def _checked_venue(venue_id: str | None, known: dict[str, str]) -> str:
    if venue_id is None:
        if len(known) == 1:
            return next(iter(known))
        raise SubscriptionError(f"choose a venue: {_venuelisting(known)}")
    if venue_id not in known:
        raise SubscriptionError(f"unknown venue {venue_id!r}; known: {_venuelisting(known)}")
    return venue_id


def _checked_filters(
    template: Layout,
    templates: dict[str, Layout],
    known: dict[str, str],
    venue_id: str | None,
    brand: str | None,
    group: bool,
) -> dict[str, str]:
    """A subscription's filters: one venue's report (and a brand), or the group's, as the
    template's scope allows (docs/reports.md "Group reports")."""
    if not known:
        raise SubscriptionError(
            "the warehouse holds no venues yet: load the booking system's data before subscribing"
        )
    if group:
        if template.scope != "group":
            of_group = sorted(k for k, t in templates.items() if t.scope == "group")
            raise SubscriptionError(
                f"{template.key} is one venue's report; for every venue side by side choose "
                f"{listing(of_group) or 'a group layout (scope: group)'}"
            )
        if venue_id is not None:
            raise SubscriptionError(
                f"a group report covers every venue: subscribe to the group or to venue {venue_id!r}, "
                "not both"
            )
        if brand is not None:
            raise SubscriptionError(
                "a group report shows every venue's whole nights, so it takes no brand; "
                "a brand narrows one venue's report"
            )
        return {"scope": GROUP}
    if template.scope == "group":
        raise SubscriptionError(
            f"{template.key} shows every venue side by side: subscribe to it as a group report, "
            "without a venue (backroom subscriptions add --group)"
        )
    filters = {"venue_id": _checked_venue(venue_id, known)}
    if brand is not None:
        filters["brand"] = _one_of("brand", brand, BRANDS)
    return filters


# --- recipients -------------------------------------------------------------------------------


def new_recipient(
    name: str,
    role: str,
    *,
    email: str | None = None,
    phone: str | None = None,
    slack_channel: str | None = None,
    formats: Iterable[str] = (),
    channels: Iterable[str] = (),
    timezone: str = VENUE_TIMEZONE,
    email_consent: bool = False,
    sms_consent: bool = False,
    recipient_id: str | None = None,
    now: dt.datetime | None = None,
) -> Recipient:
    """A checked recipient, not yet stored. Without formats or channels: PDF by email."""
    now = _now(now)
    name = _checked_name(name)
    recipient = Recipient(
        recipient_id=_checked_id("recipient", recipient_id, "rcp"),
        name=name,
        email=None if email is None else _checked_email(email),
        phone=None if phone is None else checked_phone(phone),
        slack_channel=None if slack_channel is None else _checked_slack_channel(slack_channel),
        role=_one_of("role", role, ROLES),
        preferred_formats=_checked_list("format", formats, FORMATS) or DEFAULT_FORMATS,
        preferred_channels=_checked_list("channel", channels, CHANNELS) or DEFAULT_CHANNELS,
        timezone=_checked("timezone", checked_timezone, timezone),
        email_consent=email_consent,
        sms_consent=sms_consent,
        consent_recorded_at=now if email_consent or sms_consent else None,
        email_verified=False,
        suppressed=False,
        created_at=now,
    )
    _checked_reach(recipient, recipient.preferred_channels)
    return recipient


def add_recipient(
    db: Database, name: str, role: str, *, how: str = "backroom CLI", by: str | None = None, **details
) -> Recipient:
    """Check and store a new recipient (details as for `new_recipient`), with a consent event for
    each consent given: `how` it was given and who recorded it (`by`, default: this login)."""
    recipient = new_recipient(name, role, **details)
    if _recipients(db, report_recipients.c.recipient_id == recipient.recipient_id):
        raise SubscriptionError(f"recipient {recipient.recipient_id} already exists")
    if recipient.email is not None:
        same = _recipients(db, report_recipients.c.email == recipient.email)
        if same:
            raise SubscriptionError(
                f"{recipient.email} is already the address of {same[0].name} ({same[0].recipient_id})"
            )
    by = by or getpass.getuser()
    with db.engine.begin() as conn:
        conn.execute(sa.insert(report_recipients).values(_recipient_row(recipient)))
        for channel, given in (("email", recipient.email_consent), ("sms", recipient.sms_consent)):
            if given:
                conn.execute(
                    consent_event(recipient.recipient_id, channel, "granted", how, by, recipient.created_at)
                )
    return recipient


def consent_event(
    recipient_id: str,
    channel: str,
    action: str,
    how: str,
    by: str,
    at: dt.datetime,
    subscription_id: str | None = None,
) -> sa.Insert:
    """The consent_events row recording that `by` gave or withdrew consent, `how`, `at` a moment."""
    return sa.insert(consent_events).values(
        recipient_id=recipient_id,
        subscription_id=subscription_id,
        channel=_one_of("channel", channel, CHANNELS),
        action=_one_of("consent action", action, CONSENT_ACTIONS),
        at=at,
        how=how,
        by=by,
    )


def list_recipients(db: Database) -> list[Recipient]:
    return _recipients(db)


def get_recipient(db: Database, recipient_id: str) -> Recipient:
    found = _recipients(db, report_recipients.c.recipient_id == recipient_id)
    if not found:
        known = db.read_columns(report_recipients.c.recipient_id)["recipient_id"].sort()
        raise SubscriptionError(f"unknown recipient {recipient_id!r}; known: {listing(known) or 'none yet'}")
    return found[0]


# --- subscriptions ----------------------------------------------------------------------------


def new_subscription(
    recipient: Recipient,
    template_key: str,
    *,
    templates: dict[str, Layout],
    known_venues: dict[str, str],
    cron: str | None = None,
    timezone: str | None = None,
    venue_id: str | None = None,
    brand: str | None = None,
    group: bool = False,
    channels: Iterable[str] = (),
    formats: Iterable[str] = (),
    webhook_url: str | None = None,
    subscription_id: str | None = None,
    now: dt.datetime | None = None,
) -> Subscription:
    """A checked, active subscription, not yet stored: one venue's report, or with `group` the
    group's (a group layout: every venue side by side). Without channels it uses the recipient's
    preferred channels; without formats it follows the recipient's preferred formats. With the
    webhook channel it gets a new signing secret for its `webhook_url`."""
    now = _now(now)
    template = _template(templates, template_key)
    filters = _checked_filters(template, templates, known_venues, venue_id, brand, group)
    channels = _checked_list("channel", channels, CHANNELS) or recipient.preferred_channels
    _checked_reach(recipient, channels)
    if "webhook" in channels and webhook_url is None:
        raise SubscriptionError("the webhook channel needs a webhook URL to post the reports to")
    if webhook_url is not None and "webhook" not in channels:
        raise SubscriptionError(
            "a webhook URL is only used by the webhook channel: choose it, or leave the URL out"
        )
    subscription = Subscription(
        subscription_id=_checked_id("subscription", subscription_id, "sub"),
        recipient_id=recipient.recipient_id,
        template_key=template_key,
        cron=None if cron is None else _checked("cron", checked_cron, cron),
        timezone=None if timezone is None else _checked("timezone", checked_timezone, timezone),
        filters=filters,
        channels=channels,
        formats=_checked_list("format", formats, FORMATS) or None,
        paused=False,
        next_delivery_at=None,
        created_at=now,
        updated_at=now,
        webhook_url=None if webhook_url is None else _checked_webhook_url(webhook_url),
        webhook_secret=None if webhook_url is None else new_webhook_secret(),
    )
    return dataclasses.replace(
        subscription,
        next_delivery_at=next_delivery(*subscription.delivery_schedule(template, recipient), now),
    )


def add_subscription(
    db: Database,
    recipient_id: str,
    template_key: str,
    *,
    layouts_dir: Path | str | None = None,
    **details,
) -> Subscription:
    """Check and store a new subscription (details as for `new_subscription`)."""
    recipient = get_recipient(db, recipient_id)
    subscription = new_subscription(
        recipient, template_key, templates=load_templates(layouts_dir), known_venues=venues(db), **details
    )
    if _subscriptions(db, report_subscriptions.c.subscription_id == subscription.subscription_id):
        raise SubscriptionError(f"subscription {subscription.subscription_id} already exists")
    store(db, subscriptions=[subscription])
    return subscription


def list_subscriptions(
    db: Database,
    template_key: str | None = None,
    recipient_id: str | None = None,
    paused: bool | None = None,
) -> list[Subscription]:
    table = report_subscriptions
    conditions = [
        condition
        for given, condition in (
            (template_key, table.c.template_key == template_key),
            (recipient_id, table.c.recipient_id == recipient_id),
            (paused, table.c.paused == paused),
        )
        if given is not None
    ]
    return _subscriptions(db, *conditions)


def active_subscriptions(db: Database) -> list[Subscription]:
    return list_subscriptions(db, paused=False)


def get_subscription(db: Database, subscription_id: str) -> Subscription:
    found = _subscriptions(db, report_subscriptions.c.subscription_id == subscription_id)
    if not found:
        known = db.read_columns(report_subscriptions.c.subscription_id)["subscription_id"].sort()
        raise SubscriptionError(
            f"unknown subscription {subscription_id!r}; known: {listing(known) or 'none yet'}"
        )
    return found[0]


def pause(db: Database, subscription_id: str, now: dt.datetime | None = None) -> Subscription:
    """Stop deliveries; the subscription (and its Dagster partition) stays."""
    subscription = get_subscription(db, subscription_id)
    if subscription.paused:
        raise SubscriptionError(f"subscription {subscription_id} is already paused")
    paused = dataclasses.replace(subscription, paused=True, next_delivery_at=None, updated_at=_now(now))
    store(db, subscriptions=[paused])
    return paused


def resume(
    db: Database,
    subscription_id: str,
    layouts_dir: Path | str | None = None,
    now: dt.datetime | None = None,
) -> Subscription:
    """Start deliveries again from the next scheduled time after now (missed ones are not sent)."""
    subscription = get_subscription(db, subscription_id)
    if not subscription.paused:
        raise SubscriptionError(f"subscription {subscription_id} is already active (not paused)")
    now = _now(now)
    resumed = dataclasses.replace(
        subscription,
        paused=False,
        next_delivery_at=_next_delivery_of(db, subscription, now, layouts_dir),
        updated_at=now,
    )
    store(db, subscriptions=[resumed])
    return resumed


def advance(
    db: Database,
    subscription_id: str,
    after: dt.datetime,
    templates: Mapping[str, Layout] | None = None,
    recipient: Recipient | None = None,
) -> Subscription:
    """Move the next delivery to the first scheduled time after `after` (a period's delivery is
    recorded); a paused subscription is left as it is. A run hands over what it has read:
    `templates` (else those of settings.LAYOUTS_DIR) and the `recipient` (whose clock the
    schedule keeps; read again when it is not the subscription's)."""
    # Read again, not taken from the run's start: a pause since then must stay.
    subscription = get_subscription(db, subscription_id)
    if subscription.paused:
        return subscription
    following = _next_delivery_of(db, subscription, _now(after), templates=templates, recipient=recipient)
    advanced = dataclasses.replace(subscription, next_delivery_at=following)
    store(db, subscriptions=[advanced])
    return advanced


def _next_delivery_of(
    db: Database,
    subscription: Subscription,
    after: dt.datetime,
    layouts_dir: Path | str | None = None,
    templates: Mapping[str, Layout] | None = None,
    recipient: Recipient | None = None,
) -> dt.datetime:
    """The first scheduled time after `after`, with what the caller has read (the layouts, the
    recipient), else read here."""
    template = _template(templates or load_templates(layouts_dir), subscription.template_key)
    if recipient is None or recipient.recipient_id != subscription.recipient_id:
        recipient = get_recipient(db, subscription.recipient_id)
    return next_delivery(*subscription.delivery_schedule(template, recipient), after)


def rotate_webhook_secret(db: Database, subscription_id: str, now: dt.datetime | None = None) -> Subscription:
    """A new signing secret; the current one keeps signing beside it until the receiver has switched."""
    subscription = get_subscription(db, subscription_id)
    if subscription.webhook_url is None:
        raise SubscriptionError(f"subscription {subscription_id} has no webhook, so no secret to rotate")
    now = _now(now)
    rotated = dataclasses.replace(
        subscription,
        webhook_secret=new_webhook_secret(),
        webhook_previous_secret=subscription.webhook_secret,
        webhook_secret_rotated_at=now,
        updated_at=now,
    )
    store(db, subscriptions=[rotated])
    return rotated


# --- rows -------------------------------------------------------------------------------------


def _frame(table: sa.Table, rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=table_schema(table), orient="row")


def _recipient_row(recipient: Recipient) -> dict:
    row = dataclasses.asdict(recipient)
    row["preferred_formats"] = json.dumps(list(recipient.preferred_formats))
    row["preferred_channels"] = json.dumps(list(recipient.preferred_channels))
    return row


def _subscription_row(subscription: Subscription) -> dict:
    row = dataclasses.asdict(subscription)
    row["filters"] = json.dumps(subscription.filters)
    row["channels"] = json.dumps(list(subscription.channels))
    row["formats"] = None if subscription.formats is None else json.dumps(list(subscription.formats))
    return row


def _recipients(db: Database, *where: sa.ColumnElement[bool]) -> list[Recipient]:
    return [
        Recipient(
            **(
                row
                | {
                    "preferred_formats": tuple(json.loads(row["preferred_formats"])),
                    "preferred_channels": tuple(json.loads(row["preferred_channels"])),
                }
            )
        )
        for row in db.read_table(report_recipients, *where).iter_rows(named=True)
    ]


def _subscriptions(db: Database, *where: sa.ColumnElement[bool]) -> list[Subscription]:
    return [
        Subscription(
            **(
                row
                | {
                    "filters": json.loads(row["filters"]),
                    "channels": tuple(json.loads(row["channels"])),
                    "formats": None if row["formats"] is None else tuple(json.loads(row["formats"])),
                }
            )
        )
        for row in db.read_table(report_subscriptions, *where).iter_rows(named=True)
    ]


def store(
    db: Database, recipients: Sequence[Recipient] = (), subscriptions: Sequence[Subscription] = ()
) -> None:
    """Write recipients and subscriptions in one transaction, replacing rows with the same ids."""
    writes = []
    if recipients:
        rows = [_recipient_row(r) for r in recipients]
        ids = report_recipients.c.recipient_id.in_([r.recipient_id for r in recipients])
        writes.append((report_recipients, _frame(report_recipients, rows), ids))
    if subscriptions:
        rows = [_subscription_row(s) for s in subscriptions]
        ids = report_subscriptions.c.subscription_id.in_([s.subscription_id for s in subscriptions])
        writes.append((report_subscriptions, _frame(report_subscriptions, rows), ids))
    db.replace_many(writes)
