"""The demo distribution list of The Backroom Leeds (demo_subscriptions.yaml).

It goes through the same checks as `backroom recipients add` and `backroom subscriptions
add`, so a demo subscription is one the command line would accept.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from importlib import resources
from pathlib import Path
from typing import TypeVar

import yaml

from backroom_reporting.subscriptions.service import (
    Recipient,
    Subscription,
    list_recipients,
    list_subscriptions,
    load_templates,
    new_recipient,
    new_subscription,
    store,
    venues,
)
from backroom_reporting.warehouse.database import Database

DEMO_LIST = "demo_subscriptions.yaml"

Kept = TypeVar("Kept", Recipient, Subscription)


def load_demo_subscriptions(
    db: Database, layouts_dir: Path | str | None = None, now: dt.datetime | None = None
) -> tuple[list[Recipient], list[Subscription]]:
    """Replace the demo recipients and subscriptions (fixed ids) in one transaction.

    Loading again gives the same rows: a row already there keeps its created_at (and a
    recipient its consent_recorded_at); next_delivery_at is the next run after `now`.
    """
    spec = yaml.safe_load(resources.files(__package__).joinpath(DEMO_LIST).read_text(encoding="utf-8"))
    now = now or dt.datetime.now(dt.UTC)
    earlier_recipients = {r.recipient_id: r for r in list_recipients(db)}
    recipients = {
        r.recipient_id: _keep_dates(r, earlier_recipients.get(r.recipient_id), "consent_recorded_at")
        for r in (new_recipient(**entry, now=now) for entry in spec["recipients"])
    }
    templates, known_venues = load_templates(layouts_dir), venues(db)
    earlier_subscriptions = {s.subscription_id: s for s in list_subscriptions(db)}
    subscriptions = []
    for entry in spec["subscriptions"]:
        details = {key: value for key, value in entry.items() if key != "recipient_id"}
        subscription = new_subscription(
            recipients[entry["recipient_id"]],
            templates=templates,
            known_venues=known_venues,
            venue_id=spec["venue_id"],
            now=now,
            **details,
        )
        subscriptions.append(
            _keep_dates(subscription, earlier_subscriptions.get(subscription.subscription_id))
        )
    store(db, list(recipients.values()), subscriptions)
    return list(recipients.values()), subscriptions


def _keep_dates(new: Kept, earlier: Kept | None, *also: str) -> Kept:
    """`new`, with the creation date (and `also` fields) of the row it replaces."""
    if earlier is None:
        return new
    return dataclasses.replace(new, **{name: getattr(earlier, name) for name in ("created_at", *also)})
