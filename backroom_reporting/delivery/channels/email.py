"""The email channel: a report as a multipart message, handed to the Mailer.

    multipart/mixed
      multipart/alternative
        text/plain                 the report in plain text, then its files and links
        multipart/related
          text/html                styles inlined, charts as <img src="cid:…">, open pixel
          image/png …              one per chart, Content-ID as the cid: names it
      application/pdf …            the report's files, or signed download links above the size cap

The Message-ID is made from the delivery id, so sending a delivery again would be the same
message, and the outbox (or a provider's callback) finds the delivery by it.
"""

from __future__ import annotations

import datetime as dt
import email.headerregistry
import email.utils
import html
import json
import mimetypes
import re
import threading
from collections.abc import Callable, Mapping
from email.message import EmailMessage

from markupsafe import escape

from backroom_reporting import settings
from backroom_reporting.delivery import links
from backroom_reporting.delivery.mailer import Mailer
from backroom_reporting.delivery.model import DeliverableReport, Outcome, Parcel, ReportFile, SendError
from backroom_reporting.rendering.formatting import format_count, format_date, format_money
from backroom_reporting.rendering.model import GROUP_NAME
from backroom_reporting.rendering.store import ReportStore
from backroom_reporting.subscriptions.service import Recipient

MESSAGE_ID_DOMAIN = "backroom-reporting"
# The encoded attachments a channel keeps for the messages after (oldest dropped first).
ATTACHMENT_BYTES_KEPT = 64 * 1024 * 1024
TEXT = "color: #434c5b; font-family: Helvetica, Arial, sans-serif; font-size: 14px; line-height: 1.5;"
LINK = "color: #1f3a5f;"
SMALL = "color: #8a94a3; font-family: Helvetica, Arial, sans-serif; font-size: 12px; line-height: 1.5;"


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def message_id(delivery_id: str) -> str:
    return f"<{delivery_id}@{MESSAGE_ID_DOMAIN}>"


def period_words(report: DeliverableReport) -> str:
    """Sat 28 Nov 2026; a week 23-29 Nov 2026 (or 30 Nov-6 Dec 2026): short enough that the
    subject fits one line and a phone's inbox."""
    first, last = report.period_first_day, report.period_last_day
    if first == last:
        return format_date(first)
    if (first.year, first.month) == (last.year, last.month):
        return f"{first.day}-{last.day} {last:%b %Y}"
    if first.year == last.year:
        return f"{first.day} {first:%b}-{last.day} {last:%b %Y}"
    return f"{first.day} {first:%b %Y}-{last.day} {last:%b %Y}"


class EmailChannel:
    name = "email"

    def __init__(
        self,
        store: ReportStore | None = None,
        mailer: Mailer | None = None,
        *,
        venues: Mapping[str, str] | None = None,
        concurrency: int = 4,
        per_second: float | None = None,
        clock: Callable[[], dt.datetime] = _utc_now,
    ):
        self.store = store or ReportStore()
        self.mailer = mailer or Mailer()
        # Venue names by id (subscriptions.service.venues), for the subject; else the id is shown.
        self.venues = dict(venues or {})
        self.concurrency = concurrency
        # A relay takes about ten a second unless told otherwise; the outbox has no rate.
        self.per_second = per_second if per_second is not None else (10.0 if self.mailer.smtp_url else 0.0)
        self.clock = clock
        # Attachment parts by report-store path (content-addressed: a path is one content).
        self._attachments: dict[str, tuple[EmailMessage, int]] = {}
        self._lock = threading.Lock()

    def send(self, parcel: Parcel) -> Outcome:
        return Outcome("sent", provider_message_id=self.mailer.send(self.compose(parcel, now=self.clock())))

    def look_up(self, parcel: Parcel) -> Outcome | None:
        found = message_id(parcel.delivery_id)
        return Outcome("sent", provider_message_id=found) if self.mailer.has_sent(found) else None

    def compose(self, parcel: Parcel, *, now: dt.datetime) -> EmailMessage:
        report = parcel.report
        venue = GROUP_NAME if report.venue_id is None else self.venues.get(report.venue_id, report.venue_id)
        message = addressed(parcel.recipient.name, parcel.address, now)
        subject = f"{report.title} - {period_words(report)} - {venue}"
        message["Subject"] = f"[Stale] {subject}" if report.stale else subject
        message["Message-ID"] = message_id(parcel.delivery_id)
        unsubscribe = links.url(
            "unsubscribe", {"s": parcel.subscription.subscription_id, "r": parcel.recipient.recipient_id}
        )
        message["List-Unsubscribe"] = f"<{unsubscribe}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        # The providers hand these back in their event callbacks, naming the delivery.
        message["X-SMTPAPI"] = json.dumps({"unique_args": {"delivery_id": parcel.delivery_id}})
        message["X-PM-Metadata-delivery_id"] = parcel.delivery_id

        cap = float(settings.EMAIL_SIZE_CAP_MB.get()) * 1024 * 1024
        attach = sum(f.size_bytes for f in report.files) <= cap
        downloads = (
            []
            if attach
            else [
                (f, links.url("download", {"d": parcel.delivery_id, "p": f.path, "n": f.name}))
                for f in report.files
            ]
        )
        online = links.url("report", {"d": parcel.delivery_id})
        footer = _Footer(parcel.delivery_id, report.files if attach else (), downloads, online, unsubscribe)

        text, body, images = self._stored_body(report.email_parts) or (
            _fallback_text(report, venue),
            _fallback_html(report, venue),
            [],
        )
        if report.stale:
            text, body = _stale_text(report) + text, _with_stale_banner(body, report)
        message.set_content(text.rstrip("\n") + "\n\n" + footer.text())
        message.add_alternative(footer.into_html(body), subtype="html")
        html_part = message.get_payload()[1]
        for cid, name, png in images:
            html_part.add_related(png, "image", "png", cid=f"<{cid}>", filename=name, disposition="inline")
        if attach:
            message.make_mixed()
            for file in report.files:
                message.attach(self._attachment(file))
        return message

    def _stored_body(self, parts: dict | None) -> tuple[str, str, list[tuple[str, str, bytes]]] | None:
        """The email body kept at generation: text, HTML and (cid, name, PNG) per chart; None when
        the report has none, or the store no longer has it (the plain body is sent instead)."""
        if not parts:
            return None
        try:
            return (
                self.store.read(parts["text"]).decode("utf-8"),
                self.store.read(parts["html"]).decode("utf-8"),
                [(i["cid"], i["name"], self.store.read(i["path"])) for i in parts["images"]],
            )
        except FileNotFoundError:
            return None

    def _attachment(self, file: ReportFile) -> EmailMessage:
        """The file as an attachment part (what add_attachment makes), encoded once: the
        subscriptions sharing a report send the same file, and base64 is written in Python.
        A part is only read when a message is written, so messages share it."""
        with self._lock:
            kept = self._attachments.pop(file.path, None)
            if kept is None:
                part = EmailMessage()
                maintype, subtype = _media_type(file.name).split("/", 1)
                part.set_content(self._file(file), maintype, subtype, filename=file.name)
                kept = (part, file.size_bytes)
            self._attachments[file.path] = kept  # the most recently used last
            while sum(size for _, size in self._attachments.values()) > ATTACHMENT_BYTES_KEPT:
                if len(self._attachments) == 1:
                    break
                self._attachments.pop(next(iter(self._attachments)))
            return kept[0]

    def _file(self, file: ReportFile) -> bytes:
        try:
            return self.store.read(file.path)
        except FileNotFoundError:
            raise SendError(
                f"the report file {file.name} ({file.path}) is no longer in the report store", retryable=False
            ) from None


def verification_message(recipient: Recipient, *, now: dt.datetime) -> EmailMessage:
    """Asks the person to confirm their address before any report is sent to it."""
    if not recipient.email:
        raise ValueError(f"{recipient} has no email address to verify")
    link = links.url("verify", {"r": recipient.recipient_id, "e": recipient.email})
    days = links.lifetime("verify").days
    message = addressed(recipient.name, recipient.email, now)
    message["Subject"] = "Please confirm your email address for The Backroom Leeds reports"
    message["Message-ID"] = email.utils.make_msgid(f"verify-{recipient.recipient_id}", MESSAGE_ID_DOMAIN)
    message.set_content(
        f"Hello {recipient.name},\n\n"
        "You have been added to the reports of The Backroom Leeds. Before we send any report to "
        f"this address, please confirm it is yours:\n\n{link}\n\n"
        f"The link works for {days} days. If you did not expect this, ignore this email and "
        "nothing will be sent.\n"
    )
    message.add_alternative(
        f'<p style="{TEXT}">Hello {escape(recipient.name)},</p>'
        f'<p style="{TEXT}">You have been added to the reports of The Backroom Leeds. Before we send any '
        "report to this address, please confirm it is yours:</p>"
        f'<p style="{TEXT}"><a href="{escape(link)}" style="{LINK}">Confirm my email address</a></p>'
        f'<p style="{SMALL}">The link works for {days} days. If you did not expect this, ignore this '
        "email and nothing will be sent.</p>",
        subtype="html",
    )
    return message


def addressed(name: str, address: str, now: dt.datetime) -> EmailMessage:
    """A new automatic message from us to one person."""
    message = EmailMessage()
    message["From"] = settings.MAIL_FROM.get()
    message["To"] = email.headerregistry.Address(name, addr_spec=address)
    message["Date"] = email.utils.format_datetime(now.astimezone(dt.UTC))
    # Out-of-office replies and other robots do not answer an automatic message (RFC 3834).
    message["Auto-Submitted"] = "auto-generated"
    return message


def _media_type(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


class _Footer:
    """What follows the report in both parts: its files (attached or linked), the report online,
    the unsubscribe link; in the HTML the open pixel too. Links but unsubscribe go through the
    click tracker."""

    def __init__(
        self,
        delivery_id: str,
        attached: tuple[ReportFile, ...],
        downloads: list[tuple[ReportFile, str]],
        online: str,
        unsubscribe: str,
    ):
        self.delivery_id = delivery_id
        self.attached = attached
        self.downloads = [(f, self.tracked(link)) for f, link in downloads]
        self.online = self.tracked(online)
        self.unsubscribe = unsubscribe

    def tracked(self, target: str) -> str:
        return links.url("click", {"d": self.delivery_id, "u": target})

    def text(self) -> str:
        lines = []
        if self.attached:
            lines.append("Attached: " + ", ".join(f.name for f in self.attached))
        if self.downloads:
            days = links.lifetime("download").days
            lines.append(f"The files are too large to attach; download them (links work for {days} days):")
            lines.extend(f"  {f.name}: {link}" for f, link in self.downloads)
        lines.append(f"See this report online: {self.online}")
        lines.append(f"Stop receiving this report: {self.unsubscribe}")
        return "\n".join(lines) + "\n"

    def into_html(self, body: str) -> str:
        """`body` with its links tracked and the footer and open pixel before </body>."""
        body = re.sub(
            r'href="(https?://[^"]+)"', lambda m: f'href="{escape(self.tracked(html.unescape(m[1])))}"', body
        )
        rows = []
        if self.attached:
            rows.append(f"Attached: {escape(', '.join(f.name for f in self.attached))}")
        if self.downloads:
            days = links.lifetime("download").days
            listed = "<br>".join(
                f'<a href="{escape(link)}" style="{LINK}">{escape(f.name)}</a>' for f, link in self.downloads
            )
            rows.append(
                f"The files are too large to attach; download them (links work for {days} days):<br>{listed}"
            )
        rows.append(f'<a href="{escape(self.online)}" style="{LINK}">See this report online</a>')
        rows.append(f'<a href="{escape(self.unsubscribe)}" style="{LINK}">Stop receiving this report</a>')
        paragraphs = "".join(f'<p style="{SMALL}">{row}</p>' for row in rows)
        pixel = links.url("open", {"d": self.delivery_id})
        footer = (
            '<table role="presentation" cellpadding="0" cellspacing="0" width="100%"><tr>'
            f'<td align="center" style="padding: 16px;">{paragraphs}'
            f'<img src="{escape(pixel)}" width="1" height="1" alt="" style="display: block; border: 0;">'
            "</td></tr></table>"
        )
        if "</body>" in body:
            return body.replace("</body>", f"{footer}\n</body>", 1)
        return f"{body}\n{footer}"


def stale_banner(report: DeliverableReport) -> tuple[str, str]:
    """The two lines atop a stale report: what its figures are as of, and why it was sent."""
    made = report.generated_at.astimezone(dt.UTC)
    return (
        f"Stale: figures as of {period_words(report)} (made {made:%d %b %Y %H:%M} UTC)",
        f"Sent in place of the report due, which could not be made: {report.stale.reason}.",
    )


def _stale_text(report: DeliverableReport) -> str:
    first, why = stale_banner(report)
    return f"{first}\n{why}\n{'=' * len(first)}\n\n"


def _with_stale_banner(body: str, report: DeliverableReport) -> str:
    """`body` with the stale banner first inside <body> (or first of all)."""
    first, why = stale_banner(report)
    banner = (
        '<table role="presentation" cellpadding="0" cellspacing="0" width="100%"><tr>'
        '<td style="padding: 12px 16px; background-color: #fbeaea; border-left: 4px solid #a4505a;">'
        f'<p style="{TEXT} margin: 0; font-weight: bold; color: #a4505a;">{escape(first)}</p>'
        f'<p style="{TEXT} margin: 4px 0 0 0;">{escape(why)}</p>'
        "</td></tr></table>"
    )
    opening = re.search(r"<body[^>]*>", body)
    if opening is None:
        return banner + body
    return body[: opening.end()] + banner + body[opening.end() :]


def _fallback_text(report: DeliverableReport, venue: str) -> str:
    """A report kept without an email body (made before the subscription went by email)."""
    lines = [report.title.upper(), f"{venue} · {period_words(report)}", ""]
    lines.extend(f"{label}: {value}" for label, value in _headline(report))
    lines.extend(f"Warning: {w}" for w in report.warnings)
    return "\n".join(lines) + "\n"


def _fallback_html(report: DeliverableReport, venue: str) -> str:
    figures = "".join(
        f'<tr><td style="{TEXT} padding-right: 16px;">{escape(label)}</td>'
        f'<td style="{TEXT} font-weight: bold;">{escape(value)}</td></tr>'
        for label, value in _headline(report)
    )
    warnings = "".join(f'<p style="{TEXT} color: #a4505a;">{escape(w)}</p>' for w in report.warnings)
    return (
        '<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8">'
        f"<title>{escape(report.title)}</title></head><body>"
        f'<h1 style="{TEXT} font-size: 22px; color: #1f3a5f;">{escape(report.title)}</h1>'
        f'<p style="{TEXT}">{escape(venue)} · {escape(period_words(report))}</p>'
        f'<table role="presentation" cellpadding="0" cellspacing="0">{figures}</table>{warnings}'
        "</body></html>"
    )


def _headline(report: DeliverableReport) -> list[tuple[str, str]]:
    figures = []
    if report.headline.revenue_pence is not None:
        figures.append(("Takings", format_money(report.headline.revenue_pence)))
    if report.headline.admissions is not None:
        figures.append(("Admissions", format_count(report.headline.admissions)))
    if report.headline.warning and report.headline.warning not in report.warnings:
        figures.append(("Watch", report.headline.warning))
    return figures
