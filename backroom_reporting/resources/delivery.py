"""The delivery channels inside a run, configured from the environment (docs/delivery.md).

Each channel whose provider is not configured writes what it would send to the outbox
folder instead, so the embedded default sends nothing anywhere and shows everything.
"""

from __future__ import annotations

import dagster as dg

from backroom_reporting.delivery.model import Channel
from backroom_reporting.delivery.outbox import Outbox
from backroom_reporting.rendering.store import ReportStore


class DeliveryResource(dg.ConfigurableResource):
    """The mail relay (or outbox) and the other providers' channels."""

    smtp_url: str | None = None
    outbox_dir: str | None = None

    def outbox(self) -> Outbox:
        return Outbox(self.outbox_dir)

    def mailer(self):
        from backroom_reporting.delivery.mailer import Mailer

        return Mailer(self.smtp_url, self.outbox())

    def channels(self, store: ReportStore, venues: dict[str, str] | None = None) -> dict[str, Channel]:
        """Every channel; `venues` (id -> name) names the venue in email subjects."""
        # The providers' SDKs load here, when a run delivers, not when the code location loads.
        from backroom_reporting.delivery.channels.email import EmailChannel
        from backroom_reporting.delivery.channels.portal import ApiChannel, DashboardChannel
        from backroom_reporting.delivery.channels.registry import channels_from_settings

        return {
            "email": EmailChannel(store, self.mailer(), venues=venues),
            **channels_from_settings(store, self.outbox()),
            "dashboard": DashboardChannel(),
            "api": ApiChannel(),
        }
