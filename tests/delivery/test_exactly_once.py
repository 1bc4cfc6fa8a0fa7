"""Exactly once with a real process killed mid-delivery: a sender (tests/delivery/doomed_sender.py)
claims a delivery and is killed with SIGKILL between claim and send, or between send and record;
the next run reconciles what it left. Every case ends sent once or marked unknown (the owner
told), never sent twice, and the history says who did what."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from email.parser import BytesParser
from email.policy import default
from pathlib import Path

import pytest

from backroom_reporting.assets.deliveries import _tell_owner_of_unknown
from backroom_reporting.delivery import ledger
from backroom_reporting.delivery.dispatch import Dispatcher, Settled
from backroom_reporting.delivery.model import Channel
from backroom_reporting.resources.delivery import DeliveryResource
from backroom_reporting.subscriptions import service
from tests.delivery import parcels
from tests.delivery.conftest import Relay, jo
from tests.delivery.doomed_sender import CHANNELS, DEAD_RUN, parcel_for, store_in
from tests.delivery.loopback import serve
from tests.delivery.standins import HOOK, MESSAGES, SECRET, SENDER, SID, TWILIO_TOKEN, Receiver, TwilioStandIn

ROOT = Path(__file__).resolve().parents[2]
NEXT_RUN = "run-after"
MOMENTS = ("claimed", "sent")  # killed between claim and send, between send and record
OWNER = "sam@example.com"
# What the history holds after each ending: the dead run's queue and claim, then the next run's.
QUEUED_AND_CLAIMED = [("queued", DEAD_RUN), ("sending", DEAD_RUN)]
MARKED_UNKNOWN = [*QUEUED_AND_CLAIMED, ("unknown", f"reconcile:{NEXT_RUN}")]
FOUND_SENT = [*QUEUED_AND_CLAIMED, ("sent", f"reconcile:{NEXT_RUN}")]
SENT_NOW = [
    *QUEUED_AND_CLAIMED,
    ("failed", f"reconcile:{NEXT_RUN}"),
    ("sending", NEXT_RUN),
    ("sent", NEXT_RUN),
]


@pytest.fixture(autouse=True)
def providers(monkeypatch, tmp_path):
    """No provider but those a test starts; the outbox in the test's folder."""
    for name in (
        "BACKROOM_SMTP_URL",
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
        "TWILIO_FROM",
        "TWILIO_BASE_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BACKROOM_OUTBOX", str(tmp_path / "outbox"))
    monkeypatch.setenv("BACKROOM_PORTAL_URL", "https://reports.backroom-leeds.example")
    return tmp_path / "outbox"


@pytest.fixture
def warehouse(databases):
    """The warehouse, with an owner to tell when an outcome cannot be known."""
    db = databases.warehouse
    owner = service.new_recipient(
        "Sam Owner", "owner", email=OWNER, email_consent=True, recipient_id="rcp-sam"
    )
    service.store(db, recipients=[owner])
    yield db
    db.close()


@pytest.fixture
def server():
    yield from serve()


@pytest.fixture
def twilio(monkeypatch):
    for server in serve():
        monkeypatch.setenv("TWILIO_ACCOUNT_SID", SID)
        monkeypatch.setenv("TWILIO_AUTH_TOKEN", TWILIO_TOKEN)
        monkeypatch.setenv("TWILIO_FROM", SENDER)
        monkeypatch.setenv("TWILIO_BASE_URL", server.url)
        yield TwilioStandIn(server)


def killed(warehouse, channel: str, moment: str, address: str, folder: Path) -> ledger.Delivery:
    """Run the doomed sender in a process of its own until it is killed; the row it left."""
    ended = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.delivery.doomed_sender",
            warehouse.url,
            channel,
            moment,
            str(folder),
            address,
        ],
        cwd=ROOT,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ended.returncode == -signal.SIGKILL, ended.stderr[-3000:]
    left = ledger.get(warehouse, parcel_for(channel, address, folder).delivery_id)
    assert (left.status, left.claimed_by, left.attempts) == ("sending", DEAD_RUN, 1)
    return left


def next_run(warehouse, channel: str, address: str, folder: Path) -> Settled:
    """A run that knows the dead one finished, with the real channel and the real owner alert."""
    sender: Channel = CHANNELS[channel](store_in(folder)) if channel == "email" else CHANNELS[channel]()
    [settled] = Dispatcher(
        warehouse,
        {channel: sender},
        source=NEXT_RUN,
        claim_alive=lambda _holder, _at: False,
        on_unknown=_tell_owner_of_unknown(DeliveryResource(), warehouse),
    ).deliver([parcel_for(channel, address, folder)])
    return settled


def history(warehouse, delivery_id: str) -> list[tuple[str, str]]:
    events = ledger.history(warehouse, delivery_id).sort("event_id")
    return list(zip(events["status"], events["source"], strict=True))


@pytest.mark.parametrize("moment", MOMENTS)
def test_email_over_smtp_is_marked_unknown_and_never_sent_again(
    warehouse, smtp_relay, monkeypatch, tmp_path, moment
):
    relay, port = smtp_relay(Relay())
    monkeypatch.setenv("BACKROOM_SMTP_URL", f"smtp://127.0.0.1:{port}")
    left = killed(warehouse, "email", moment, jo().email, tmp_path)

    settled = next_run(warehouse, "email", jo().email, tmp_path)

    assert (settled.status, settled.sent_now) == ("unknown", False)
    assert "an SMTP relay cannot be asked" in settled.detail
    reports = [m for m in relay.messages() if m["Message-ID"] == f"<{left.delivery_id}@backroom-reporting>"]
    assert len(reports) == (1 if moment == "sent" else 0)
    [alert] = [m for m in relay.messages() if m["To"].addresses[0].addr_spec == OWNER]
    assert alert["Subject"] == "Delivery outcome unknown: sub-jo-daily 2026-11-28 by email"
    assert left.delivery_id in alert.get_content()
    assert history(warehouse, left.delivery_id) == MARKED_UNKNOWN

    again = next_run(warehouse, "email", jo().email, tmp_path)
    assert (again.status, again.sent_now) == ("unknown", False)
    assert len(relay.received) == len(reports) + 1  # nothing more, not even a second alert


@pytest.mark.parametrize("moment", MOMENTS)
def test_email_to_the_outbox_is_written_once(warehouse, providers, tmp_path, moment):
    left = killed(warehouse, "email", moment, jo().email, tmp_path)
    eml = providers / f"{left.delivery_id}@backroom-reporting.eml"
    assert eml.exists() == (moment == "sent")
    written_before = eml.stat().st_mtime_ns if moment == "sent" else None

    settled = next_run(warehouse, "email", jo().email, tmp_path)

    assert settled.status == "sent" and settled.sent_now == (moment == "claimed")
    assert [p.name for p in providers.iterdir()] == [eml.name]
    if moment == "sent":
        assert eml.stat().st_mtime_ns == written_before
    assert history(warehouse, left.delivery_id) == (SENT_NOW if moment == "claimed" else FOUND_SENT)


@pytest.mark.parametrize("moment", MOMENTS)
def test_sms_through_twilio_is_sent_once(warehouse, twilio, tmp_path, moment):
    left = killed(warehouse, "sms", moment, parcels.PHONE, tmp_path)
    assert len(twilio.creates()) == (1 if moment == "sent" else 0)

    settled = next_run(warehouse, "sms", parcels.PHONE, tmp_path)

    assert settled.status == "sent" and settled.sent_now == (moment == "claimed")
    assert len(twilio.creates()) == 1 and len(twilio.messages) == 1
    assert ledger.get(warehouse, left.delivery_id).provider_message_id == twilio.messages[0]["sid"]
    assert [r.query["To"] for r in twilio.server.received("GET", MESSAGES)] == [[parcels.PHONE]]
    assert history(warehouse, left.delivery_id) == (SENT_NOW if moment == "claimed" else FOUND_SENT)


@pytest.mark.parametrize("moment", MOMENTS)
def test_a_webhook_is_marked_unknown_and_posted_at_most_once(warehouse, providers, server, tmp_path, moment):
    receiver = Receiver(server, SECRET)
    url = server.url + HOOK
    left = killed(warehouse, "webhook", moment, url, tmp_path)

    settled = next_run(warehouse, "webhook", url, tmp_path)

    assert (settled.status, settled.sent_now) == ("unknown", False)
    assert len(receiver.posts()) == (1 if moment == "sent" else 0)
    assert list(receiver.events) == ([left.delivery_id] if moment == "sent" else [])
    [written] = providers.glob("*.eml")  # no relay configured: the owner's alert is in the outbox
    alert = BytesParser(policy=default).parsebytes(written.read_bytes())
    assert alert["To"].addresses[0].addr_spec == OWNER and left.delivery_id in alert.get_content()
    assert history(warehouse, left.delivery_id) == MARKED_UNKNOWN
