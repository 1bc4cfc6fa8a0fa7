"""A sender that dies mid-delivery, for tests/delivery/test_exactly_once.py.

    python -m tests.delivery.doomed_sender WAREHOUSE_URL CHANNEL MOMENT FOLDER ADDRESS

delivers one parcel through the real channel (its provider set by the environment, as a run's
would be) and kills its own process with SIGKILL, which nothing can catch or clean up after:
at MOMENT `claimed` just before the channel's send (between claim and send), at `sent` just
after the send returned (between send and record).
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from backroom_reporting.delivery import ledger
from backroom_reporting.delivery.channels.email import EmailChannel
from backroom_reporting.delivery.channels.sms import SmsChannel
from backroom_reporting.delivery.channels.webhook import WebhookChannel
from backroom_reporting.delivery.dispatch import Dispatcher
from backroom_reporting.delivery.model import Channel, Outcome, Parcel
from backroom_reporting.rendering.store import ReportStore
from backroom_reporting.warehouse.connections import REPORTING_SCHEMA
from backroom_reporting.warehouse.database import Database
from tests.delivery import parcels
from tests.delivery.conftest import daily_subscription, jo
from tests.delivery.standins import SECRET

CHANNELS: dict[str, type[Channel]] = {"email": EmailChannel, "sms": SmsChannel, "webhook": WebhookChannel}
DEAD_RUN = "run-doomed"


def store_in(folder: Path) -> ReportStore:
    return ReportStore(folder / "reports")


def parcel_for(channel: str, address: str, folder: Path) -> Parcel:
    """The parcel both the doomed process and the test build: the same delivery id each time."""
    store = store_in(folder)
    if channel == "email":
        report = parcels.report(store)
        key = ledger.delivery_id("sub-jo-daily", report.period, channel, address)
        return Parcel(key, channel, address, daily_subscription(), jo(), report)
    if channel == "webhook":
        return parcels.parcel(
            channel, address, store, folder / "layouts", webhook_url=address, webhook_secret=SECRET
        )
    return parcels.parcel(channel, address, store, folder / "layouts")


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def doomed(base: type[Channel], moment: str) -> type[Channel]:
    """`base` that dies at `moment` of its send."""

    class Doomed(base):
        def send(self, parcel: Parcel) -> Outcome:
            if moment == "claimed":
                _die()
            outcome = super().send(parcel)
            if moment == "sent":
                _die()
            return outcome

    return Doomed


def main(warehouse_url: str, channel: str, moment: str, folder: str, address: str) -> None:
    place = Path(folder)
    kind = doomed(CHANNELS[channel], moment)
    sender = kind(store_in(place)) if channel == "email" else kind()
    db = Database(warehouse_url, search_path=REPORTING_SCHEMA)
    Dispatcher(db, {channel: sender}, source=DEAD_RUN).deliver([parcel_for(channel, address, place)])
    sys.exit(f"the sender was meant to die {moment} but lived to record the outcome")


if __name__ == "__main__":
    main(*sys.argv[1:])
