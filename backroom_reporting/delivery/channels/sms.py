"""SMS by Twilio: the report's headline and a signed link to it, to recipients who consented.

The text fits two SMS segments where it can (the warning is shortened to fit) and ends with a
short reference, the end of the delivery id, by which `look_up` finds the message in Twilio's
list after a crash. Without TWILIO_ACCOUNT_SID the message goes to the outbox instead.
"""

from __future__ import annotations

import datetime as dt

import requests
from twilio.base.exceptions import TwilioException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from backroom_reporting import settings
from backroom_reporting.delivery import links
from backroom_reporting.delivery.model import CannotTell, DeliverableReport, Outcome, Parcel, SendError
from backroom_reporting.delivery.outbox import Outbox
from backroom_reporting.rendering.formatting import format_count, format_money

TWILIO_API = "https://api.twilio.com"
TIMEOUT_SECONDS = 30
# Twilio's answers that no retry can change: the number, or the recipient's wishes.
INVALID_NUMBER = 21211
NOT_MOBILE = 21614
UNSUBSCRIBED = 21610
# GSM-7, the alphabet an SMS is sent in unless a character outside it forces UCS-2, which
# halves a segment. The extension characters take two places each.
GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = set("^{}\\[~]|€\f")
# A concatenated message's segments hold 153 GSM-7 or 67 UCS-2 characters.
TWO_SEGMENTS_GSM7 = 2 * 153
TWO_SEGMENTS_UCS2 = 2 * 67
# Typography a report may carry that GSM-7 has a plain equivalent for.
PLAIN = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-", "…": "...", "\u00a0": " "})
ELLIPSIS = "..."


def reference(delivery_id: str) -> str:
    """The short reference the text carries: enough to tell one day's messages to a number apart."""
    return delivery_id[-6:]


def _length(text: str) -> tuple[int, int]:
    """The text's length in its alphabet's places, and the most two segments hold."""
    if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text):
        return len(text) + sum(c in GSM7_EXTENSION for c in text), TWO_SEGMENTS_GSM7
    return len(text.encode("utf-16-le")) // 2, TWO_SEGMENTS_UCS2


def sms_text(report: DeliverableReport, link: str, ref: str) -> str:
    """E.g. "Daily Summary 2026-11-28: £12,345.67 taken, 456 admissions. Warning: ... <link> (ref 3f9a1c)";
    a stale one starts "STALE (figures as of 2026-11-27; 2026-11-28 failed) "."""
    headline = report.headline
    figures = []
    if headline.revenue_pence is not None:
        figures.append(f"{format_money(headline.revenue_pence)} taken")
    if headline.admissions is not None:
        figures.append(f"{format_count(headline.admissions)} admissions")
    # A stale report says so first: its figures are of an earlier period than the one due.
    stale = f"STALE (figures as of {report.period}; {report.stale.period} failed) " if report.stale else ""
    opening = (
        f"{stale}{report.title} {report.period}: {', '.join(figures) or 'the report is ready'}.".translate(
            PLAIN
        )
    )
    closing = f" Report: {link} (ref {ref})"
    if not headline.warning:
        return opening + closing
    warning = f" Warning: {headline.warning.translate(PLAIN)}"
    used, room = _length(opening + warning + closing)
    if used <= room:
        return opening + warning + closing
    # Shorten the warning to what two segments leave it; if nothing useful is left, leave it out.
    spare = len(warning) - (used - room) - len(ELLIPSIS)
    if spare < len(" Warning: ") + 20:
        return opening + closing
    return opening + warning[:spare].rstrip() + ELLIPSIS + closing


class LoopbackTwilioHttpClient(TwilioHttpClient):
    """Twilio's own HTTP client, sending to another address than api.twilio.com when asked
    (TWILIO_BASE_URL: the tests' stand-in)."""

    def __init__(self, base_url: str, **kwargs):
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")

    def request(self, method: str, url: str, *args, **kwargs):
        if url.startswith(TWILIO_API):
            url = self.base_url + url[len(TWILIO_API) :]
        return super().request(method, url, *args, **kwargs)


def twilio_client() -> Client | None:
    """Twilio's client as configured now; None without TWILIO_ACCOUNT_SID (the outbox instead)."""
    account_sid = settings.TWILIO_ACCOUNT_SID.get()
    if not account_sid:
        return None
    base_url = settings.TWILIO_BASE_URL.get()
    http_client = (
        LoopbackTwilioHttpClient(base_url, timeout=TIMEOUT_SECONDS)
        if base_url
        else TwilioHttpClient(timeout=TIMEOUT_SECONDS)
    )
    return Client(account_sid, settings.TWILIO_AUTH_TOKEN.get(), http_client=http_client)


def text_message(to: str, body: str) -> dict[str, str]:
    """messages.create's arguments: from our number or messaging service, with status callbacks."""
    sender = settings.TWILIO_FROM.get()
    return {
        "to": to,
        "body": body,
        "status_callback": f"{settings.PORTAL_URL.get().rstrip('/')}/hooks/twilio/status",
        **({"messaging_service_sid": sender} if sender.startswith("MG") else {"from_": sender}),
    }


def send_text(client: Client, message: dict[str, str]) -> Outcome:
    """Hand one text to Twilio; a SendError says why it did not take it."""
    try:
        sent = client.messages.create(**message)
    except TwilioException as exc:
        raise twilio_refusal(exc, message["to"]) from exc
    except requests.RequestException as exc:
        raise SendError(f"Twilio could not be reached ({exc})", retryable=True) from exc
    return Outcome("sent", provider_message_id=sent.sid, detail=f"Twilio took it ({sent.status})")


class SmsChannel:
    name = "sms"
    concurrency = 4

    def __init__(self, outbox: Outbox | None = None) -> None:
        self.outbox = outbox or Outbox()
        self.client = twilio_client()
        # Twilio sends from one long code at about one message a second and queues the rest;
        # the outbox has no rate.
        self.per_second = 1.0 if self.client else 0.0

    def message(self, parcel: Parcel) -> dict[str, str]:
        """What goes to Twilio for this parcel (Twilio's parameter names, as the outbox shows them)."""
        link = links.url("report", {"d": parcel.delivery_id})
        return text_message(parcel.address, sms_text(parcel.report, link, reference(parcel.delivery_id)))

    def send(self, parcel: Parcel) -> Outcome:
        if not parcel.recipient.sms_consent:
            raise SendError(
                f"{parcel.recipient.name} has not consented to messages by SMS, so none was sent",
                retryable=False,
                status="suppressed",
            )
        message = self.message(parcel)
        if self.client is None:
            return self.outbox.write_json(parcel.delivery_id, self.name, message)
        return send_text(self.client, message)

    def look_up(self, parcel: Parcel) -> Outcome | None:
        if self.client is None:
            return self.outbox.look_up(parcel.delivery_id, self.name)
        mark = f"(ref {reference(parcel.delivery_id)})"
        try:
            # The report was made before the delivery was claimed: nothing older can be it.
            since = parcel.report.generated_at.astimezone(dt.UTC)
            messages = self.client.messages.list(to=parcel.address, date_sent_after=since)
        except (TwilioException, requests.RequestException) as exc:
            raise CannotTell(f"Twilio's list of messages could not be read ({exc})") from exc
        for message in messages:
            if message.body and mark in message.body:
                return Outcome(
                    "sent",
                    provider_message_id=message.sid,
                    detail=f"found in Twilio's list ({message.status})",
                )
        return None


def twilio_refusal(exc: TwilioException, number: str) -> SendError:
    status = getattr(exc, "status", None)
    code = getattr(exc, "code", None)
    # Twilio's own words; str() of its exception is coloured for a terminal.
    said = getattr(exc, "msg", None) or getattr(exc, "detail", None) or getattr(exc, "title", None) or exc
    if status == 429 or (isinstance(status, int) and status >= 500):
        return SendError(f"Twilio answered {status} ({said})", retryable=True)
    if code in (INVALID_NUMBER, NOT_MOBILE):
        return SendError(f"Twilio says {number} is not a mobile number it can text", retryable=False)
    if code == UNSUBSCRIBED:
        return SendError(
            f"{number} replied STOP to our messages, so Twilio sends it none until it replies START",
            retryable=False,
            status="suppressed",
        )
    return SendError(f"Twilio refused the message to {number} ({said})", retryable=False)
