"""Handing an email to the mail relay, or to the outbox folder when there is none.

The relay is any SMTP server (SendGrid, Postmark, a company's own): `smtp://` speaks
STARTTLS on 587 (in clear only to a relay that offers no STARTTLS and asks no password),
`smtps://` TLS from the start on 465. Without one each message is written
as `<Message-ID>.eml` in the outbox, so the demo shows what a manager would get.
"""

from __future__ import annotations

import dataclasses
import email.headerregistry
import email.message
import email.utils
import re
import smtplib
import ssl
import uuid
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from backroom_reporting import settings
from backroom_reporting.delivery.model import CannotTell, SendError
from backroom_reporting.delivery.outbox import Outbox
from backroom_reporting.subscriptions.service import list_recipients
from backroom_reporting.warehouse.database import Database

DEFAULT_TIMEOUT = 30.0
# The relay says the mailbox does not exist, is not accepted there, or its name is not allowed.
BOUNCE_CODES = (550, 551, 553)


class Mailer:
    def __init__(self, smtp_url: str | None = None, outbox: Outbox | None = None):
        self.smtp_url = settings.SMTP_URL.get() if smtp_url is None else smtp_url
        self.outbox = outbox or Outbox()
        self.ca_file = settings.SMTP_CA_FILE.get() or None
        self._relay = _Relay.parse(self.smtp_url) if self.smtp_url else None

    def send(self, message: email.message.EmailMessage) -> str:
        """Hand the message over; its Message-ID. SendError when the relay does not take it."""
        message_id = message["Message-ID"]
        if not message_id:
            raise ValueError("a message needs a Message-ID before it is sent")
        with_boundaries(message)
        if self._relay:
            self._relay.send(message, self.ca_file)
        else:
            self.outbox.write(self.outbox_file(message_id).name, message.as_bytes())
        return message_id

    def has_sent(self, message_id: str) -> bool:
        if self._relay:
            raise CannotTell("an SMTP relay cannot be asked which messages it accepted")
        return self.outbox_file(message_id).exists()

    def outbox_file(self, message_id: str) -> Path:
        """Where the outbox keeps the message of this Message-ID."""
        return self.outbox.folder / f"{_file_name(message_id)}.eml"


def with_boundaries(message: email.message.EmailMessage) -> None:
    """Name every multipart's boundary before the message is written. Left to the generator,
    each is chosen by scanning the whole encoded message for a clash, attachments included:
    a third of the cost of writing a report's email. A random token cannot occur in base64
    or in our own text."""
    for part in message.walk():
        if part.is_multipart() and not part.get_boundary():
            part.set_boundary(f"=_backroom_{uuid.uuid4().hex}")


def _file_name(message_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9@._-]", "_", message_id.strip().strip("<>"))


@dataclasses.dataclass(frozen=True)
class _Relay:
    """An SMTP relay as its URL names it."""

    tls: bool
    host: str
    port: int
    user: str | None
    password: str | None
    timeout: float

    @classmethod
    def parse(cls, smtp_url: str) -> _Relay:
        parts = urlsplit(smtp_url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(
                f"BACKROOM_SMTP_URL {_without_password(smtp_url)!r} is not a mail relay address: "
                "use smtp://user:password@host:587 (STARTTLS) or smtps://user:password@host:465"
            )
        tls = parts.scheme == "smtps"
        timeout = parse_qs(parts.query).get("timeout", [str(DEFAULT_TIMEOUT)])[0]
        try:
            seconds = float(timeout)
        except ValueError:
            raise ValueError(f"BACKROOM_SMTP_URL's timeout {timeout!r} is not a number of seconds") from None
        return cls(
            tls=tls,
            host=parts.hostname,
            port=parts.port or (465 if tls else 587),
            user=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            timeout=seconds,
        )

    def send(self, message: email.message.EmailMessage, ca_file: str | None) -> None:
        context = ssl.create_default_context()
        if ca_file:
            context.load_verify_locations(cafile=ca_file)
        where = f"the mail relay {self.host}:{self.port}"
        try:
            if self.tls:
                client = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with client:
                client.ehlo()
                # STARTTLS whenever offered; a relay without it is spoken to in clear only when no
                # password would cross (a local relay), else smtplib refuses to log in.
                if not self.tls and (self.user or client.has_extn("starttls")):
                    client.starttls(context=context)
                if self.user:
                    client.login(self.user, self.password or "")
                client.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()))
            raise _refused(where, code, reply) from exc
        except smtplib.SMTPResponseException as exc:
            raise _refused(where, exc.smtp_code, exc.smtp_error) from exc
        except smtplib.SMTPNotSupportedError as exc:
            # No STARTTLS where a password would cross, or no AUTH where the URL has credentials.
            raise SendError(f"{where} cannot be used as configured: {exc}", retryable=False) from exc
        except ssl.SSLError as exc:
            raise SendError(
                f"{where} could not be reached securely: {exc.reason or exc}", retryable=False
            ) from exc
        except OSError as exc:
            # Refused, timed out, reset, disconnected: the relay may be back in a moment.
            what = "did not answer in time" if isinstance(exc, TimeoutError) else "could not be reached"
            raise SendError(f"{where} {what} ({exc})", retryable=True) from exc


def _refused(where: str, code: int, reply: bytes | str) -> SendError:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    said = f"{where} replied {code} {text.strip()}"
    if 400 <= code < 500:
        return SendError(f"{said}: trying again later", retryable=True)
    if code in BOUNCE_CODES:
        return SendError(f"{said}: the address does not take mail", retryable=False, status="bounced")
    return SendError(f"{said}: the message was refused", retryable=False)


def _without_password(smtp_url: str) -> str:
    parts = urlsplit(smtp_url)
    if parts.password:
        return smtp_url.replace(f":{parts.password}@", ":***@", 1)
    return smtp_url


def tell_owner(db: Database, subject: str, text: str, *, mailer: Mailer | None = None) -> list[str]:
    """Email `text` to every reachable report owner (what delivery does when a mail bounces or its
    outcome cannot be known); the addresses told."""
    mailer = mailer or Mailer()
    told: list[str] = []
    for owner in list_recipients(db):
        if owner.role != "owner" or not owner.email or owner.suppressed:
            continue
        message = email.message.EmailMessage()
        message["From"] = settings.MAIL_FROM.get()
        message["To"] = email.headerregistry.Address(owner.name, addr_spec=owner.email)
        message["Subject"] = subject
        message["Message-ID"] = email.utils.make_msgid(domain="backroom-reporting")
        message["Date"] = email.utils.formatdate(localtime=False)
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(text)
        mailer.send(message)
        told.append(owner.email)
    return told
