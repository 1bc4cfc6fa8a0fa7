"""Consent, verification and suppression: each change of state comes with its record of who, when, how."""

import datetime as dt
import re

import pytest

from backroom_reporting.subscriptions import consent, service
from backroom_reporting.subscriptions.service import SubscriptionError
from backroom_reporting.warehouse.tables.deliveries import consent_events
from tests.subscriptions import LEEDS, set_venues, write_layouts

UTC = dt.UTC
ADDED = dt.datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
NOW = dt.datetime(2026, 3, 9, 18, 30, tzinfo=UTC)
EVENT_COLUMNS = ("recipient_id", "subscription_id", "channel", "action", "at", "how", "by")


@pytest.fixture
def warehouse(databases, tmp_path):
    db = databases.warehouse
    set_venues(db, LEEDS)
    service.add_recipient(
        db,
        "Jo Bloggs",
        "manager",
        recipient_id="rcp-jo",
        email="jo@example.com",
        phone="07700 900123",
        channels=["email", "sms"],
        email_consent=True,
        sms_consent=True,
        how="signed form",
        by="pat",
        now=ADDED,
    )
    service.add_subscription(
        db,
        "rcp-jo",
        "daily_summary",
        layouts_dir=write_layouts(tmp_path / "layouts"),
        subscription_id="sub-jo",
    )
    yield db
    db.close()


def events(db) -> list[tuple]:
    """The consent record, oldest first."""
    frame = db.read_table(consent_events).sort("event_id")
    return [tuple(row[c] for c in EVENT_COLUMNS) for row in frame.iter_rows(named=True)]


def granted_when_added() -> list[tuple]:
    return [
        ("rcp-jo", None, "email", "granted", ADDED, "signed form", "pat"),
        ("rcp-jo", None, "sms", "granted", ADDED, "signed form", "pat"),
    ]


def test_consent_given_when_a_recipient_is_added_is_recorded(warehouse):
    assert events(warehouse) == granted_when_added()
    service.add_recipient(warehouse, "Ali", "events", recipient_id="rcp-ali", channels=["dashboard"])
    assert len(events(warehouse)) == 2  # no consent given, none recorded


def test_consent_granted_and_withdrawn_changes_the_recipient_and_is_recorded(warehouse):
    withdrawn = consent.record_consent(warehouse, "rcp-jo", "sms", "withdrawn", "phone call", "pat", NOW)
    assert (withdrawn.sms_consent, withdrawn.email_consent, withdrawn.consent_recorded_at) == (
        False,
        True,
        NOW,
    )
    later = NOW + dt.timedelta(days=1)
    granted = consent.record_consent(
        warehouse, "rcp-jo", "sms", "granted", "email reply", "jo@example.com", later
    )
    assert granted.sms_consent and granted.consent_recorded_at == later
    assert events(warehouse)[2:] == [
        ("rcp-jo", None, "sms", "withdrawn", NOW, "phone call", "pat"),
        ("rcp-jo", None, "sms", "granted", later, "email reply", "jo@example.com"),
    ]
    with pytest.raises(SubscriptionError, match=re.escape("unknown consent action 'maybe'; known: granted")):
        consent.record_consent(warehouse, "rcp-jo", "sms", "maybe", "phone call", "pat", NOW)
    with pytest.raises(SubscriptionError, match=re.escape("unknown recipient 'rcp-x'")):
        consent.record_consent(warehouse, "rcp-x", "sms", "granted", "phone call", "pat", NOW)
    assert len(events(warehouse)) == 4  # refusals record nothing


def test_following_the_link_verifies_the_current_address_only(warehouse):
    with pytest.raises(
        SubscriptionError,
        match=re.escape("this link was sent to old@example.com, which is no longer the address of Jo Bloggs"),
    ):
        consent.verify_email(warehouse, "rcp-jo", "old@example.com", NOW)
    assert not service.get_recipient(warehouse, "rcp-jo").email_verified
    verified = consent.verify_email(warehouse, "rcp-jo", "Jo@Example.com", NOW)
    assert (verified.email_verified, verified.email_verified_at) == (True, NOW)
    assert service.get_recipient(warehouse, "rcp-jo") == verified
    # The link followed twice: nothing changes, nothing more is recorded.
    assert (
        consent.verify_email(warehouse, "rcp-jo", "jo@example.com", NOW + dt.timedelta(hours=1)) == verified
    )
    assert events(warehouse)[2:] == [
        ("rcp-jo", None, "email", "granted", NOW, "verification link", "jo@example.com")
    ]


def test_a_hard_bounce_suppresses_the_address_once(warehouse):
    suppressed = consent.suppress_email(warehouse, "rcp-jo", "hard bounce", NOW, "postmark")
    assert (suppressed.suppressed, suppressed.suppressed_at, suppressed.suppressed_reason) == (
        True,
        NOW,
        "hard bounce",
    )
    again = consent.suppress_email(warehouse, "rcp-jo", "complaint", NOW + dt.timedelta(days=1), "sendgrid")
    assert again == suppressed == service.get_recipient(warehouse, "rcp-jo")
    assert events(warehouse)[2:] == [
        ("rcp-jo", None, "email", "withdrawn", NOW, "suppressed: hard bounce", "postmark")
    ]


def test_stop_and_start_by_sms_find_the_recipient_by_number(warehouse):
    # Twilio gives the sender in E.164; a number written the British way is the same number.
    stopped = consent.sms_opt_out(warehouse, "+447700900123", NOW)
    assert [(r.recipient_id, r.sms_consent, r.consent_recorded_at) for r in stopped] == [
        ("rcp-jo", False, NOW)
    ]
    assert not service.get_recipient(warehouse, "rcp-jo").sms_consent
    later = NOW + dt.timedelta(hours=2)
    started = consent.sms_opt_in(warehouse, "07700 900123", later)
    assert [r.sms_consent for r in started] == [True]
    assert consent.sms_opt_out(warehouse, "+442079460999", NOW) == []  # nobody has that number
    assert events(warehouse)[2:] == [
        ("rcp-jo", None, "sms", "withdrawn", NOW, "SMS STOP", "+447700900123"),
        ("rcp-jo", None, "sms", "granted", later, "SMS START", "+447700900123"),
    ]


def test_unsubscribing_pauses_the_subscription_and_records_it_once(warehouse):
    unsubscribed = consent.unsubscribe(warehouse, "sub-jo", NOW)
    assert (unsubscribed.paused, unsubscribed.next_delivery_at, unsubscribed.updated_at) == (True, None, NOW)
    assert service.get_subscription(warehouse, "sub-jo") == unsubscribed
    # The recipient's consent to email stays: other subscriptions still come.
    assert service.get_recipient(warehouse, "rcp-jo").email_consent
    # The link followed again: no error, nothing changes.
    assert consent.unsubscribe(warehouse, "sub-jo", NOW + dt.timedelta(minutes=5)) == unsubscribed
    assert events(warehouse)[2:] == [
        ("rcp-jo", "sub-jo", "email", "withdrawn", NOW, "one-click unsubscribe", "jo@example.com")
    ]


def test_a_subscription_paused_by_a_manager_still_records_the_recipients_unsubscribe(warehouse):
    paused = service.pause(warehouse, "sub-jo", now=ADDED)
    assert consent.unsubscribe(warehouse, "sub-jo", NOW, how="List-Unsubscribe header") == paused
    assert events(warehouse)[2:] == [
        ("rcp-jo", "sub-jo", "email", "withdrawn", NOW, "List-Unsubscribe header", "jo@example.com")
    ]


def test_sending_a_verification_is_noted_without_a_consent_event(warehouse):
    sent = consent.mark_verification_sent(warehouse, "rcp-jo", NOW)
    assert sent.verification_sent_at == NOW and not sent.email_verified
    assert events(warehouse) == granted_when_added()
