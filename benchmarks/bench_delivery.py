"""Delivering N subscriptions' report over every channel, to real servers on loopback.

    python -m benchmarks.bench_delivery [--subscriptions 1 --subscriptions 50] [--postgres URL]
                                         [--fast-providers]

Run from the repository's root: the servers are the channel tests' stand-ins (tests/delivery).

One real report (the daily summary of tests/rendering, rendered once to PDF and Excel with
its email body) goes to N subscriptions, each by email, SMS, Slack, webhook and dashboard:
email to an aiosmtpd relay, SMS to a stand-in for Twilio's Messages.json, Slack to one for
its Web API (the PDF in the message's thread), webhooks to a receiver that checks their
signatures. The channels are made by DeliveryResource from the same settings as in a run.

For each N: every channel alone (its parcels only, on a fresh ledger), then all parcels in
one Dispatcher.deliver, as a run delivers them. A channel's time alone is its share; the
batch should take little more than the slowest share, which the providers' rates set (SMS
and Slack take one message a second: N of them take about N seconds). `done in batch` is
when the channel's last parcel was recorded, from the batch's start: a throttled channel
must not hold the others up. Every server must have received each parcel exactly once.
--fast-providers lifts the per-second limits (keeping the limits on sends at once), to
show what the pacing costs.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import sqlalchemy as sa
from aiosmtpd.controller import Controller

from backroom_reporting.delivery.dispatch import Dispatcher
from backroom_reporting.delivery.model import Channel, DeliverableReport, Parcel
from backroom_reporting.delivery.plan import plan
from backroom_reporting.rendering.charts import ChartRenderer
from backroom_reporting.rendering.store import ReportStore
from backroom_reporting.resources.delivery import DeliveryResource
from backroom_reporting.subscriptions import service
from backroom_reporting.warehouse.connections import REPORTING_SCHEMA
from backroom_reporting.warehouse.database import Database
from backroom_reporting.warehouse.migrate import upgrade
from backroom_reporting.warehouse.tables.deliveries import report_deliveries, report_delivery_history
from tests.delivery.conftest import LAYOUTS_DIR, Relay, free_port, rendered_report
from tests.delivery.loopback import Loopback
from tests.delivery.standins import (
    HOOK,
    SECRET,
    SENDER,
    SID,
    SLACK_TOKEN,
    TWILIO_TOKEN,
    Receiver,
    SlackStandIn,
    TwilioStandIn,
)

CHANNELS = ("email", "sms", "slack", "webhook", "dashboard")
VENUES = {"backroom-leeds": "The Backroom Leeds"}
# Ofcom's numbers for drama, 07700 900000 to 900999: one a subscription.
MOST_SUBSCRIPTIONS = 1000


@dataclasses.dataclass
class Servers:
    relay: Relay
    twilio: TwilioStandIn
    slack: SlackStandIn
    receiver: Receiver

    def received(self) -> dict[str, int]:
        """What each server took: messages, Twilio messages, Slack posts with their PDF completed,
        webhooks posted."""
        return {
            "email": len(self.relay.received),
            "sms": len(self.twilio.messages),
            "slack": min(len(self.slack.posts()), len(self.slack.shared)),
            "webhook": len(self.receiver.posts()),
        }


@contextlib.contextmanager
def servers(folder: Path) -> Iterator[Servers]:
    """The four servers on loopback, and the settings that point the channels at them."""
    relay, port = Relay(), free_port()
    controller = Controller(relay, hostname="127.0.0.1", port=port)
    controller.start()
    with Loopback() as twilio, Loopback() as slack, Loopback() as hooks:
        os.environ.update(
            BACKROOM_SMTP_URL=f"smtp://127.0.0.1:{port}",
            TWILIO_ACCOUNT_SID=SID,
            TWILIO_AUTH_TOKEN=TWILIO_TOKEN,
            TWILIO_FROM=SENDER,
            TWILIO_BASE_URL=twilio.url,
            SLACK_BOT_TOKEN=SLACK_TOKEN,
            SLACK_BASE_URL=f"{slack.url}/api/",
            BACKROOM_PORTAL_URL="https://reports.backroom-leeds.example",
            BACKROOM_OUTBOX=str(folder / "outbox"),
        )
        try:
            yield Servers(relay, TwilioStandIn(twilio), SlackStandIn(slack), Receiver(hooks, SECRET))
        finally:
            controller.stop()


def parcels_for(count: int, report: DeliverableReport, hook_url: str) -> list[Parcel]:
    """`count` managers, each subscribed to the report on every channel, all ready to send."""
    templates = service.load_templates(LAYOUTS_DIR)
    parcels = []
    for i in range(count):
        recipient = service.new_recipient(
            f"Manager {i + 1}",
            "manager",
            email=f"manager{i + 1:03d}@backroom-leeds.example",
            phone=f"+447700900{i:03d}",
            slack_channel=f"C0BACKRM{i:03d}",
            channels=["email"],
            email_consent=True,
            sms_consent=True,
            recipient_id=f"rcp-bench-{i:03d}",
        )
        # As after the person followed the verification link; otherwise the email is held.
        recipient = dataclasses.replace(recipient, email_verified=True)
        subscription = service.new_subscription(
            recipient,
            report.template_key,
            templates=templates,
            known_venues=VENUES,
            venue_id=report.venue_id,
            channels=CHANNELS,
            webhook_url=hook_url,
            subscription_id=f"sub-bench-{i:03d}",
        )
        # One receiver, which knows one secret.
        subscription = dataclasses.replace(subscription, webhook_secret=SECRET)
        planned = plan(subscription, recipient, report)
        held = [p for p in planned if p.settle is not None]
        if held:
            raise SystemExit(f"{subscription.subscription_id} would not be sent: {held[0].reason}")
        parcels.extend(p.parcel for p in planned)
    return parcels


@dataclasses.dataclass(frozen=True)
class Pass:
    seconds: float
    done: dict[str, float]  # per channel: its last parcel recorded, seconds from the start
    received: dict[str, int]  # per server, in this pass
    not_sent: int  # parcels not settled as sent or delivered


def deliver(
    db: Database,
    make_channels: Callable[[], dict[str, Channel]],
    parcels: list[Parcel],
    servers: Servers,
) -> Pass:
    """One Dispatcher.deliver of `parcels` on an empty ledger, with new channels."""
    with db.engine.begin() as conn:
        conn.execute(sa.delete(report_delivery_history))
        conn.execute(sa.delete(report_deliveries))
    channels = make_channels()
    before = servers.received()
    dispatcher = Dispatcher(db, channels, source=f"bench-{uuid.uuid4().hex[:8]}")
    started_at = dispatcher.clock()
    started = time.perf_counter()
    settled = dispatcher.deliver(parcels)
    seconds = time.perf_counter() - started
    with db.engine.connect() as conn:
        last = conn.execute(
            sa.select(report_deliveries.c.channel, sa.func.max(report_deliveries.c.status_at)).group_by(
                report_deliveries.c.channel
            )
        ).all()
    done = {channel: (at - started_at).total_seconds() for channel, at in last}
    received = {k: v - before[k] for k, v in servers.received().items()}
    not_sent = sum(1 for s in settled if s.status not in ("sent", "delivered"))
    return Pass(seconds, done, received, not_sent)


@contextlib.contextmanager
def warehouse(folder: Path, postgres: str | None) -> Iterator[Database]:
    """A migrated warehouse: a SQLite file, or a new PostgreSQL database dropped afterwards."""
    if postgres is None:
        url = f"sqlite:///{folder}/warehouse.db"
        upgrade(url)
        with Database(url) as db:
            yield db
        return
    admin = sa.create_engine(postgres, isolation_level="AUTOCOMMIT")
    name = f"bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(postgres).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        with Database(url, search_path=REPORTING_SCHEMA) as db:
            yield db
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--subscriptions", type=int, action="append", help="subscriptions (repeatable); default 1, 7, 50"
    )
    parser.add_argument("--postgres", help="a PostgreSQL URL whose role may CREATE DATABASE")
    parser.add_argument("--fast-providers", action="store_true", help="lift the providers' per-second limits")
    args = parser.parse_args()
    counts = args.subscriptions or [1, 7, 50]
    if not all(1 <= n <= MOST_SUBSCRIPTIONS for n in counts):
        parser.error(f"--subscriptions takes 1 to {MOST_SUBSCRIPTIONS} (one drama number each)")

    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        store = ReportStore(folder / "reports")
        began = time.perf_counter()
        with ChartRenderer() as charts:
            report = rendered_report(store, charts)
        sizes = ", ".join(f"{f.format.upper()} {f.size_bytes / 1024:,.0f} KB" for f in report.files)
        print(f"one daily summary rendered in {time.perf_counter() - began:.1f}s: {sizes}")

        with servers(folder) as running, warehouse(folder, args.postgres) as db:

            def make_channels() -> dict[str, Channel]:
                channels = DeliveryResource().channels(store, VENUES)
                if args.fast_providers:
                    for channel in channels.values():
                        channel.per_second = 0.0  # 0: not paced
                return channels

            paced = {name: (c.concurrency, c.per_second) for name, c in make_channels().items()}
            print(
                "providers' limits (at once, per second): "
                + ", ".join(f"{n} {paced[n][0]}, {paced[n][1] or 'none'}" for n in CHANNELS)
            )
            print(
                f"\n== on {'PostgreSQL' if args.postgres else 'SQLite'}"
                f"{', per-second limits lifted' if args.fast_providers else ''}"
            )
            print(
                f"   {'N':>4} {'channel':<10} {'parcels':>7} {'alone s':>8} {'sends/s':>8} "
                f"{'received':>9} {'done in batch s':>15}"
            )
            for count in counts:
                parcels = parcels_for(count, report, running.receiver.server.url + HOOK)
                alone: dict[str, Pass] = {}
                for name in CHANNELS:
                    mine = [p for p in parcels if p.channel == name]
                    alone[name] = deliver(db, make_channels, mine, running)
                batch = deliver(db, make_channels, parcels, running)
                for name in CHANNELS:
                    mine = sum(1 for p in parcels if p.channel == name)
                    one = alone[name]
                    # Alone, then in the batch; the dashboard has no server.
                    got = [one.received[name], batch.received[name]] if name in one.received else []
                    wrong = any(g != mine for g in got) or one.not_sent
                    failures += bool(wrong)
                    print(
                        f"   {count:>4} {name:<10} {mine:>7} {one.seconds:>8.2f} {mine / one.seconds:>8.1f} "
                        f"{'/'.join(map(str, got)) or '-':>9} {batch.done[name]:>15.2f}"
                        f"{'  << not each once' if wrong else ''}"
                    )
                slowest = max(CHANNELS, key=lambda n: alone[n].seconds)
                failures += bool(batch.not_sent)
                print(
                    f"   {count:>4} {'batch':<10} {len(parcels):>7} {batch.seconds:>8.2f} "
                    f"{len(parcels) / batch.seconds:>8.1f}   batch / slowest alone ({slowest}) "
                    f"{batch.seconds / alone[slowest].seconds:.2f}"
                    f"{f'  << {batch.not_sent} not sent' if batch.not_sent else ''}"
                )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS {peak:,.0f} MB (Chromium, used once for the report, not included)")
    if failures:
        sys.exit("some parcels were not sent exactly once: see the table")


if __name__ == "__main__":
    main()
