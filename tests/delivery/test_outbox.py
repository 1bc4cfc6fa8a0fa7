"""With no provider configured, SMS, Slack and webhook deliveries are written to the outbox,
once each, and found there after a crash."""

from __future__ import annotations

import json

import pytest

from backroom_reporting.delivery import ledger, links
from backroom_reporting.delivery.channels.registry import channels_from_settings
from backroom_reporting.delivery.outbox import Outbox
from tests.delivery import parcels

PROVIDERS = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM", "TWILIO_BASE_URL", "SLACK_BOT_TOKEN")


@pytest.fixture
def folder(monkeypatch, tmp_path):
    for name in PROVIDERS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BACKROOM_OUTBOX", str(tmp_path / "outbox"))
    monkeypatch.setenv("BACKROOM_PORTAL_URL", "https://reports.backroom-leeds.example")
    return tmp_path / "outbox"


def three_parcels(store, tmp_path):
    layouts = tmp_path / "layouts"
    return [
        parcels.parcel("sms", parcels.PHONE, store, layouts),
        parcels.parcel("slack", "C0123ABCDEF", store, layouts),
        parcels.parcel("webhook", "", store, layouts, webhook_url=None),
    ]


def test_each_channel_writes_what_it_would_send_once(folder, store, tmp_path, warehouse):
    sms, slack, webhook = three_parcels(store, tmp_path)
    channels = channels_from_settings(store, Outbox(folder))
    [settled] = parcels.dispatcher(warehouse, channels["sms"], []).deliver([sms])
    assert settled.status == "sent"

    written = json.loads((folder / f"{sms.delivery_id}.sms.json").read_text())
    assert written["to"] == parcels.PHONE
    assert written["status_callback"] == "https://reports.backroom-leeds.example/hooks/twilio/status"
    assert "£12,345.67 taken, 456 admissions" in written["body"]
    token = written["body"].split("/r/")[1].split(" ")[0]
    assert links.read("report", token) == {"d": sms.delivery_id}

    for channel, one in (("slack", slack), ("webhook", webhook)):
        parcels.dispatcher(warehouse, channels[channel], []).deliver([one])
    message = json.loads((folder / f"{slack.delivery_id}.slack.json").read_text())
    assert message["channel"] == "C0123ABCDEF"
    assert message["metadata"]["event_payload"] == {"delivery_id": slack.delivery_id}
    assert message["files"] == [
        {"filename": parcels.PDF_NAME, "path": str(store.path_of(slack.report.files[0].path))}
    ]
    event = json.loads((folder / f"{webhook.delivery_id}.webhook.json").read_text())
    assert event["type"] == "report.delivered" and event["data"]["revenue_pence"] == 1_234_567

    assert sorted(p.name for p in folder.iterdir()) == sorted(
        f"{p.delivery_id}.{p.channel}.json" for p in (sms, slack, webhook)
    )
    before = {p: p.stat().st_mtime_ns for p in folder.iterdir()}
    for one in (sms, slack, webhook):
        [again] = parcels.dispatcher(warehouse, channels[one.channel], []).deliver([one])
        assert not again.sent_now
    assert {p: p.stat().st_mtime_ns for p in folder.iterdir()} == before


def test_a_crash_after_writing_is_found_in_the_outbox(folder, store, tmp_path, warehouse):
    channels = channels_from_settings(store, Outbox(folder))
    for one in three_parcels(store, tmp_path):
        parcels.crashed_after_send(warehouse, channels[one.channel], one)
        [settled] = parcels.dispatcher(warehouse, channels[one.channel], []).deliver([one])
        assert (settled.status, settled.sent_now) == ("sent", False)
        assert (
            ledger.get(warehouse, one.delivery_id).provider_message_id
            == f"{one.delivery_id}.{one.channel}.json"
        )


def test_a_crash_before_writing_writes_it_now(folder, store, tmp_path, warehouse):
    channels = channels_from_settings(store, Outbox(folder))
    for one in three_parcels(store, tmp_path):
        parcels.crashed_before_send(warehouse, one)
        assert Outbox(folder).look_up(one.delivery_id, one.channel) is None
        [settled] = parcels.dispatcher(warehouse, channels[one.channel], []).deliver([one])
        assert (settled.status, settled.sent_now) == ("sent", True)
        assert Outbox(folder).path(one.delivery_id, one.channel).exists()


def test_nothing_half_written_is_left_behind(folder, store, tmp_path):
    sms = three_parcels(store, tmp_path)[0]
    Outbox(folder).write_json(sms.delivery_id, "sms", {"body": "x" * 100_000})
    assert [p.name for p in folder.iterdir()] == [f"{sms.delivery_id}.sms.json"]


def test_the_outbox_is_not_held_to_a_providers_rate(folder, store, monkeypatch):
    """A provider's rate paces its channel; with none configured, nothing waits on one."""
    from backroom_reporting.delivery.channels.email import EmailChannel
    from backroom_reporting.delivery.mailer import Mailer

    outbox = Outbox(folder)
    written = {**channels_from_settings(store, outbox), "email": EmailChannel(store, Mailer("", outbox))}
    assert {name: c.per_second for name, c in written.items() if name != "webhook"} == {
        "sms": 0.0,
        "slack": 0.0,
        "email": 0.0,
    }

    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "0" * 32)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "token")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    providers = {
        **channels_from_settings(store, outbox),
        "email": EmailChannel(store, Mailer("smtp://127.0.0.1:2525", outbox)),
    }
    assert {name: c.per_second for name, c in providers.items() if name != "webhook"} == {
        "sms": 1.0,
        "slack": 1.0,
        "email": 10.0,
    }
