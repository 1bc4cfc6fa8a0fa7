"""Slack through slack-sdk against a stand-in for Slack's Web API on loopback."""

from __future__ import annotations

import json
import time

import pytest

from backroom_reporting.delivery import ledger, links
from backroom_reporting.delivery.channels.slack import SlackChannel
from tests.delivery import parcels
from tests.delivery.loopback import Reply, serve
from tests.delivery.standins import SLACK_POST, SLACK_TOKEN, SlackStandIn

CHANNEL = "C0123ABCDEF"


@pytest.fixture
def slack(monkeypatch, tmp_path):
    for server in serve():
        monkeypatch.setenv("SLACK_BOT_TOKEN", SLACK_TOKEN)
        monkeypatch.setenv("SLACK_BASE_URL", f"{server.url}/api/")
        monkeypatch.setenv("BACKROOM_OUTBOX", str(tmp_path / "outbox"))
        yield SlackStandIn(server)


def slack_parcel(store, tmp_path):
    return parcels.parcel("slack", CHANNEL, store, tmp_path / "layouts")


def sleeping(waits: list[float]):
    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    return sleep


def test_the_summary_and_the_pdf_are_posted_in_the_channel(slack, store, tmp_path, warehouse):
    one = slack_parcel(store, tmp_path)
    [settled] = parcels.dispatcher(warehouse, SlackChannel(store), []).deliver([one])

    assert settled.status == "sent"
    [message] = slack.history[CHANNEL]
    assert ledger.get(warehouse, one.delivery_id).provider_message_id == message["ts"]
    assert message["metadata"] == {
        "event_type": "backroom_report_delivered",
        "event_payload": {"delivery_id": one.delivery_id},
    }
    blocks = message["blocks"]
    shown = json.dumps(blocks, ensure_ascii=False)
    assert blocks[0] == {"type": "header", "text": {"type": "plain_text", "text": "Daily Summary"}}
    for words in ("2026-11-28", "£12,345.67", "456", parcels.WARNING, "Two door scans had no ticket"):
        assert words in shown
    [button] = blocks[-1]["elements"]
    assert links.read("report", button["url"].rsplit("/", 1)[1]) == {"d": one.delivery_id}
    assert message["text"] == "Daily Summary, 2026-11-28: £12,345.67 taken, 456 admissions"

    [shared] = slack.shared
    assert shared == {
        "id": shared["id"],
        "title": parcels.PDF_NAME,
        "channel_id": CHANNEL,
        "thread_ts": message["ts"],
    }
    assert slack.uploads[shared["id"]] == store.read(one.report.files[0].path)


def test_a_rate_limit_is_waited_out_and_the_message_posted_once(slack, store, tmp_path, warehouse):
    slack.faults[SLACK_POST] = [Reply(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"})]
    one = slack_parcel(store, tmp_path)
    waits: list[float] = []
    channel = SlackChannel(store)
    [settled] = parcels.dispatcher(warehouse, channel, waits, sleep=sleeping(waits)).deliver([one])
    assert settled.status == "sent"
    assert waits == [1.0]
    refused, posted = slack.posts()
    assert posted.at - refused.at >= 1.0
    assert len(slack.history[CHANNEL]) == 1 and len(slack.shared) == 1


def test_an_upload_refused_after_the_post_is_retried_without_posting_again(slack, store, tmp_path, warehouse):
    slack.faults["/api/files.getUploadURLExternal"] = [Reply(503, "upstream unavailable")]
    one = slack_parcel(store, tmp_path)
    waits: list[float] = []
    [settled] = parcels.dispatcher(warehouse, SlackChannel(store), waits).deliver([one])
    assert settled.status == "sent" and len(waits) == 1
    assert len(slack.posts()) == 1 and len(slack.shared) == 1
    assert slack.shared[0]["thread_ts"] == slack.history[CHANNEL][0]["ts"]


def test_an_unknown_channel_is_refused_without_retrying(slack, store, tmp_path, warehouse):
    slack.faults[SLACK_POST] = [Reply(200, {"ok": False, "error": "channel_not_found"})]
    one = slack_parcel(store, tmp_path)
    waits: list[float] = []
    [settled] = parcels.dispatcher(warehouse, SlackChannel(store), waits).deliver([one])
    assert settled.status == "failed" and "channel_not_found" in settled.detail and CHANNEL in settled.detail
    assert waits == [] and len(slack.posts()) == 1 and slack.shared == []


def test_a_crash_after_slack_took_it_is_found_in_the_history_and_not_resent(
    slack, store, tmp_path, warehouse
):
    one = slack_parcel(store, tmp_path)
    parcels.crashed_after_send(warehouse, SlackChannel(store), one)
    [settled] = parcels.dispatcher(warehouse, SlackChannel(store), []).deliver([one])
    assert (settled.status, settled.sent_now) == ("sent", False), settled.detail
    assert len(slack.posts()) == 1
    assert ledger.get(warehouse, one.delivery_id).provider_message_id == slack.history[CHANNEL][0]["ts"]


def test_a_crash_before_slack_took_it_posts_it_now(slack, store, tmp_path, warehouse):
    one = slack_parcel(store, tmp_path)
    parcels.crashed_before_send(warehouse, one)
    [settled] = parcels.dispatcher(warehouse, SlackChannel(store), []).deliver([one])
    assert settled.status == "sent" and settled.sent_now
    assert len(slack.posts()) == 1
    [asked] = slack.server.received("POST", "/api/conversations.history")
    assert asked.args()["include_all_metadata"] == "1" and asked.args()["channel"] == CHANNEL
