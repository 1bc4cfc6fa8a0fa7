"""The web app served by uvicorn on a free loopback port, over a warehouse holding one manager's
delivered reports (two nights, by email and on the dashboard) and another recipient's."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import socket
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from twilio.request_validator import RequestValidator

from backroom_reporting.alerting.incidents import acknowledge, job_dedup_key, raise_incident, resolve
from backroom_reporting.alerting.rules import parse_rules
from backroom_reporting.delivery import ledger
from backroom_reporting.delivery.model import DeliverableReport, Parcel
from backroom_reporting.delivery.reports import deliverable, generation_for
from backroom_reporting.portal import sessions
from backroom_reporting.portal.app import create_app
from backroom_reporting.rendering.history import Generation, append_generation, record_template_versions
from backroom_reporting.rendering.model import RenderedFile
from backroom_reporting.rendering.periods import period_containing
from backroom_reporting.rendering.store import ReportStore
from backroom_reporting.subscriptions import service
from backroom_reporting.warehouse.database import Database
from backroom_reporting.warehouse.tables.alerts import alert_incidents
from tests.alerting import ON_CALL, write_on_call, write_rules
from tests.portal.archives import library  # noqa: F401 (the report archive's fixture)
from tests.reports.test_email_in_browser import CHROMIUM, CHROMIUM_ARGS
from tests.subscriptions import LEEDS, set_venues, write_layouts

UTC = dt.UTC
NOW = dt.datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
NIGHTS = (dt.date(2026, 11, 27), dt.date(2026, 11, 28))
LINK_SECRET = "portal-test-link-secret"
TWILIO_TOKEN = "twilio-test-auth-token"
KIMS_NUMBER = "+447700900123"  # Ofcom's mobile drama range


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclasses.dataclass
class Portal:
    base: str
    http: httpx.Client
    db: Database
    store: ReportStore

    def path(self, url: str) -> str:
        """A link the portal made, relative to its base (it is served here)."""
        assert url.startswith(self.base), url
        return url.removeprefix(self.base)


@pytest.fixture
def portal(databases, tmp_path, monkeypatch) -> Iterator[Portal]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("BACKROOM_PORTAL_URL", base)
    monkeypatch.setenv("BACKROOM_LINK_SECRET", LINK_SECRET)
    store_dir = tmp_path / "reports"
    app = create_app(databases.warehouse_url, store_dir)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the portal did not start"
        time.sleep(0.05)
    db = databases.warehouse
    try:
        with httpx.Client(base_url=base, timeout=30) as http:
            yield Portal(base, http, db, ReportStore(store_dir))
    finally:
        server.should_exit = True
        thread.join(10)
        db.close()


@dataclasses.dataclass
class World:
    jo: service.Recipient
    sam: service.Recipient
    subscription: service.Subscription
    # Per night: the report's files' bytes by format, and its deliveries by channel.
    files: dict[dt.date, dict[str, bytes]]
    deliveries: dict[dt.date, dict[str, str]]
    sams_delivery: str
    layouts_dir: Path
    report: DeliverableReport  # Jo's newest


def deliver(db: Database, parcel: Parcel, status: str, provider_message_id: str | None = None) -> None:
    ledger.queue(db, [parcel], NOW, "run-test")
    assert ledger.claim(db, parcel.delivery_id, NOW, "run-test", max_attempts=4)
    ledger.record(db, parcel.delivery_id, status, NOW, "run-test", provider_message_id=provider_message_id)


def _report(db, store, subscription, layout, night: dt.date, key_metrics: dict, warnings: list[str]):
    """A generated daily report of `night` with PDF and CSV files, as the report assets leave it."""
    period = period_containing(layout.period, night)
    contents = {
        "pdf": b"%PDF-1.7 the night of " + night.isoformat().encode(),
        "csv": f"metric,value\ndaily_revenue,{key_metrics['daily_revenue']}\n".encode(),
    }
    stored = [
        store.put(RenderedFile(fmt, f"daily_summary_backroom-leeds_{night}.{fmt}", content, "x/y"))
        for fmt, content in contents.items()
    ]
    append_generation(
        db,
        Generation(
            generation_id=f"gen-{subscription.subscription_id}-{night:%m%d}",
            subscription_id=subscription.subscription_id,
            template_key=layout.key,
            template_hash=layout.content_hash,
            venue_id="backroom-leeds",
            period_kind=period.kind,
            period_first_day=period.first_day,
            period_last_day=period.last_day,
            filters=subscription.filters,
            formats=list(contents),
            files=[dataclasses.asdict(f) | {"reused_from": None} for f in stored],
            row_counts={},
            key_metrics=key_metrics,
            warnings=warnings,
            duration_seconds=1.5,
            status="succeeded",
            error=None,
            generated_at=dt.datetime.combine(night + dt.timedelta(days=1), dt.time(7), UTC),
            expires_at=None,
            dagster_run_id=None,
        ),
    )
    return deliverable(db, generation_for(db, subscription.subscription_id, period), layout, period), contents


@pytest.fixture
def world(portal, tmp_path) -> World:
    db = portal.db
    layouts_dir = write_layouts(tmp_path / "layouts")
    layouts = service.load_templates(layouts_dir)
    record_template_versions(db, layouts, NOW)
    set_venues(db, LEEDS)
    jo = service.add_recipient(
        db,
        "Jo Bloggs",
        "manager",
        recipient_id="rcp-jo",
        email="jo@example.com",
        channels=["email", "dashboard"],
        email_consent=True,
        now=NOW,
    )
    sam = service.add_recipient(
        db, "Sam Okafor", "finance", recipient_id="rcp-sam", channels=["api"], now=NOW
    )
    joins = service.add_subscription(
        db, jo.recipient_id, "daily_summary", layouts_dir=layouts_dir, subscription_id="sub-jo", now=NOW
    )
    sams = service.add_subscription(
        db, sam.recipient_id, "daily_summary", layouts_dir=layouts_dir, subscription_id="sub-sam", now=NOW
    )
    layout = layouts["daily_summary"]
    files, deliveries = {}, {}
    for i, night in enumerate(NIGHTS):
        metrics = {
            "daily_revenue": 812_345 + i,
            "daily_revenue_status": "on_target",
            "booking_conversion": 0.875,
        }
        report, files[night] = _report(
            db, portal.store, joins, layout, night, metrics, [f"Door scans stopped at 01:{i}0"]
        )
        deliveries[night] = {}
        for channel, address in (("email", jo.email), ("dashboard", jo.recipient_id)):
            parcel = Parcel(
                ledger.delivery_id(joins.subscription_id, report.period, channel, address),
                channel,
                address,
                joins,
                jo,
                report,
            )
            if channel == "email":
                deliver(db, parcel, "sent", provider_message_id=f"<{night}@backroom.test>")
            else:
                deliver(db, parcel, "delivered")
            deliveries[night][channel] = parcel.delivery_id
    jos_report = report
    night = NIGHTS[-1]
    report, _ = _report(db, portal.store, sams, layout, night, {"daily_revenue": 5}, [])
    sams_parcel = Parcel(
        ledger.delivery_id(sams.subscription_id, report.period, "api", sam.recipient_id),
        "api",
        sam.recipient_id,
        sams,
        sam,
        report,
    )
    deliver(db, sams_parcel, "delivered")
    return World(jo, sam, joins, files, deliveries, sams_parcel.delivery_id, layouts_dir, jos_report)


def twilio(portal, path: str, params: dict[str, str], url: str | None = None, token: str = TWILIO_TOKEN):
    """A request as Twilio makes it: the form, signed with the auth token over the URL it calls."""
    signature = RequestValidator(token).compute_signature(url or portal.base + path, params)
    return portal.http.post(path, data=params, headers={"X-Twilio-Signature": signature})


def reply_of(answer) -> list[str]:
    """The messages of a TwiML answer."""
    return [m.text for m in ET.fromstring(answer.text).iter("Message")]


class Kept(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def refusals() -> Iterator[list[str]]:
    """The lines the callbacks log."""
    kept = Kept()
    logger = logging.getLogger("backroom_reporting.portal.callbacks")
    logger.addHandler(kept)
    yield kept.lines
    logger.removeHandler(kept)


@dataclasses.dataclass
class OnCall:
    """Three incidents of the night, by number, and a number no incident has."""

    triggered: int  # tiny_job failed, seen three times from 00:00 to 00:02
    acknowledged: int  # closing_run failed at 02:00, acknowledged by Jo Bloggs at 02:05
    resolved: int  # nightly_export failed at 03:00, resolved by dagster at 03:30
    unknown: int


@pytest.fixture
def on_call(portal, tmp_path, monkeypatch) -> OnCall:
    """Three incidents, and an on-call list on which Kim's number is."""
    on_call_file = write_on_call(tmp_path / "alerts", ON_CALL.replace('"07700 900111"', f'"{KIMS_NUMBER}"'))
    monkeypatch.setenv("BACKROOM_ON_CALL", str(on_call_file))
    rules = parse_rules(write_rules(tmp_path / "alerts"))
    critical, warning = rules.by_key("tiny_failed"), rules.by_key("anything_failed")
    db, midnight = portal.db, NOW.replace(hour=0)
    for minute in range(3):
        triggered = raise_incident(
            db,
            critical,
            job_dedup_key(critical, "tiny_job"),
            "tiny_job failed",
            f"run {minute} failed: disk full",
            midnight + dt.timedelta(minutes=minute),
        )
    at = midnight + dt.timedelta(hours=2)
    acknowledged = raise_incident(
        db, critical, job_dedup_key(critical, "closing_run"), "closing_run failed", None, at
    )
    acknowledge(db, acknowledged.incident_number, "Jo Bloggs", "cli", at + dt.timedelta(minutes=5))
    at = midnight + dt.timedelta(hours=3)
    resolved = raise_incident(
        db, warning, job_dedup_key(warning, "nightly_export"), "nightly_export failed", None, at
    )
    resolve(db, resolved.incident_number, "dagster", "run succeeded", at + dt.timedelta(minutes=30))
    numbers = (triggered.incident_number, acknowledged.incident_number, resolved.incident_number)
    return OnCall(*numbers, unknown=max(numbers) + 1000)


def incident_rows(portal) -> list[tuple]:
    """alert_incidents as it stands: what a refused request must leave alone."""
    with portal.db.engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(sa.select(alert_incidents).order_by(alert_incidents.c.incident_number))
        ]


@pytest.fixture
def chromium(portal):
    """Headless Chromium that may reach the portal only: `chromium(cookie)` opens a page in a new
    context, signed in with that session cookie when one is given. No other host is asked."""
    from playwright.sync_api import sync_playwright

    elsewhere: list[str] = []

    def only_the_portal(route) -> None:
        if route.request.url.startswith(portal.base + "/"):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)

        def new_page(cookie: str | None = None, **context_options):
            context = browser.new_context(**context_options)
            if cookie is not None:
                context.add_cookies([{"name": sessions.COOKIE, "value": cookie, "url": portal.base}])
            context.route("**/*", only_the_portal)
            return context.new_page()

        yield new_page
        browser.close()
    assert elsewhere == []


@pytest.fixture
def browser_page(chromium):
    """A page of Chromium, signed in as nobody."""
    return chromium()
