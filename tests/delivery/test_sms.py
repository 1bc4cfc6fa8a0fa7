"""SMS through the twilio SDK against a stand-in for Twilio's REST API on loopback."""

from __future__ import annotations

import base64
import dataclasses
import re

import pytest

from backroom_reporting.delivery import ledger, links
from backroom_reporting.delivery.channels.sms import SmsChannel, reference, sms_text
from tests.delivery import parcels
from tests.delivery.loopback import serve
from tests.delivery.standins import MESSAGES, SENDER, SID, TWILIO_TOKEN, TwilioStandIn, twilio_error


@pytest.fixture
def twilio(monkeypatch, tmp_path):
    for server in serve():
        monkeypatch.setenv("TWILIO_ACCOUNT_SID", SID)
        monkeypatch.setenv("TWILIO_AUTH_TOKEN", TWILIO_TOKEN)
        monkeypatch.setenv("TWILIO_FROM", SENDER)
        monkeypatch.setenv("TWILIO_BASE_URL", server.url)
        monkeypatch.setenv("BACKROOM_PORTAL_URL", "https://reports.backroom-leeds.example")
        monkeypatch.setenv("BACKROOM_OUTBOX", str(tmp_path / "outbox"))
        yield TwilioStandIn(server)


def sms_parcel(store, tmp_path, **subscription):
    return parcels.parcel("sms", parcels.PHONE, store, tmp_path / "layouts", **subscription)


# --- the text ---------------------------------------------------------------------------------


def test_the_text_has_the_headline_a_signed_link_and_the_reference(store, tmp_path):
    one = sms_parcel(store, tmp_path)
    link = links.url("report", {"d": one.delivery_id}, base="https://reports.example")
    text = sms_text(one.report, link, reference(one.delivery_id))
    assert text == (
        "Daily Summary 2026-11-28: £12,345.67 taken, 456 admissions."
        " Warning: Bar takings were 18% below the four-week average"
        f" Report: {link} (ref {one.delivery_id[-6:]})"
    )
    token = re.search(r"/r/(\S+)", text)[1]
    assert links.read("report", token) == {"d": one.delivery_id}
    assert len(text) <= 306  # two GSM-7 segments


def test_a_long_warning_is_shortened_to_keep_two_segments(store):
    link = "https://reports.example/r/" + "x" * 90
    warning = "Door scans stopped for 40 minutes after midnight; " * 10
    report = parcels.report(store, warning=warning)
    text = sms_text(report, link, "abc123")
    assert len(text) == 306
    assert "Warning: Door scans stopped for 40 minutes" in text
    assert text.endswith(f"... Report: {link} (ref abc123)")


def test_typography_is_made_plain_and_other_scripts_fit_two_ucs2_segments(store):
    link = "https://reports.example/r/token"
    plain = sms_text(parcels.report(store, warning="Staff costs – 32% of takings’ share"), link, "abc123")
    assert "Staff costs - 32% of takings' share" in plain
    wide = sms_text(parcels.report(store, warning="Feedback: " + "очень громко " * 20), link, "abc123")
    assert len(wide.encode("utf-16-le")) // 2 <= 134
    assert wide.endswith(f"Report: {link} (ref abc123)")


# --- sending ----------------------------------------------------------------------------------


def test_a_twilio_500_is_retried_and_the_sms_sent_once(twilio, store, tmp_path, warehouse):
    twilio.create_faults.append(twilio_error(500, 20500, "Internal Server Error"))
    one = sms_parcel(store, tmp_path)
    waits: list[float] = []
    [settled] = parcels.dispatcher(warehouse, SmsChannel(), waits).deliver([one])

    assert settled.status == "sent" and settled.sent_now
    assert len(waits) == 1
    creates = twilio.creates()
    assert len(creates) == 2 and len(twilio.messages) == 1
    form = creates[-1].form()
    assert form["To"] == parcels.PHONE and form["From"] == SENDER
    assert form["StatusCallback"] == "https://reports.backroom-leeds.example/hooks/twilio/status"
    assert "£12,345.67 taken, 456 admissions" in form["Body"]
    assert (
        creates[-1].headers["authorization"]
        == "Basic " + base64.b64encode(f"{SID}:{TWILIO_TOKEN}".encode()).decode()
    )
    row = ledger.get(warehouse, one.delivery_id)
    assert (row.status, row.provider_message_id, row.attempts) == ("sent", twilio.messages[0]["sid"], 2)

    again = parcels.dispatcher(warehouse, SmsChannel(), waits).deliver([one])
    assert [s.sent_now for s in again] == [False] and len(twilio.creates()) == 2


@pytest.mark.parametrize(
    ("code", "message", "status", "said"),
    [
        (
            21211,
            "The 'To' number +447700900123 is not a valid phone number.",
            "failed",
            "is not a mobile number",
        ),
        (21610, "Attempt to send to unsubscribed recipient", "suppressed", "replied STOP"),
    ],
)
def test_a_refused_number_is_not_retried(twilio, store, tmp_path, warehouse, code, message, status, said):
    twilio.create_faults.append(twilio_error(400, code, message))
    one = sms_parcel(store, tmp_path)
    waits: list[float] = []
    [settled] = parcels.dispatcher(warehouse, SmsChannel(), waits).deliver([one])
    assert settled.status == status and said in settled.detail and parcels.PHONE in settled.detail
    assert waits == [] and len(twilio.creates()) == 1


def test_a_recipient_without_sms_consent_is_sent_nothing(twilio, store, tmp_path, warehouse):
    one = sms_parcel(store, tmp_path)
    one = dataclasses.replace(one, recipient=dataclasses.replace(one.recipient, sms_consent=False))
    [settled] = parcels.dispatcher(warehouse, SmsChannel(), []).deliver([one])
    assert settled.status == "suppressed" and "not consented" in settled.detail
    assert twilio.creates() == []


def test_a_messaging_service_sends_in_place_of_a_number(twilio, store, tmp_path, monkeypatch):
    monkeypatch.setenv("TWILIO_FROM", "MG" + "1" * 32)
    SmsChannel().send(sms_parcel(store, tmp_path))
    form = twilio.creates()[0].form()
    assert form["MessagingServiceSid"] == "MG" + "1" * 32 and "From" not in form


# --- exactly once after a crash ---------------------------------------------------------------


def test_a_crash_after_twilio_took_it_is_found_in_its_list_and_not_resent(twilio, store, tmp_path, warehouse):
    one = sms_parcel(store, tmp_path)
    parcels.crashed_after_send(warehouse, SmsChannel(), one)
    [settled] = parcels.dispatcher(warehouse, SmsChannel(), []).deliver([one])
    assert settled.status == "sent" and not settled.sent_now
    assert len(twilio.creates()) == 1
    assert ledger.get(warehouse, one.delivery_id).provider_message_id == twilio.messages[0]["sid"]
    listed = twilio.server.received("GET", MESSAGES)
    assert listed[0].query["To"] == [parcels.PHONE]


def test_a_crash_before_twilio_took_it_sends_it_now(twilio, store, tmp_path, warehouse):
    other = sms_parcel(store, tmp_path, subscription_id="sub-jo-weekly")
    SmsChannel().send(other)  # another report to the same number: not this one
    one = sms_parcel(store, tmp_path)
    parcels.crashed_before_send(warehouse, one)
    [settled] = parcels.dispatcher(warehouse, SmsChannel(), []).deliver([one])
    assert settled.status == "sent" and settled.sent_now
    assert len(twilio.creates()) == 2
    assert f"(ref {one.delivery_id[-6:]})" in twilio.messages[0]["body"]
