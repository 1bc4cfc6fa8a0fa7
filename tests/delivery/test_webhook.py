"""Webhooks over httpx to a receiver on loopback that checks the Standard Webhooks signature."""

from __future__ import annotations

import base64
import datetime as dt
import json
import socket

import pytest
from standardwebhooks import Webhook

from backroom_reporting.delivery import ledger, links
from backroom_reporting.delivery.channels.webhook import WebhookChannel
from tests.delivery import parcels
from tests.delivery.loopback import Reply, serve
from tests.delivery.standins import HOOK, SECRET, Receiver

OLD_SECRET = "whsec_" + base64.b64encode(b"the secret before the rotation!!").decode()


@pytest.fixture
def server(monkeypatch, tmp_path):
    monkeypatch.setenv("BACKROOM_PORTAL_URL", "https://reports.backroom-leeds.example")
    monkeypatch.setenv("BACKROOM_OUTBOX", str(tmp_path / "outbox"))
    yield from serve()


def hook_parcel(store, tmp_path, url: str, **subscription):
    details = {"webhook_url": url, "webhook_secret": SECRET} | subscription
    return parcels.parcel("webhook", url, store, tmp_path / "layouts", **details)


def test_the_event_carries_the_figures_and_signed_links(server, store, tmp_path, warehouse):
    receiver = Receiver(server, SECRET)
    one = hook_parcel(store, tmp_path, server.url + HOOK)
    [settled] = parcels.dispatcher(warehouse, WebhookChannel(), []).deliver([one])

    assert settled.status == "delivered"
    [post] = receiver.posts()
    assert post.headers["webhook-id"] == one.delivery_id
    event = receiver.events[one.delivery_id]
    assert event["type"] == "report.delivered"
    data = event["data"]
    assert (data["title"], data["template"], data["period"], data["venue_id"]) == (
        "Daily Summary",
        "daily_summary",
        "2026-11-28",
        "backroom-leeds",
    )
    assert (data["revenue_pence"], data["admissions"]) == (1_234_567, 456)
    assert data["key_metrics"]["spend_per_head_pence"] == 2707
    assert data["warnings"] == [parcels.WARNING, "Two door scans had no ticket"]
    [pdf] = data["files"]
    stored = one.report.files[0]
    assert pdf["name"] == parcels.PDF_NAME and pdf["size_bytes"] == stored.size_bytes
    assert pdf["url"].startswith("https://reports.backroom-leeds.example/d/")
    assert links.read("download", pdf["url"].rsplit("/", 1)[1]) == {
        "d": one.delivery_id,
        "p": stored.path,
        "n": parcels.PDF_NAME,
    }


def test_a_receiver_500_is_retried_with_the_same_id_and_recorded_once(server, store, tmp_path, warehouse):
    receiver = Receiver(server, SECRET, Reply(500, "database is locked"))
    one = hook_parcel(store, tmp_path, server.url + HOOK)
    waits: list[float] = []
    [settled] = parcels.dispatcher(warehouse, WebhookChannel(), waits).deliver([one])

    assert settled.status == "delivered"
    assert len(waits) == 1 and 1.5 <= waits[0] <= 2.5  # the dispatcher's first backoff, with jitter
    first, second = receiver.posts()
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == one.delivery_id
    assert list(receiver.events) == [one.delivery_id]
    history = ledger.history(warehouse, one.delivery_id).sort("event_id")["status"].to_list()
    assert history == ["queued", "sending", "sending", "delivered"]


def test_a_429_waits_what_the_receiver_asked(server, store, tmp_path, warehouse):
    receiver = Receiver(server, SECRET, Reply(429, "slow down", {"Retry-After": "7"}))
    one = hook_parcel(store, tmp_path, server.url + HOOK)
    waits: list[float] = []
    [settled] = parcels.dispatcher(warehouse, WebhookChannel(), waits).deliver([one])
    assert settled.status == "delivered" and waits == [7.0] and len(receiver.posts()) == 2


def test_a_wrong_signature_is_refused_by_the_receiver_and_not_retried(server, store, tmp_path, warehouse):
    receiver = Receiver(server, SECRET)
    one = hook_parcel(store, tmp_path, server.url + HOOK, webhook_secret=OLD_SECRET)
    waits: list[float] = []
    [settled] = parcels.dispatcher(warehouse, WebhookChannel(), waits).deliver([one])
    assert settled.status == "failed" and "401" in settled.detail and "signature refused" in settled.detail
    assert waits == [] and len(receiver.posts()) == 1 and receiver.events == {}


@pytest.mark.parametrize(("hours_ago", "accepted"), [(1, True), (25, False)])
def test_the_old_secret_still_signs_for_a_day_after_a_rotation(
    server, store, tmp_path, warehouse, hours_ago, accepted
):
    receiver = Receiver(server, OLD_SECRET)  # not yet changed over to the new secret
    rotated_at = dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours_ago)
    one = hook_parcel(
        store,
        tmp_path,
        server.url + HOOK,
        webhook_previous_secret=OLD_SECRET,
        webhook_secret_rotated_at=rotated_at,
    )
    [settled] = parcels.dispatcher(warehouse, WebhookChannel(), []).deliver([one])
    [post] = receiver.posts()
    signatures = post.headers["webhook-signature"].split(" ")
    assert len(signatures) == (2 if accepted else 1) and all(s.startswith("v1,") for s in signatures)
    assert settled.status == ("delivered" if accepted else "failed")
    # The new secret's signature is always there: a receiver already changed over accepts it.
    Webhook(SECRET).verify(post.body, post.headers)


def test_an_unreachable_receiver_is_retried_then_given_up(store, tmp_path, warehouse, monkeypatch):
    monkeypatch.setenv("BACKROOM_PORTAL_URL", "https://reports.backroom-leeds.example")
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}{HOOK}"  # bound, never listening: refused
        one = hook_parcel(store, tmp_path, url)
        waits: list[float] = []
        [settled] = parcels.dispatcher(warehouse, WebhookChannel(), waits).deliver([one])
        assert settled.status == "failed" and "could not be reached" in settled.detail
        # Three tries in this run, two waits between them; left failed for now, not for good.
        assert "attempt 3 of at most 9" in settled.detail and len(waits) == 2
        assert ledger.get(warehouse, one.delivery_id).retryable
        # The next run (a run retry) tries three times more.
        [again] = parcels.dispatcher(warehouse, WebhookChannel(), waits).deliver([one])
    assert "attempt 6 of at most 9" in again.detail and len(waits) == 4


def test_a_crash_between_claim_and_record_is_marked_unknown_not_resent(server, store, tmp_path, warehouse):
    receiver = Receiver(server, SECRET)
    one = hook_parcel(store, tmp_path, server.url + HOOK)
    told: list[str] = []
    parcels.crashed_before_send(warehouse, one)
    [settled] = parcels.dispatcher(
        warehouse, WebhookChannel(), [], on_unknown=lambda _row, why: told.append(why)
    ).deliver([one])
    assert settled.status == "unknown" and receiver.posts() == []
    assert told and "cannot be asked" in told[0]


def test_the_body_is_json_stamped_with_the_time_of_sending(server, store, tmp_path):
    receiver = Receiver(server, SECRET)
    one = hook_parcel(store, tmp_path, server.url + HOOK)
    WebhookChannel().send(one)
    [post] = receiver.posts()
    assert post.headers["content-type"] == "application/json"
    assert json.loads(post.body)["data"]["delivery_id"] == one.delivery_id
    assert abs(int(post.headers["webhook-timestamp"]) - dt.datetime.now(dt.UTC).timestamp()) < 60
