"""Stripe's signed webhook over a real socket: signatures made here by Stripe's documented scheme
(`t=<unix>,v1=HMAC-SHA256(secret, "<t>.<body>")`), forgeries refused with 400 and nothing kept,
each event kept once; and a refund settled after its night closed re-opening that night, which
the Stripe closing schedule then reloads."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import threading
import time
from zoneinfo import ZoneInfo

import dagster as dg
import httpx
import pytest
import uvicorn

from backroom_reporting.assets.stripe import stripe_closing_schedule
from backroom_reporting.portal.app import create_app
from backroom_reporting.resources.databases import WarehouseResource
from backroom_reporting.schedules.nightly import CHANGED_TABLES_TAG
from tests.connectors.stripe.conftest import NIGHTS, unix
from tests.connectors.stripe.stripe_stub import charge, refund
from tests.connectors.stripe.test_stripe_pull import rows
from tests.portal.conftest import free_port
from tests.worlds import at

pytestmark = pytest.mark.parametrize("databases", ["sqlite"], indirect=True)
SECRET = "whsec_backroom_test_secret"
TABLES = ("stripe_charges", "stripe_refunds", "stripe_disputes", "stripe_payouts")


def signed(body: str, secret: str = SECRET, at_time: int | None = None) -> dict[str, str]:
    stamp = int(time.time()) if at_time is None else at_time
    signature = hmac.new(secret.encode(), f"{stamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={stamp},v1={signature}", "Content-Type": "application/json"}


def event(event_id: str, kind: str, obj: dict) -> str:
    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "api_version": "2024-06-20",
            "created": int(time.time()),
            "data": {"object": obj},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": kind,
        }
    )


@pytest.fixture
def portal(world, tmp_path, monkeypatch):
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", SECRET)
    port = free_port()
    app = create_app(world.warehouse_url, tmp_path / "reports")
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the portal did not start"
        time.sleep(0.05)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        yield client
    server.should_exit = True
    thread.join()


def test_forged_events_are_refused_and_a_signed_one_is_kept_once(world, portal):
    body = event(
        "evt_1",
        "charge.dispute.created",
        {
            "id": "dp_1",
            "object": "dispute",
            "amount": 6000,
            "created": unix(at(NIGHTS[0], "23:00")),
            "evidence": {"customer_email_address": "guest@example.com", "customer_name": "A Guest"},
        },
    )
    assert portal.post("/hooks/stripe", content=body, headers=signed(body, "whsec_wrong")).status_code == 400
    assert (
        portal.post("/hooks/stripe", content=body, headers={"Content-Type": "application/json"}).status_code
        == 400
    )
    stale = signed(body, at_time=int(time.time()) - 3600)
    assert portal.post("/hooks/stripe", content=body, headers=stale).status_code == 400
    tampered = body.replace("dp_1", "dp_2")
    assert portal.post("/hooks/stripe", content=tampered, headers=signed(body)).status_code == 400
    assert rows(world.warehouse_url, "SELECT event_id FROM stripe_events") == []

    first = portal.post("/hooks/stripe", content=body, headers=signed(body))
    again = portal.post("/hooks/stripe", content=body, headers=signed(body))
    assert (first.status_code, first.json()["outcome"]) == (200, "stored")
    assert (again.status_code, again.json()["outcome"]) == (200, "already stored")
    kept = rows(world.warehouse_url, "SELECT event_id, object_id, business_date, payload FROM stripe_events")
    assert [(k["event_id"], k["object_id"], str(k["business_date"])) for k in kept] == [
        ("evt_1", "dp_1", str(NIGHTS[0]))
    ]
    # The cardholder's details are not kept; what the connector reads is.
    assert "guest@example.com" not in kept[0]["payload"] and "A Guest" not in kept[0]["payload"]
    assert json.loads(kept[0]["payload"])["object"]["amount"] == 6000


def test_a_refund_settled_after_its_night_closed_reopens_that_night(world, stub, portal, run_stripe):
    friday = NIGHTS[0]
    stub.objects["/v1/charges"] = [charge("ch_1", unix(at(friday, "22:00")), 6000, "leeds", "b1")]
    pending = refund("re_1", unix(at(friday, "23:00")), 6000, "ch_1", status="pending")
    stub.objects["/v1/refunds"] = [pending]
    for night in NIGHTS:
        assert run_stripe(night, *TABLES).success
    assert rows(world.warehouse_url, "SELECT status FROM stripe_refunds") == [{"status": "pending"}]

    london = ZoneInfo("Europe/London")
    tick = dt.datetime(2026, 11, 29, 6, 20, tzinfo=london)  # Saturday closed; Friday pulled final
    resources = {"warehouse": WarehouseResource(url=world.warehouse_url)}

    def reopened() -> dict[str, list[str]]:
        """The nights the closing schedule would reload as changed, over all its requests."""
        with dg.build_schedule_context(scheduled_execution_time=tick, resources=resources) as context:
            requests = stripe_closing_schedule(context)
        # The night just closed is always loaded; the nights before it only when re-opened.
        assert str(NIGHTS[1]) in {
            r.partition_key or r.tags["dagster/asset_partition_range_end"] for r in requests
        }
        return {
            day: tables for r in requests for day, tables in json.loads(r.tags[CHANGED_TABLES_TAG]).items()
        }

    # The nights before Friday were never pulled, so they count as changed; Friday does not.
    assert str(friday) not in reopened()

    settled = {**pending, "status": "succeeded"}
    stub.objects["/v1/refunds"] = [settled]
    body = event("evt_refund", "refund.updated", settled)
    assert portal.post("/hooks/stripe", content=body, headers=signed(body)).json()["outcome"] == "stored"

    assert reopened()[str(friday)] == list(TABLES)

    # The re-opened night is pulled whole, not from its cursor, and the refund lands settled.
    stub.requests.clear()
    assert run_stripe(friday, "stripe_refunds", as_of=tick.astimezone(dt.UTC)).success
    opens = dt.datetime(friday.year, friday.month, friday.day, 6, tzinfo=london)
    assert stub.requests[0][1]["created[gte]"] == [str(unix(opens))]
    assert rows(world.warehouse_url, "SELECT status FROM stripe_refunds") == [{"status": "succeeded"}]
    assert reopened()[str(friday)] == ["stripe_charges", "stripe_disputes", "stripe_payouts"]
