"""A stale report (the last good one, sent because the period due failed) says so on every
channel: the email's subject and a banner atop both bodies, the SMS's first words, a Slack
section under the title, and a `stale` object in the webhook's event."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default
from html import unescape

import pytest

from backroom_reporting.delivery.channels.email import EmailChannel
from backroom_reporting.delivery.channels.slack import summary
from backroom_reporting.delivery.channels.sms import sms_text
from backroom_reporting.delivery.channels.webhook import payload
from backroom_reporting.delivery.mailer import Mailer
from backroom_reporting.delivery.model import DeliverableReport, Stale
from backroom_reporting.delivery.outbox import Outbox
from tests.delivery import parcels
from tests.delivery.conftest import parcel_of

NOW = dt.datetime(2026, 11, 23, 7, 0, tzinfo=dt.UTC)
REASON = "the Daily Summary for Sunday 22 November 2026 failed: the bar's hours do not add up to the night"
SUNDAY = dt.date(2026, 11, 22)


def stale(report: DeliverableReport) -> DeliverableReport:
    return dataclasses.replace(report, stale=Stale(SUNDAY.isoformat(), SUNDAY, SUNDAY, REASON))


@pytest.fixture(autouse=True)
def portal(monkeypatch):
    monkeypatch.setenv("BACKROOM_PORTAL_URL", "http://127.0.0.1:8000")


@pytest.fixture
def channel(rendered, tmp_path):
    store, _ = rendered
    return EmailChannel(
        store, Mailer("", Outbox(tmp_path / "outbox")), venues={"backroom-leeds": "The Backroom Leeds"}
    )


def composed(channel: EmailChannel, report: DeliverableReport) -> EmailMessage:
    message = channel.compose(parcel_of(report), now=NOW)
    return BytesParser(policy=default).parsebytes(message.as_bytes())


def bodies(message: EmailMessage) -> tuple[str, str]:
    return message.get_body(("html",)).get_content(), message.get_body(("plain",)).get_content()


@pytest.mark.parametrize("kept_body", [True, False], ids=["its email body", "no email body"])
def test_a_stale_email_says_so_in_its_subject_and_atop_both_bodies(channel, rendered, kept_body):
    _, saturday = rendered  # Saturday 21 November, made at GENERATED_AT
    report = saturday if kept_body else dataclasses.replace(saturday, email_parts=None)
    message = composed(channel, stale(report))
    assert message["Subject"] == "[Stale] Daily Summary - Sat 21 Nov 2026 - The Backroom Leeds"
    made = saturday.generated_at.astimezone(dt.UTC).strftime("%d %b %Y %H:%M")
    banner = f"Stale: figures as of Sat 21 Nov 2026 (made {made} UTC)"
    why = f"Sent in place of the report due, which could not be made: {REASON}."
    html, text = bodies(message)
    assert text.splitlines()[:2] == [banner, why]
    # The HTML's first table, before anything else in its body, is the banner.
    body = html[html.index("<body") :]
    first_table = unescape(body[: body.index("</table>")])
    assert re.match(r"<body[^>]*>\s*<table", body)
    assert banner in first_table and why in first_table


def test_a_fresh_email_has_no_banner(channel, rendered):
    _, report = rendered
    message = composed(channel, report)
    html, text = bodies(message)
    assert not message["Subject"].startswith("[Stale]")
    assert "Stale" not in text and "Stale" not in html


def test_a_stale_sms_starts_by_saying_so(store):
    report = stale(parcels.report(store))
    text = sms_text(report, "https://reports.example/r/abc", "abc123")
    assert text.startswith("STALE (figures as of 2026-11-28; 2026-11-22 failed) Daily Summary 2026-11-28: ")
    assert len(text) <= 306  # still two GSM-7 segments: the warning gave way
    assert text.endswith("Report: https://reports.example/r/abc (ref abc123)")


def test_a_stale_slack_message_has_a_section_under_its_title(store):
    fresh = summary(parcels.report(store), "https://reports.example/r/abc")
    blocks = summary(stale(parcels.report(store)), "https://reports.example/r/abc")
    assert blocks[0]["type"] == "header"
    assert blocks[1] == {
        "type": "section",
        "text": {
            "type": "mrkdwn",
            "text": f":hourglass: *Stale: figures as of 2026-11-28.* The report for 2026-11-22 could not "
            f"be made: {REASON}.",
        },
    }
    assert blocks[:1] + blocks[2:] == fresh


def test_a_stale_webhook_event_carries_a_stale_object(store, tmp_path):
    parcel = parcels.parcel("webhook", "https://receiver.example/hooks", store, tmp_path / "layouts")
    assert payload(parcel, NOW)["data"]["stale"] is None
    event = payload(dataclasses.replace(parcel, report=stale(parcel.report)), NOW)
    assert event["data"]["stale"] == {
        "period": "2026-11-22",
        "period_first_day": "2026-11-22",
        "period_last_day": "2026-11-22",
        "reason": REASON,
    }
    assert event["data"]["period"] == "2026-11-28"  # the figures sent are the last good report's
