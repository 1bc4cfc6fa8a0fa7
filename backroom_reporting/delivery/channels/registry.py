"""The channels as configured now: each with its provider, or the outbox where none is set."""

from __future__ import annotations

from backroom_reporting.delivery.channels.slack import SlackChannel
from backroom_reporting.delivery.channels.sms import SmsChannel
from backroom_reporting.delivery.channels.webhook import WebhookChannel
from backroom_reporting.delivery.model import Channel
from backroom_reporting.delivery.outbox import Outbox
from backroom_reporting.rendering.store import ReportStore


def channels_from_settings(store: ReportStore, outbox: Outbox) -> dict[str, Channel]:
    """SMS, Slack and webhook, reading their settings now (when a run starts)."""
    return {
        "sms": SmsChannel(outbox),
        "slack": SlackChannel(store, outbox),
        "webhook": WebhookChannel(outbox=outbox),
    }
