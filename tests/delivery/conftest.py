"""Real mail relays on loopback (aiosmtpd), a self-signed certificate for them, and a small
report in a report store to send."""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
import socket
import ssl
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from backroom_reporting.delivery.model import DeliverableReport, Headline, Parcel, ReportFile
from backroom_reporting.rendering.charts import ChartRenderer
from backroom_reporting.rendering.email_body import render_email
from backroom_reporting.rendering.formats import render
from backroom_reporting.rendering.generate import key_metrics, stored_email_body
from backroom_reporting.rendering.store import ReportStore
from backroom_reporting.subscriptions.service import Recipient, Subscription, new_recipient
from tests.rendering.builders import GENERATED_AT, NIGHT, daily_report

LAYOUTS_DIR = Path(__file__).resolve().parents[2] / "report_layouts"
USER, PASSWORD = "reports@backroom", "p@ss:word/with%odd"
DELIVERY_ID = "dlv-0123456789abcdef"


# --- mail relays --------------------------------------------------------------------------------


@dataclasses.dataclass
class Certificate:
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


@pytest.fixture(scope="session")
def certificate(tmp_path_factory) -> Certificate:
    """A self-signed certificate for 127.0.0.1, made here."""
    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "relay.pem", folder / "relay.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return Certificate(cert_file, key_file)


class Relay:
    """An SMTP handler that keeps what it accepts; `refusals` are replies given, in turn, to the
    DATA (4xx/5xx) or RCPT (5xx for an address) commands before it accepts."""

    def __init__(self, data_refusals: list[str] = (), rcpt_refusals: list[str] = ()):
        self.data_refusals = list(data_refusals)
        self.rcpt_refusals = list(rcpt_refusals)
        self.received: list[bytes] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.logins: list[tuple[str, str]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpt_refusals:
            return self.rcpt_refusals.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_refusals:
            return self.data_refusals.pop(0)
        self.received.append(envelope.content)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        login = (auth_data.login.decode(), auth_data.password.decode())
        self.logins.append(login)
        return AuthResult(success=login == (USER, PASSWORD), handled=False)

    def messages(self) -> list[EmailMessage]:
        return [BytesParser(policy=default).parsebytes(raw) for raw in self.received]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_relay(certificate) -> Iterator[Callable[..., tuple[Relay, int]]]:
    """Start a relay on loopback: `smtp_relay(Relay(), tls=None | "starttls" | "smtps")` gives the
    handler and its port; every relay started is stopped after the test."""
    started: list[Controller] = []

    def start(handler: Relay, tls: str | None = None) -> tuple[Relay, int]:
        port = free_port()
        options: dict = {"hostname": "127.0.0.1", "port": port}
        if tls == "starttls":
            options.update(
                tls_context=certificate.server_context(),
                require_starttls=True,
                authenticator=handler.authenticate,
            )
        elif tls == "smtps":
            # The connection is TLS from its first byte; aiosmtpd only knows of STARTTLS's.
            options.update(
                ssl_context=certificate.server_context(),
                authenticator=handler.authenticate,
                auth_require_tls=False,
            )
        controller = Controller(handler, **options)
        controller.start()
        started.append(controller)
        return handler, port

    yield start
    for controller in started:
        controller.stop()


@pytest.fixture
def trust_relay(certificate, monkeypatch) -> Path:
    monkeypatch.setenv("BACKROOM_SMTP_CA_FILE", str(certificate.cert_file))
    return certificate.cert_file


# --- a small real report ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chart_renderer() -> Iterator[ChartRenderer]:
    with ChartRenderer() as charts:
        yield charts


def rendered_report(store: ReportStore, charts: ChartRenderer) -> DeliverableReport:
    """The hand-made daily report of tests/rendering, rendered to PDF and Excel with its email
    body, kept in `store` as generation would."""
    report = daily_report()
    files, _ = render(report, ["pdf", "xlsx"], charts, LAYOUTS_DIR)
    stored = [store.put(f) for f in files]
    parts = stored_email_body(render_email(report, charts, LAYOUTS_DIR), report.file_stem, store)
    return DeliverableReport(
        generation_id="gen-0123456789ab",
        template_key=report.template_key,
        title=report.title,
        period=NIGHT.isoformat(),
        period_first_day=NIGHT,
        period_last_day=NIGHT,
        venue_id=report.venue_id,
        filters=report.filters,
        files=tuple(ReportFile(s.format, s.name, s.path, s.size_bytes) for s in stored),
        email_parts=parts,
        key_metrics=key_metrics(report),
        warnings=report.warnings,
        headline=Headline(1_539_617, 287, "The no-show rate of 12.3% is above its 8% target."),
        generated_at=GENERATED_AT,
    )


@pytest.fixture(scope="session")
def rendered(chart_renderer, tmp_path_factory) -> tuple[ReportStore, DeliverableReport]:
    store = ReportStore(tmp_path_factory.mktemp("reports"))
    return store, rendered_report(store, chart_renderer)


def jo() -> Recipient:
    return new_recipient(
        "Jo Bloggs",
        "manager",
        email="jo@example.com",
        channels=["email"],
        email_consent=True,
        recipient_id="rcp-jo",
        now=GENERATED_AT,
    )


def daily_subscription() -> Subscription:
    return Subscription(
        subscription_id="sub-jo-daily",
        recipient_id="rcp-jo",
        template_key="daily_summary",
        cron=None,
        timezone=None,
        filters={"venue_id": "backroom-leeds"},
        channels=("email",),
        formats=("pdf", "xlsx"),
        paused=False,
        next_delivery_at=None,
        created_at=GENERATED_AT,
        updated_at=GENERATED_AT,
    )


def parcel_of(report: DeliverableReport, delivery_id: str = DELIVERY_ID) -> Parcel:
    recipient = jo()
    return Parcel(delivery_id, "email", recipient.email, daily_subscription(), recipient, report)


@pytest.fixture
def store(tmp_path) -> ReportStore:
    return ReportStore(tmp_path / "reports")


@pytest.fixture
def warehouse(databases):
    """The test's warehouse (SQLite and PostgreSQL), closed after it."""
    db = databases.warehouse
    yield db
    db.close()
