"""Parcels for the channel tests: a real recipient and subscription, a report with a real PDF
in a report store, and a dispatcher over a real warehouse that records its waits."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
from pathlib import Path

import pypdf

from backroom_reporting.delivery import ledger
from backroom_reporting.delivery.dispatch import Dispatcher
from backroom_reporting.delivery.model import Channel, DeliverableReport, Headline, Parcel, ReportFile
from backroom_reporting.rendering.model import RenderedFile
from backroom_reporting.rendering.store import ReportStore
from backroom_reporting.subscriptions import service
from backroom_reporting.warehouse.database import Database
from tests.subscriptions import LEEDS, write_layouts

PHONE = "+447700900123"
REVENUE_PENCE = 1_234_567  # £12,345.67
ADMISSIONS = 456
WARNING = "Bar takings were 18% below the four-week average"
PDF_NAME = "daily_summary_backroom-leeds_2026-11-28.pdf"


def small_pdf() -> bytes:
    writer = pypdf.PdfWriter()
    writer.add_blank_page(width=200, height=200)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def report(store: ReportStore, warning: str | None = WARNING) -> DeliverableReport:
    pdf = store.put(RenderedFile("pdf", PDF_NAME, small_pdf(), "application/pdf"))
    return DeliverableReport(
        generation_id="gen-2026-11-28-daily",
        template_key="daily_summary",
        title="Daily Summary",
        period="2026-11-28",
        period_first_day=dt.date(2026, 11, 28),
        period_last_day=dt.date(2026, 11, 28),
        venue_id="backroom-leeds",
        filters={"venue_id": "backroom-leeds"},
        files=(ReportFile("pdf", pdf.name, pdf.path, pdf.size_bytes),),
        email_parts=None,
        key_metrics={"revenue_pence": REVENUE_PENCE, "admissions": ADMISSIONS, "spend_per_head_pence": 2707},
        warnings=(WARNING, "Two door scans had no ticket") if warning else (),
        headline=Headline(REVENUE_PENCE, ADMISSIONS, warning),
        # Made a minute ago: the providers' lists are searched from here on.
        generated_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1),
    )


def parcel(
    channel: str,
    address: str,
    store: ReportStore,
    layouts: Path,
    *,
    warning: str | None = WARNING,
    **subscription,
) -> Parcel:
    recipient = service.new_recipient(
        "Jo Bloggs",
        "manager",
        recipient_id="rcp-jo",
        phone=PHONE,
        slack_channel="C0BACKROOM1",
        channels=["sms"],
        sms_consent=True,
    )
    sub = service.new_subscription(
        recipient,
        "daily_summary",
        templates=service.load_templates(write_layouts(layouts)),
        known_venues=LEEDS,
        venue_id="backroom-leeds",
        channels=[channel],
        webhook_url=(address or "https://receiver.example/hooks") if channel == "webhook" else None,
        subscription_id=f"sub-jo-{channel}",
    )
    sub = dataclasses.replace(sub, **subscription)
    the_report = report(store, warning)
    return Parcel(
        delivery_id=ledger.delivery_id(sub.subscription_id, the_report.period, channel, address),
        channel=channel,
        address=address,
        subscription=sub,
        recipient=recipient,
        report=the_report,
    )


def dispatcher(db: Database, channel: Channel, waits: list[float], **options) -> Dispatcher:
    """A dispatcher that records each wait instead of sleeping it (unless given a `sleep`)."""
    return Dispatcher(db, {channel.name: channel}, source="run-test", **({"sleep": waits.append} | options))


def crashed_after_send(db: Database, channel: Channel, one: Parcel) -> None:
    """What a process leaves that claimed `one`, handed it to the provider, and died before
    recording the outcome."""
    claimed_at = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    ledger.queue(db, [one], claimed_at, "run-dead")
    assert ledger.claim(db, one.delivery_id, claimed_at, "run-dead", 4)
    channel.send(one)


def crashed_before_send(db: Database, one: Parcel) -> None:
    """What a process leaves that claimed `one` and died before handing it to the provider."""
    claimed_at = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    ledger.queue(db, [one], claimed_at, "run-dead")
    assert ledger.claim(db, one.delivery_id, claimed_at, "run-dead", 4)
