"""Which parcels a subscription's report makes, and which of them may not be sent.

One parcel per channel of the subscription, to the address that channel reaches. Before
anything is sent, the recipient's state decides: a suppressed address or a consent
withdrawn settles the parcel as `suppressed`; an email address not yet verified holds it
`queued` until the person follows the verification link (docs/delivery.md, "Before a send").
"""

from __future__ import annotations

import dataclasses

from backroom_reporting.delivery.ledger import delivery_id
from backroom_reporting.delivery.model import DeliverableReport, Parcel, Status
from backroom_reporting.subscriptions.service import Recipient, Subscription


@dataclasses.dataclass(frozen=True)
class Planned:
    parcel: Parcel
    # None: send it. Otherwise how it stays without a send (suppressed, or queued while held).
    settle: Status | None = None
    reason: str | None = None


def address_for(channel: str, subscription: Subscription, recipient: Recipient) -> str | None:
    return {
        "email": recipient.email,
        "sms": recipient.phone,
        "slack": recipient.slack_channel,
        "webhook": subscription.webhook_url,
        "dashboard": recipient.recipient_id,
        "api": recipient.recipient_id,
    }[channel]


def _stop(channel: str, recipient: Recipient) -> tuple[Status, str] | None:
    """Why this recipient may not be sent to on this channel now, if they may not."""
    if channel == "email":
        if recipient.suppressed:
            why = recipient.suppressed_reason or "a hard bounce or complaint"
            return "suppressed", f"{recipient.email} is suppressed after {why}"
        if not recipient.email_consent:
            return "suppressed", f"{recipient.name} has withdrawn consent to email"
        if not recipient.email_verified:
            return "queued", f"held until {recipient.email} is verified by the link sent to it"
    if channel == "sms" and not recipient.sms_consent:
        return "suppressed", f"{recipient.name} has not consented to SMS (or replied STOP)"
    return None


def plan(subscription: Subscription, recipient: Recipient, report: DeliverableReport) -> list[Planned]:
    planned = []
    for channel in subscription.channels:
        address = address_for(channel, subscription, recipient)
        if address is None:
            # The subscriptions service refuses such a channel; a row edited by hand can have it.
            raise ValueError(
                f"{subscription.subscription_id} has the {channel} channel but nowhere to send it"
            )
        parcel = Parcel(
            delivery_id=delivery_id(
                subscription.subscription_id, report.due_period[0], channel, address, stale=bool(report.stale)
            ),
            channel=channel,
            address=address,
            subscription=subscription,
            recipient=recipient,
            report=report,
        )
        stop = _stop(channel, recipient)
        planned.append(Planned(parcel, *stop) if stop else Planned(parcel))
    return planned
