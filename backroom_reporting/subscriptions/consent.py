"""Consent, address verification and suppression: a recipient's current state, and how it came to be.

Each change writes the recipient's (or subscription's) new state and its consent_events row
(who, when, how) in one transaction, so the record can never disagree with the state.
Following a verification link confirms consent to email (double opt-in); a hard bounce or a
complaint suppresses the address and is recorded as email withdrawn, since nothing more is sent.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from backroom_reporting.subscriptions.service import (
    Recipient,
    Subscription,
    SubscriptionError,
    checked_phone,
    consent_event,
    get_recipient,
    get_subscription,
)
from backroom_reporting.warehouse.database import Database
from backroom_reporting.warehouse.tables.deliveries import consent_events
from backroom_reporting.warehouse.tables.subscriptions import report_recipients, report_subscriptions

# The channels whose consent is kept on the recipient: the others reach the person's own tools.
CONSENT_COLUMNS = {"email": "email_consent", "sms": "sms_consent"}


def _recipient_is(recipient_id: str) -> sa.ColumnElement[bool]:
    return report_recipients.c.recipient_id == recipient_id


def record_consent(
    db: Database,
    recipient_id: str,
    channel: str,
    action: str,
    how: str,
    by: str,
    now: dt.datetime,
    subscription_id: str | None = None,
) -> Recipient:
    """Consent to `channel` granted or withdrawn. For one subscription only the event is written;
    for the recipient, their email or SMS consent changes too."""
    get_recipient(db, recipient_id)  # refuses an unknown id
    event = consent_event(recipient_id, channel, action, how, by, now, subscription_id)
    with db.engine.begin() as conn:
        if subscription_id is None and channel in CONSENT_COLUMNS:
            conn.execute(
                sa.update(report_recipients)
                .where(_recipient_is(recipient_id))
                .values({CONSENT_COLUMNS[channel]: action == "granted", "consent_recorded_at": now})
            )
        conn.execute(event)
    return get_recipient(db, recipient_id)


def verify_email(
    db: Database, recipient_id: str, email: str, now: dt.datetime, how: str = "verification link"
) -> Recipient:
    """The recipient followed the link sent to `email`: their address is verified and email consent
    confirmed. A link for an address they no longer have changes nothing."""
    recipient = get_recipient(db, recipient_id)
    email = email.strip().lower()
    if recipient.email != email:
        raise SubscriptionError(
            f"this link was sent to {email}, which is no longer the address of {recipient}: "
            "nothing was changed"
        )
    if recipient.email_verified and recipient.email_consent:
        return recipient
    with db.engine.begin() as conn:
        conn.execute(
            sa.update(report_recipients)
            .where(_recipient_is(recipient_id))
            .values(email_verified=True, email_verified_at=now, email_consent=True, consent_recorded_at=now)
        )
        conn.execute(consent_event(recipient_id, "email", "granted", how, email, now))
    return get_recipient(db, recipient_id)


def suppress_email(db: Database, recipient_id: str, reason: str, now: dt.datetime, by: str) -> Recipient:
    """Send nothing more to the recipient's address (`reason`: hard bounce, complaint); `by` is the
    provider that said so. Suppressing again changes nothing."""
    recipient = get_recipient(db, recipient_id)
    if recipient.suppressed:
        return recipient
    with db.engine.begin() as conn:
        conn.execute(
            sa.update(report_recipients)
            .where(_recipient_is(recipient_id))
            .values(suppressed=True, suppressed_at=now, suppressed_reason=reason)
        )
        conn.execute(consent_event(recipient_id, "email", "withdrawn", f"suppressed: {reason}", by, now))
    return get_recipient(db, recipient_id)


def sms_opt_out(db: Database, phone: str, now: dt.datetime, how: str = "SMS STOP") -> list[Recipient]:
    """Everyone with this number stops getting SMS (a STOP reply); by is the number itself."""
    return _sms_consent(db, phone, False, now, how)


def sms_opt_in(db: Database, phone: str, now: dt.datetime, how: str = "SMS START") -> list[Recipient]:
    """Everyone with this number gets SMS again (a START reply)."""
    return _sms_consent(db, phone, True, now, how)


def _sms_consent(db: Database, phone: str, given: bool, now: dt.datetime, how: str) -> list[Recipient]:
    number = checked_phone(phone)
    ids = db.read_columns(report_recipients.c.recipient_id, where=report_recipients.c.phone == number)
    ids = ids["recipient_id"].to_list()
    if not ids:
        return []
    action = "granted" if given else "withdrawn"
    with db.engine.begin() as conn:
        conn.execute(
            sa.update(report_recipients)
            .where(report_recipients.c.recipient_id.in_(ids))
            .values(sms_consent=given, consent_recorded_at=now)
        )
        for recipient_id in ids:
            conn.execute(consent_event(recipient_id, "sms", action, how, number, now))
    return [get_recipient(db, recipient_id) for recipient_id in ids]


def unsubscribe(
    db: Database,
    subscription_id: str,
    now: dt.datetime,
    how: str = "one-click unsubscribe",
    by: str | None = None,
) -> Subscription:
    """Pause the subscription (as `service.pause`, but an already paused one is no error) and record
    its email withdrawn (`by`: default, the recipient's address). A second request changes nothing."""
    subscription = get_subscription(db, subscription_id)
    recipient = get_recipient(db, subscription.recipient_id)
    latest = db.read(
        sa.select(consent_events.c.action)
        .where(consent_events.c.subscription_id == subscription_id, consent_events.c.channel == "email")
        .order_by(consent_events.c.event_id.desc())
        .limit(1)
    )
    withdrawn = latest.height > 0 and latest.item(0, 0) == "withdrawn"
    if subscription.paused and withdrawn:
        return subscription
    with db.engine.begin() as conn:
        if not subscription.paused:
            conn.execute(
                sa.update(report_subscriptions)
                .where(report_subscriptions.c.subscription_id == subscription_id)
                .values(paused=True, next_delivery_at=None, updated_at=now)
            )
        if not withdrawn:
            who = by or recipient.email or recipient.recipient_id
            event = consent_event(
                recipient.recipient_id, "email", "withdrawn", how, who, now, subscription_id
            )
            conn.execute(event)
    return get_subscription(db, subscription_id)


def mark_verification_sent(db: Database, recipient_id: str, now: dt.datetime) -> Recipient:
    """Note when the last verification email went out (it is not consent, so no event)."""
    get_recipient(db, recipient_id)
    with db.engine.begin() as conn:
        conn.execute(
            sa.update(report_recipients).where(_recipient_is(recipient_id)).values(verification_sent_at=now)
        )
    return get_recipient(db, recipient_id)


def consent_history(db: Database, recipient_id: str) -> list[dict]:
    """The recipient's consent_events, oldest first: each grant or withdrawal, who, when and how."""
    get_recipient(db, recipient_id)  # refuses an unknown id
    return (
        db.read_table(consent_events, consent_events.c.recipient_id == recipient_id)
        .sort("event_id")
        .to_dicts()
    )
