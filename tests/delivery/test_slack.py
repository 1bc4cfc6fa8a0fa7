"""Slack through slack-sdk against a stand-in for Slack's Web API on loopback."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from backroom_reporting.delivery import ledger, links
from backroom_reporting.delivery.channels.slack import SlackChannel
from tests.delivery import parcels
from tests.delivery.loopback import Loopback, Reply, serve

TOKEN = "xoxb-test-token"
CHANNEL = "C0123ABCDEF"
POST = "/api/chat.postMessage"


class SlackStandIn:
    """chat.postMessage, the three steps of files_upload_v2 and conversations.history, as Slack
    documents them; each method may be given faults to answer with first."""

    def __init__(self, server: Loopback):
        self.server = server
        self.history: dict[str, list[dict]] = {}  # channel -> messages, newest first
        self.uploads: dict[str, bytes] = {}  # file id -> content
        self.shared: list[dict] = []  # completed uploads: file, channel, thread
        self.faults: dict[str, list[Reply]] = {}
        self._clock = time.time()
        for method, path, answer in (
            ("POST", POST, self._post),
            ("POST", "/api/files.getUploadURLExternal", self._upload_url),
            ("POST", r"/upload/(F\w+)", self._upload),
            ("POST", "/api/files.completeUploadExternal", self._complete),
            # Slack takes GET or POST here; the SDK sends POST.
            ("POST", "/api/conversations.history", self._history),
        ):
            server.route(method, path, self._checked(path, answer))

    def _checked(self, path, answer):
        def checked(request, match):
            if self.faults.get(path):
                return self.faults[path].pop(0)
            if path.startswith("/api/") and request.headers.get("authorization") != f"Bearer {TOKEN}":
                return Reply(200, {"ok": False, "error": "invalid_auth"})
            return answer(request, match)

        return checked

    def _ts(self) -> str:
        self._clock += 0.0001
        return f"{self._clock:.6f}"

    def _post(self, request, _match) -> Reply:
        args = request.args()
        message = {
            "type": "message",
            "user": "UBOT",
            "text": args["text"],
            "ts": self._ts(),
            "blocks": args["blocks"],
        }
        message["metadata"] = args.get("metadata")
        self.history.setdefault(args["channel"], []).insert(0, message)
        return Reply(200, {"ok": True, "channel": args["channel"], "ts": message["ts"], "message": message})

    def _upload_url(self, _request, _match) -> Reply:
        file_id = "F" + uuid.uuid4().hex[:10].upper()
        self.uploads[file_id] = b""
        return Reply(
            200, {"ok": True, "upload_url": f"{self.server.url}/upload/{file_id}", "file_id": file_id}
        )

    def _upload(self, request, match) -> Reply:
        self.uploads[match[1]] = request.body
        return Reply(200, f"OK - {len(request.body)}")

    def _complete(self, request, _match) -> Reply:
        args = request.args()
        files = json.loads(args["files"])
        for f in files:
            self.shared.append(
                {"id": f["id"], "title": f["title"], **{k: args.get(k) for k in ("channel_id", "thread_ts")}}
            )
        return Reply(200, {"ok": True, "files": [{"id": f["id"], "title": f["title"]} for f in files]})

    def _history(self, request, _match) -> Reply:
        args = request.args()
        messages = [
            m if args.get("include_all_metadata") == "1" else {k: v for k, v in m.items() if k != "metadata"}
            for m in self.history.get(args["channel"], [])
            if float(m["ts"]) > float(args.get("oldest") or 0)
        ]
        return Reply(200, {"ok": True, "messages": messages, "has_more": False})

    def posts(self):
        return self.server.received("POST", POST)


@pytest.fixture
def slack(monkeypatch, tmp_path):
    for server in serve():
        monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
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
    slack.faults[POST] = [Reply(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"})]
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
    slack.faults[POST] = [Reply(200, {"ok": False, "error": "channel_not_found"})]
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
