"""Provider callbacks over a real socket: SendGrid signed with a real ECDSA key pair, Postmark by
basic auth, Twilio signed by its RequestValidator; every forgery refused and nothing changed."""

from __future__ import annotations

import base64
import email
import email.policy
import json
import time

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from twilio.request_validator import RequestValidator

from backroom_reporting.delivery import ledger
from backroom_reporting.delivery.model import Parcel
from backroom_reporting.subscriptions import service
from backroom_reporting.warehouse.tables.deliveries import consent_events, report_delivery_history
from tests.portal.conftest import KIMS_NUMBER, NIGHTS, NOW, TWILIO_TOKEN, deliver, reply_of, twilio

POSTMARK_CREDENTIALS = "postmark-hook:s3cret-pass"


class SendGrid:
    """SendGrid's side of the signed event webhook: a P-256 key pair, signing timestamp + body."""

    def __init__(self):
        self.key = ec.generate_private_key(ec.SECP256R1())

    def public_key(self) -> str:
        der = self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return base64.b64encode(der).decode()

    def headers(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        signature = self.key.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        return {
            "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
            "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
            "Content-Type": "application/json",
        }


@pytest.fixture
def providers(portal, world, monkeypatch, tmp_path):
    sendgrid = SendGrid()
    monkeypatch.setenv("SENDGRID_WEBHOOK_PUBLIC_KEY", sendgrid.public_key())
    monkeypatch.setenv("POSTMARK_WEBHOOK_CREDENTIALS", POSTMARK_CREDENTIALS)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TWILIO_TOKEN)
    monkeypatch.delenv("BACKROOM_SMTP_URL", raising=False)
    monkeypatch.setenv("BACKROOM_OUTBOX", str(tmp_path / "outbox"))
    service.add_recipient(
        portal.db,
        "Alex Owner",
        "owner",
        recipient_id="rcp-alex",
        email="alex@example.com",
        email_consent=True,
        now=NOW,
    )
    return sendgrid


def snapshot(portal) -> tuple:
    """Everything a callback could change: the ledger, its history, recipients and consents."""
    with portal.db.engine.connect() as conn:
        return tuple(
            sorted(map(str, conn.execute(sa.text(f"SELECT * FROM {table}")).all()))
            for table in (
                "report_deliveries",
                "report_delivery_history",
                "report_recipients",
                "consent_events",
            )
        )


def owner_mail(tmp_path) -> list[email.message.EmailMessage]:
    return [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        for p in sorted((tmp_path / "outbox").rglob("*.eml"))
    ]


def history(portal, delivery_id: str) -> list[tuple[str, str, str | None]]:
    table = report_delivery_history
    with portal.db.engine.connect() as conn:
        rows = conn.execute(
            sa.select(table.c.status, table.c.source, table.c.detail)
            .where(table.c.delivery_id == delivery_id)
            .order_by(table.c.event_id)
        )
        return [tuple(r) for r in rows]


# --- SendGrid --------------------------------------------------------------------------------


def test_sendgrid_events_move_the_lifecycle_and_a_deferral_is_history_only(portal, world, providers):
    newest, oldest = world.deliveries[NIGHTS[-1]]["email"], world.deliveries[NIGHTS[0]]["email"]
    at = int(NOW.timestamp()) + 60
    events = [
        {"event": "delivered", "delivery_id": newest, "timestamp": at, "response": "250 OK"},
        {"event": "open", "delivery_id": newest, "timestamp": at + 60},
        {"event": "click", "delivery_id": newest, "timestamp": at + 120, "url": "https://x.example/r"},
        {"event": "deferred", "delivery_id": oldest, "timestamp": at, "response": "421 try later"},
        {"event": "processed", "delivery_id": oldest, "timestamp": at},
        {"event": "delivered", "delivery_id": "dlv-not-ours", "timestamp": at},
    ]
    body = json.dumps(events).encode()
    answer = portal.http.post("/hooks/sendgrid", content=body, headers=providers.headers(body))
    assert answer.status_code == 204
    found = ledger.get(portal.db, newest)
    assert found.status == "clicked"
    assert found.delivered_at.timestamp() == at and found.opened_at.timestamp() == at + 60
    assert [h[:2] for h in history(portal, newest)[-3:]] == [
        ("delivered", "sendgrid"),
        ("opened", "sendgrid"),
        ("clicked", "sendgrid"),
    ]
    assert ledger.get(portal.db, oldest).status == "sent"
    assert history(portal, oldest)[-1] == ("sent", "sendgrid", "deferred: 421 try later")


def test_a_sendgrid_bounce_suppresses_the_address_and_tells_the_owner_once(
    portal, world, providers, tmp_path
):
    newest, oldest = world.deliveries[NIGHTS[-1]]["email"], world.deliveries[NIGHTS[0]]["email"]
    for delivery_id in (newest, oldest):
        events = [
            {
                "event": "bounce",
                "type": "bounce",
                "delivery_id": delivery_id,
                "timestamp": int(NOW.timestamp()),
                "reason": "550 5.1.1 no such user",
            }
        ]
        body = json.dumps(events).encode()
        assert (
            portal.http.post("/hooks/sendgrid", content=body, headers=providers.headers(body)).status_code
            == 204
        )
        assert ledger.get(portal.db, delivery_id).status == "bounced"
    jo = service.get_recipient(portal.db, world.jo.recipient_id)
    assert jo.suppressed and jo.suppressed_reason == "hard bounce"
    [told] = owner_mail(tmp_path)
    assert told["To"] == "Alex Owner <alex@example.com>"
    assert told["Subject"] == "Reports to Jo Bloggs stopped: hard bounce"
    assert told.get_content().startswith(
        "SendGrid reports a hard bounce for jo@example.com (Jo Bloggs (rcp-jo)): 550 5.1.1 no such user."
    )


def test_forged_and_stale_sendgrid_events_are_refused_and_change_nothing(portal, world, providers, refusals):
    delivery_id = world.deliveries[NIGHTS[-1]]["email"]
    body = json.dumps(
        [{"event": "spamreport", "delivery_id": delivery_id, "timestamp": int(time.time())}]
    ).encode()
    before = snapshot(portal)
    altered = body.replace(b"spamreport", b"delivered")
    cases = {
        "another key": (body, SendGrid().headers(body), 403),
        "altered body": (altered, providers.headers(body), 403),
        "ten minutes old": (body, providers.headers(body, int(time.time()) - 600), 403),
        "unsigned": (body, {"Content-Type": "application/json"}, 401),
        "garbage": (body, providers.headers(body) | {"X-Twilio-Email-Event-Webhook-Signature": "%%%"}, 403),
    }
    for case, (content, headers, expected) in cases.items():
        answer = portal.http.post("/hooks/sendgrid", content=content, headers=headers)
        assert answer.status_code == expected, case
    assert snapshot(portal) == before
    assert len(refusals) == len(cases)
    assert all(m.startswith("POST /hooks/sendgrid refused: ") for m in refusals)
    assert any("seconds old" in m for m in refusals)


# --- Postmark --------------------------------------------------------------------------------


def postmark(portal, event: dict, credentials: str | None = POSTMARK_CREDENTIALS):
    auth = None if credentials is None else tuple(credentials.split(":", 1))
    return portal.http.post("/hooks/postmark", json=event, auth=auth)


def test_postmark_events_with_basic_auth(portal, world, providers, tmp_path):
    newest, oldest = world.deliveries[NIGHTS[-1]]["email"], world.deliveries[NIGHTS[0]]["email"]
    delivered = {
        "RecordType": "Delivery",
        "Metadata": {"delivery_id": newest},
        "DeliveredAt": "2026-11-29T09:05:00Z",
    }
    assert postmark(portal, delivered).status_code == 204
    assert ledger.get(portal.db, newest).status == "delivered"

    soft = {
        "RecordType": "Bounce",
        "Type": "SoftBounce",
        "Description": "mailbox full",
        "Metadata": {"delivery_id": oldest},
    }
    assert postmark(portal, soft).status_code == 204
    assert ledger.get(portal.db, oldest).status == "sent"
    assert history(portal, oldest)[-1] == ("sent", "postmark", "SoftBounce: mailbox full")
    assert not service.get_recipient(portal.db, world.jo.recipient_id).suppressed

    complaint = {
        "RecordType": "SpamComplaint",
        "Metadata": {"delivery_id": newest},
        "BouncedAt": "2026-11-29T10:00:00Z",
    }
    assert postmark(portal, complaint).status_code == 204
    assert ledger.get(portal.db, newest).status == "complained"
    jo = service.get_recipient(portal.db, world.jo.recipient_id)
    assert jo.suppressed and jo.suppressed_reason == "spam complaint"
    assert [m["Subject"] for m in owner_mail(tmp_path)] == ["Reports to Jo Bloggs stopped: spam complaint"]


def test_postmark_without_the_right_credentials_is_refused(portal, world, providers):
    event = {
        "RecordType": "Bounce",
        "Type": "HardBounce",
        "Metadata": {"delivery_id": world.deliveries[NIGHTS[-1]]["email"]},
    }
    before = snapshot(portal)
    for credentials in (None, "postmark-hook:wrong", "someone:s3cret-pass"):
        answer = postmark(portal, event, credentials)
        assert answer.status_code == 401, credentials
        assert answer.headers["www-authenticate"].startswith("Basic")
    assert snapshot(portal) == before


# --- Twilio ----------------------------------------------------------------------------------


@pytest.fixture
def kim(portal, world, providers):
    """A door manager who gets the nightly headline by SMS, and the delivery of it."""
    db = portal.db
    kim = service.add_recipient(
        db,
        "Kim Door",
        "manager",
        recipient_id="rcp-kim",
        phone="07700 900123",
        channels=["sms"],
        sms_consent=True,
        now=NOW,
    )
    subscription = service.add_subscription(
        db,
        kim.recipient_id,
        "daily_summary",
        layouts_dir=world.layouts_dir,
        subscription_id="sub-kim",
        now=NOW,
    )
    report = world.report
    parcel = Parcel(
        ledger.delivery_id(subscription.subscription_id, report.period, "sms", kim.phone),
        "sms",
        kim.phone,
        subscription,
        kim,
        report,
    )
    deliver(db, parcel, "sent", provider_message_id="SM0123456789abcdef0123456789abcdef")
    return parcel


def test_twilio_status_callbacks(portal, kim):
    sid = "SM0123456789abcdef0123456789abcdef"
    answer = twilio(portal, "/hooks/twilio/status", {"MessageSid": sid, "MessageStatus": "delivered"})
    assert answer.status_code == 204
    assert ledger.get(portal.db, kim.delivery_id).status == "delivered"
    answer = twilio(
        portal,
        "/hooks/twilio/status",
        {"MessageSid": sid, "MessageStatus": "undelivered", "ErrorCode": "30003"},
    )
    assert answer.status_code == 204
    failed = ledger.get(portal.db, kim.delivery_id)
    assert failed.status == "failed" and "30003" in failed.detail
    # A provider's failure of a message it accepted is not tried again.
    assert not ledger.may_send(failed, max_attempts=4)


def test_forged_twilio_callbacks_are_refused(portal, kim):
    params = {
        "MessageSid": "SM0123456789abcdef0123456789abcdef",
        "MessageStatus": "failed",
        "ErrorCode": "30005",
    }
    before = snapshot(portal)
    path = "/hooks/twilio/status"
    assert twilio(portal, path, params, token="guessed-token").status_code == 403
    assert twilio(portal, path, params, url="https://elsewhere.example" + path).status_code == 403
    signed = RequestValidator(TWILIO_TOKEN).compute_signature(portal.base + path, params)
    changed = params | {"ErrorCode": "30006"}
    assert portal.http.post(path, data=changed, headers={"X-Twilio-Signature": signed}).status_code == 403
    assert portal.http.post(path, data=params).status_code == 401
    assert snapshot(portal) == before


def test_stop_and_start_replies_change_sms_consent(portal, kim):
    path = "/hooks/twilio/inbound"
    answer = twilio(portal, path, {"From": KIMS_NUMBER, "Body": " stop "})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/xml")
    assert reply_of(answer) == [
        "You will get no more report texts from The Backroom Leeds. Reply START to get them again."
    ]
    assert not service.get_recipient(portal.db, "rcp-kim").sms_consent
    answer = twilio(portal, path, {"From": KIMS_NUMBER, "Body": "START"})
    assert reply_of(answer) == [
        "You will get report texts from The Backroom Leeds again. Reply STOP to stop them."
    ]
    assert service.get_recipient(portal.db, "rcp-kim").sms_consent
    with portal.db.engine.connect() as conn:
        events = conn.execute(
            sa.select(
                consent_events.c.channel, consent_events.c.action, consent_events.c.how, consent_events.c.by
            )
            .where(consent_events.c.recipient_id == "rcp-kim")
            .order_by(consent_events.c.event_id)
        ).all()
    assert [tuple(e) for e in events][-2:] == [
        ("sms", "withdrawn", "SMS STOP", KIMS_NUMBER),
        ("sms", "granted", "SMS START", KIMS_NUMBER),
    ]
    assert reply_of(twilio(portal, path, {"From": KIMS_NUMBER, "Body": "thanks!"})) == []


def test_a_forged_stop_changes_nothing(portal, kim):
    before = snapshot(portal)
    answer = twilio(portal, "/hooks/twilio/inbound", {"From": KIMS_NUMBER, "Body": "STOP"}, token="guessed")
    assert answer.status_code == 403
    assert snapshot(portal) == before
    assert service.get_recipient(portal.db, "rcp-kim").sms_consent
