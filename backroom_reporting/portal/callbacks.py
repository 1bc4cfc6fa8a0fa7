"""Provider callbacks: SendGrid and Postmark events, Twilio status callbacks and inbound SMS
(STOP, START, and ACK for an incident), Slack's button clicks (an incident's Acknowledge), and
Stripe's events about refunds and disputes (docs/connectors.md, "Stripe").

Each is verified before anything is read from it: SendGrid's signed event webhook with the
sendgrid package's EventWebhook (and a timestamp at most five minutes old), Postmark's basic
auth, Twilio's signature with the twilio package's RequestValidator over the public URL,
Slack's with slack_sdk's SignatureVerifier over the body (at most five minutes old), Stripe's
with the stripe package's Webhook.construct_event (a forgery is answered 400, as Stripe's docs
ask). A
forged or stale callback is refused (401 without credentials, 403 with wrong ones) and
logged in one line; a verified one about a delivery we do not know is logged and answered
200, so the provider does not retry it for days.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hmac
import json
import logging
import re
import time
from urllib.parse import parse_qs

import stripe
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sendgrid.helpers.eventwebhook import EventWebhook
from slack_sdk.signature import SignatureVerifier
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from backroom_reporting import settings
from backroom_reporting.alerting import incidents
from backroom_reporting.alerting.incidents import IncidentRefused
from backroom_reporting.alerting.notices import ACK_ACTION
from backroom_reporting.alerting.on_call import person_by_phone
from backroom_reporting.connectors.stripe_late import record_event
from backroom_reporting.delivery import ledger
from backroom_reporting.delivery.ledger import Delivery
from backroom_reporting.delivery.mailer import tell_owner
from backroom_reporting.delivery.model import Status
from backroom_reporting.portal.pages import Refusal
from backroom_reporting.portal.state import in_warehouse
from backroom_reporting.subscriptions import consent, service
from backroom_reporting.subscriptions.service import SubscriptionError
from backroom_reporting.warehouse.database import Database

router = APIRouter(prefix="/hooks")
log = logging.getLogger(__name__)

MAX_AGE = dt.timedelta(minutes=5)  # a signed SendGrid batch older than this may be a replay
SENDGRID_SIGNATURE = "X-Twilio-Email-Event-Webhook-Signature"
SENDGRID_TIMESTAMP = "X-Twilio-Email-Event-Webhook-Timestamp"
TWILIO_SIGNATURE = "X-Twilio-Signature"
# Twilio's opt-out and opt-in keywords (its Advanced Opt-Out defaults).
STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"}
START_WORDS = {"START", "YES", "UNSTOP"}
# A reply acknowledging an incident: "ACK 4821", "ack #4821", "Ack 4821."; ACK alone is shown how.
ACK_WORD = re.compile(r"ack(?![a-z])", re.IGNORECASE)
ACK_REPLY = re.compile(r"ack\s*#?\s*(\d{1,18})\s*[.!]?", re.IGNORECASE)  # 18 digits: a bigint
ACK_USAGE = "Reply ACK and the incident number, e.g. ACK 4821."
NOT_ON_CALL = "This number is not on the on-call list, so it cannot acknowledge incidents."
STRIPE_SIGNATURE = "Stripe-Signature"
SLACK_SIGNATURE = "X-Slack-Signature"
SLACK_TIMESTAMP = "X-Slack-Request-Timestamp"
PROVIDERS = {"sendgrid": "SendGrid", "postmark": "Postmark"}  # as their names are written


def _refusal(request: Request, refused: Refusal) -> JSONResponse:
    """Providers read the status, not a page: a line in the log and a short JSON answer."""
    log.warning("%s %s refused: %s", request.method, request.url.path, refused.reason)
    basic = refused.status_code == 401 and request.url.path.endswith("postmark")
    headers = {"WWW-Authenticate": 'Basic realm="postmark"'} if basic else {}
    return JSONResponse({"detail": refused.reason}, refused.status_code, headers=headers)


# --- what an event does ----------------------------------------------------------------------


def _apply(
    db: Database, provider: str, delivery_id: str | None, status: Status | None, at: dt.datetime, detail: str
) -> None:
    """One verified event: onto the delivery's lifecycle (status None: into its history only);
    a bounce or complaint also suppresses the address and tells the report's owner."""
    found = ledger.get(db, delivery_id) if delivery_id else None
    if found is None:
        log.info("%s event about unknown delivery %r ignored: %s", provider, delivery_id, detail)
        return
    if status is None:
        ledger.note(db, found.delivery_id, at, provider, detail)
        return
    ledger.report_event(db, found.delivery_id, status, at, provider, detail)
    if status in ("bounced", "complained") and found.channel == "email":
        _suppress(db, found, status, at, provider, detail)


def _suppress(
    db: Database, found: Delivery, status: str, at: dt.datetime, provider: str, detail: str
) -> None:
    recipient = service.get_recipient(db, found.recipient_id)
    if recipient.suppressed:
        return  # suppressed already, and the owner was told then
    reason = "hard bounce" if status == "bounced" else "spam complaint"
    consent.suppress_email(db, recipient.recipient_id, reason, at, by=provider)
    tell_owner(
        db,
        f"Reports to {recipient.name} stopped: {reason}",
        f"{PROVIDERS[provider]} reports a {reason} for {found.address} ({recipient}): {detail}.\n\n"
        f"Nothing more is sent to that address by email. It was the {found.template_key} report for "
        f"{found.period} (delivery {found.delivery_id}). Once the address is corrected or the person "
        "has agreed to receive reports again, record it with `backroom recipients`.",
    )


def _when(seconds: float | str | None) -> dt.datetime:
    return dt.datetime.fromtimestamp(float(seconds), dt.UTC) if seconds else dt.datetime.now(dt.UTC)


# --- SendGrid --------------------------------------------------------------------------------


def _sendgrid_event(event: dict) -> tuple[Status | None, str] | None:
    """(status, detail) of one SendGrid event; None for events that say nothing about delivery."""
    kind = event.get("event")
    reason = event.get("reason") or event.get("response") or ""
    match kind:
        case "delivered":
            return "delivered", event.get("response") or "accepted by the receiving server"
        case "open":
            return "opened", "opened (SendGrid)"
        case "click":
            return "clicked", event.get("url") or "a link"
        case "bounce" if event.get("type", "bounce") == "bounce":
            return "bounced", reason or "bounced"
        case "bounce":
            return None, f"blocked for now: {reason}"
        case "dropped":
            return "bounced", f"dropped: {reason}"
        case "spamreport":
            return "complained", "marked as spam"
        case "deferred":
            return None, f"deferred: {reason}"
    return None


def _verified_sendgrid(request: Request, body: bytes) -> list[dict]:
    key = settings.SENDGRID_WEBHOOK_PUBLIC_KEY.get()
    signature, timestamp = request.headers.get(SENDGRID_SIGNATURE), request.headers.get(SENDGRID_TIMESTAMP)
    if not signature or not timestamp:
        raise Refusal("no signature: SendGrid's event webhook must be signed", 401)
    if not key:
        raise Refusal(
            f"${settings.SENDGRID_WEBHOOK_PUBLIC_KEY.env} is not set, so no event can be checked", 403
        )
    try:
        verifier = EventWebhook(key)
    except ValueError as exc:
        raise Refusal(
            f"${settings.SENDGRID_WEBHOOK_PUBLIC_KEY.env} is not a public key ({exc})", 403
        ) from exc
    try:
        age = abs(time.time() - int(timestamp))
        valid = verifier.verify_signature(body.decode(), signature, timestamp)
    except ValueError as exc:  # binascii.Error and UnicodeDecodeError included
        raise Refusal(f"the signature or timestamp is malformed ({exc})", 403) from exc
    if not valid:
        raise Refusal("the signature does not match the body", 403)
    if age > MAX_AGE.total_seconds():
        raise Refusal(f"the timestamp is {age:.0f} seconds old (at most {MAX_AGE.seconds} allowed)", 403)
    try:
        events = json.loads(body)
    except ValueError:
        raise Refusal("the body is not JSON", 400) from None
    if not isinstance(events, list):
        raise Refusal("the body is not a list of events", 400)
    return events


@router.post("/sendgrid")
async def sendgrid(request: Request) -> Response:
    body = await request.body()
    try:
        events = _verified_sendgrid(request, body)
    except Refusal as refused:
        return _refusal(request, refused)

    def apply(db: Database) -> None:
        for event in events:
            mapped = _sendgrid_event(event)
            if mapped is not None:
                status, detail = mapped
                _apply(
                    db, "sendgrid", event.get("delivery_id"), status, _when(event.get("timestamp")), detail
                )

    await in_warehouse(request, apply)
    return Response(status_code=204)


# --- Postmark --------------------------------------------------------------------------------


def _postmark_event(event: dict) -> tuple[Status | None, str, str | None] | None:
    """(status, detail, when) of one Postmark webhook; None for record types we do not follow."""
    match event.get("RecordType"):
        case "Delivery":
            return "delivered", event.get("Details") or "delivered", event.get("DeliveredAt")
        case "Open":
            return "opened", "opened (Postmark)", event.get("ReceivedAt")
        case "Click":
            return "clicked", event.get("OriginalLink") or "a link", event.get("ReceivedAt")
        case "Bounce" if event.get("Type") == "HardBounce":
            return "bounced", event.get("Description") or "hard bounce", event.get("BouncedAt")
        case "Bounce":
            return None, f"{event.get('Type')}: {event.get('Description')}", event.get("BouncedAt")
        case "SpamComplaint":
            return "complained", "marked as spam", event.get("BouncedAt")
    return None


def _verified_postmark(request: Request) -> None:
    expected = settings.POSTMARK_WEBHOOK_CREDENTIALS.get()
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic" or not encoded:
        raise Refusal("no basic auth credentials", 401)
    if not expected:
        raise Refusal(
            f"${settings.POSTMARK_WEBHOOK_CREDENTIALS.env} is not set, so no event can be checked", 401
        )
    try:
        presented = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        raise Refusal("the basic auth credentials are not base64", 401) from None
    if not hmac.compare_digest(presented, expected.encode()):
        raise Refusal("wrong basic auth credentials", 401)


@router.post("/postmark")
async def postmark(request: Request) -> Response:
    try:
        _verified_postmark(request)
    except Refusal as refused:
        return _refusal(request, refused)
    try:
        event = json.loads(await request.body())
    except ValueError:
        return _refusal(request, Refusal("the body is not JSON", 400))
    mapped = _postmark_event(event)
    if mapped is not None:
        status, detail, when = mapped
        at = dt.datetime.fromisoformat(when) if when else dt.datetime.now(dt.UTC)
        delivery_id = (event.get("Metadata") or {}).get("delivery_id")
        await in_warehouse(request, _apply, "postmark", delivery_id, status, at, detail)
    return Response(status_code=204)


# --- Twilio ----------------------------------------------------------------------------------


async def _verified_twilio(request: Request) -> dict[str, str]:
    """The form Twilio posted, once its signature over our public URL and the form checks out."""
    signature = request.headers.get(TWILIO_SIGNATURE)
    if not signature:
        raise Refusal("no X-Twilio-Signature", 401)
    token = settings.TWILIO_AUTH_TOKEN.get()
    if not token:
        raise Refusal(f"${settings.TWILIO_AUTH_TOKEN.env} is not set, so no request can be checked", 403)
    params = dict(await request.form())
    # Twilio signs the URL it called: ours as the world sees it, not as the proxy passed it on.
    url = settings.PORTAL_URL.get().rstrip("/") + request.url.path
    if request.url.query:
        url += f"?{request.url.query}"
    if not RequestValidator(token).validate(url, params, signature):
        raise Refusal("the signature does not match the URL and form", 403)
    return params


def _twilio_status(db: Database, params: dict[str, str]) -> None:
    sid, state = params.get("MessageSid"), params.get("MessageStatus")
    found = ledger.by_provider_id(db, sid) if sid else None
    if found is None:
        log.info("twilio status %s about unknown message %r ignored", state, sid)
        return
    now = dt.datetime.now(dt.UTC)
    if state == "delivered":
        ledger.report_event(db, found.delivery_id, "delivered", now, "twilio", "delivered to the handset")
    elif state in ("undelivered", "failed"):
        code = params.get("ErrorCode") or "none given"
        detail = f"{state}: Twilio error {code} (https://www.twilio.com/docs/api/errors/{code})"
        ledger.report_event(db, found.delivery_id, "failed", now, "twilio", detail)


@router.post("/twilio/status")
async def twilio_status(request: Request) -> Response:
    try:
        params = await _verified_twilio(request)
    except Refusal as refused:
        return _refusal(request, refused)
    await in_warehouse(request, _twilio_status, params)
    return Response(status_code=204)


def _sms_keyword(db: Database, number: str, word: str) -> str | None:
    """What a STOP or START reply changed, as the answer to send back; None for other words."""
    if word in STOP_WORDS:
        change = consent.sms_opt_out
        done = "You will get no more report texts from The Backroom Leeds. Reply START to get them again."
    elif word in START_WORDS:
        change = consent.sms_opt_in
        done = "You will get report texts from The Backroom Leeds again. Reply STOP to stop them."
    else:
        return None
    try:
        changed = change(db, number, dt.datetime.now(dt.UTC), how=f"SMS {word}")
    except SubscriptionError as exc:
        log.warning("POST /hooks/twilio/inbound: %s", exc)
        return None
    return done if changed else "This number gets no reports from The Backroom Leeds, so nothing changed."


def _sms_ack(db: Database, number: str, body: str) -> str | None:
    """What an ACK reply did, as the answer to send back; None for other words."""
    body = body.strip()
    if not ACK_WORD.match(body):
        return None
    found = ACK_REPLY.fullmatch(body)
    if found is None:
        return ACK_USAGE
    incident = int(found[1])
    # Twilio vouches for the message, not for who sent it: only the people paged may acknowledge.
    person = person_by_phone(db, number)
    if person is None:
        return NOT_ON_CALL
    try:
        incidents.acknowledge(db, incident, person.name, "sms", dt.datetime.now(dt.UTC))
    except IncidentRefused as exc:
        return str(exc)
    return f"Incident {incident} acknowledged: escalation stopped."


def _sms_reply(db: Database, number: str, body: str) -> str | None:
    return _sms_ack(db, number, body) or _sms_keyword(db, number, body.strip().upper())


@router.post("/twilio/inbound")
async def twilio_inbound(request: Request) -> Response:
    try:
        params = await _verified_twilio(request)
    except Refusal as refused:
        return _refusal(request, refused)
    answer = await in_warehouse(request, _sms_reply, params.get("From", ""), params.get("Body", ""))
    reply = MessagingResponse()
    if answer is not None:
        reply.message(answer)
    return Response(str(reply), media_type="application/xml")


# --- Slack -----------------------------------------------------------------------------------


def _verified_slack(request: Request, body: bytes) -> dict:
    """The interaction payload Slack posted, once its signature over the body checks out."""
    secret = settings.SLACK_SIGNING_SECRET.get()
    if not secret:
        raise Refusal(f"${settings.SLACK_SIGNING_SECRET.env} is not set, so no request can be checked", 403)
    signature, timestamp = request.headers.get(SLACK_SIGNATURE), request.headers.get(SLACK_TIMESTAMP)
    if not signature or not timestamp:
        raise Refusal(f"no {SLACK_SIGNATURE} or {SLACK_TIMESTAMP}", 401)
    try:
        valid = SignatureVerifier(secret).is_valid(body, timestamp, signature)
        age = abs(time.time() - int(timestamp))
    except ValueError as exc:  # a timestamp that is no number, a body that is not UTF-8
        raise Refusal(f"the timestamp or body is malformed ({exc})", 403) from exc
    if not valid:
        # SignatureVerifier refuses a stale request too; the log says which it was.
        if age > MAX_AGE.total_seconds():
            raise Refusal(f"the timestamp is {age:.0f} seconds old (at most {MAX_AGE.seconds} allowed)", 403)
        raise Refusal("the signature does not match the body", 403)
    try:
        payload = json.loads(parse_qs(body.decode())["payload"][0])
    except (KeyError, ValueError):
        payload = None
    if not isinstance(payload, dict):
        raise Refusal("the body has no `payload` field holding a JSON object", 400)
    return payload


def _slack_acknowledge(db: Database, payload: dict) -> str | None:
    """What an alert's Acknowledge button did, in a sentence; None for any other interaction."""
    if payload.get("type") != "block_actions":
        return None
    actions = payload.get("actions") or []
    action = next((a for a in actions if a.get("action_id") == ACK_ACTION), None)
    if action is None:
        return None
    user = payload.get("user") or {}
    who = user.get("name") or user.get("username") or user.get("id") or "someone on Slack"
    try:
        number = int(action.get("value"))
    except (TypeError, ValueError):
        return f"This button names no incident ({action.get('value')!r}), so nothing was acknowledged."
    try:
        return incidents.step_taken(incidents.acknowledge(db, number, who, "slack", dt.datetime.now(dt.UTC)))
    except IncidentRefused as exc:
        return str(exc)


@router.post("/slack/interactivity")
async def slack_interactivity(request: Request) -> Response:
    body = await request.body()
    try:
        payload = _verified_slack(request, body)
    except Refusal as refused:
        return _refusal(request, refused)
    said = await in_warehouse(request, _slack_acknowledge, payload)
    if said is None:
        return Response(status_code=200)  # another button (a link's): received, nothing to say
    # Only to the person who pressed it, under the alert, which stays as it was.
    return JSONResponse({"response_type": "ephemeral", "replace_original": False, "text": said})


# --- Stripe ----------------------------------------------------------------------------------


def _verified_stripe(request: Request, body: bytes) -> dict:
    """The event Stripe posted, once its signature over the body checks out (at most five minutes
    old, the SDK's tolerance)."""
    secret = settings.STRIPE_WEBHOOK_SECRET.get()
    if not secret:
        raise Refusal(f"${settings.STRIPE_WEBHOOK_SECRET.env} is not set, so no event can be checked", 403)
    signature = request.headers.get(STRIPE_SIGNATURE)
    if not signature:
        raise Refusal(f"no {STRIPE_SIGNATURE}: Stripe's webhook must be signed", 400)
    try:
        event = stripe.Webhook.construct_event(body, signature, secret)
    except stripe.SignatureVerificationError as exc:
        raise Refusal(
            f"the signature does not match the body, or is too old ({exc.user_message})", 400
        ) from exc
    except ValueError:
        raise Refusal("the body is not a JSON event", 400) from None
    return event.to_dict()


@router.post("/stripe")
async def stripe_events(request: Request) -> Response:
    body = await request.body()
    try:
        event = _verified_stripe(request, body)
    except Refusal as refused:
        return _refusal(request, refused)
    try:
        outcome = await in_warehouse(request, record_event, event, dt.datetime.now(dt.UTC))
    except ValueError as exc:
        return _refusal(request, Refusal(str(exc), 400))
    log.info("stripe event %s (%s): %s", event.get("id"), event.get("type"), outcome)
    return JSONResponse({"received": True, "outcome": outcome})
