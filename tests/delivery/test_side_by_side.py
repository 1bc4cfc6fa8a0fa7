"""The channels send side by side: one waiting on its provider's rate does not hold up another."""

from __future__ import annotations

import pytest

from backroom_reporting.delivery import ledger
from backroom_reporting.delivery.channels.portal import DashboardChannel
from backroom_reporting.delivery.channels.webhook import WebhookChannel
from backroom_reporting.delivery.dispatch import Dispatcher
from backroom_reporting.rendering.store import ReportStore
from tests.delivery import parcels
from tests.delivery.loopback import serve
from tests.delivery.standins import HOOK, SECRET, Receiver

# More parcels of the throttled channel than threads a single shared pool had (16), so they
# would have taken every thread.
EACH = 40
RECEIVER_RATE = 4.0  # webhooks a second the receiver takes


@pytest.fixture
def server():
    yield from serve()


def test_a_throttled_channel_does_not_hold_up_the_others(server, tmp_path, warehouse):
    receiver = Receiver(server, SECRET)
    store = ReportStore(tmp_path / "reports")
    hooks = WebhookChannel()
    hooks.per_second = RECEIVER_RATE
    dashboard = DashboardChannel()
    batch = []
    for i in range(EACH):
        for channel, address in (("webhook", server.url + HOOK), ("dashboard", "rcp-jo")):
            one = parcels.parcel(
                channel,
                address,
                store,
                tmp_path / "layouts",
                subscription_id=f"sub-jo-{i:02d}",
                **({"webhook_secret": SECRET} if channel == "webhook" else {}),
            )
            batch.append(one)

    settled = Dispatcher(warehouse, {"webhook": hooks, "dashboard": dashboard}, source="run-test").deliver(
        batch
    )

    assert [s.status for s in settled] == ["delivered"] * (2 * EACH)
    assert len(receiver.posts()) == len(receiver.events) == EACH
    rows = [ledger.get(warehouse, p.delivery_id) for p in batch]
    dashboard_done = max(r.status_at for r in rows if r.channel == "dashboard")
    hooks_by_then = sum(1 for r in rows if r.channel == "webhook" and r.status_at <= dashboard_done)
    # The webhooks take EACH / RECEIVER_RATE = 10 s; the dashboard is done before half of them
    # have gone (in one shared pool it waited for all but the pool's 16).
    assert hooks_by_then < EACH / 2
