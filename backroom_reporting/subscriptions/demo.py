"""The demo distribution list of The Backroom Leeds (demo_subscriptions.yaml).

It goes through the same checks as `backroom recipients add` and `backroom subscriptions
add`, so a demo subscription is one the command line would accept.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Annotated, TypeVar

import yaml
from pydantic import Field, StrictBool, StrictInt, StrictStr, ValidationError, model_validator

from backroom_reporting.config_types import ConfigModel, Cron, FieldProblem, Timezone, dotted, problems
from backroom_reporting.metrics.business_time import VENUE_TIMEZONE
from backroom_reporting.subscriptions.service import (
    Recipient,
    Subscription,
    SubscriptionError,
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


class _DemoRecipient(ConfigModel):
    """The arguments of `backroom recipients add` (service.new_recipient checks the values)."""

    recipient_id: StrictStr
    name: StrictStr
    role: StrictStr
    email: StrictStr | None = None
    phone: StrictStr | None = None
    slack_channel: StrictStr | None = None
    formats: tuple[StrictStr, ...] = ()
    channels: tuple[StrictStr, ...] = ()
    timezone: Timezone = VENUE_TIMEZONE
    email_consent: StrictBool = False
    sms_consent: StrictBool = False
    # Not an argument of `recipients add`: a real address is verified by following a link.
    email_verified: StrictBool = False


class _DemoSubscription(ConfigModel):
    """The arguments of `backroom subscriptions add` (service.new_subscription checks the rest)."""

    subscription_id: StrictStr
    recipient_id: StrictStr
    template_key: StrictStr
    cron: Cron | None = None
    timezone: Timezone | None = None
    brand: StrictStr | None = None
    formats: tuple[StrictStr, ...] = ()
    channels: tuple[StrictStr, ...] = ()


class _SeveralVenues(ConfigModel):
    """What the list adds when the warehouse holds several venues (`backroom demo --venues N`)."""

    other_venues: Annotated[StrictInt, Field(ge=0)]  # how many venues besides the list's get...
    venue_subscriptions: tuple[_DemoSubscription, ...] = ()  # ...these, the venue id added to the id
    group_subscriptions: tuple[_DemoSubscription, ...] = ()  # every venue side by side (group layouts)


class _DemoList(ConfigModel):
    venue_id: StrictStr
    recipients: list[_DemoRecipient]
    subscriptions: list[_DemoSubscription]
    several_venues: _SeveralVenues | None = None

    @model_validator(mode="after")
    def _recipients_listed(self) -> _DemoList:
        listed = {r.recipient_id for r in self.recipients}
        several = self.several_venues or _SeveralVenues(other_venues=0)
        for where, entries in (
            (("subscriptions",), self.subscriptions),
            (("several_venues", "venue_subscriptions"), several.venue_subscriptions),
            (("several_venues", "group_subscriptions"), several.group_subscriptions),
        ):
            for i, subscription in enumerate(entries):
                if subscription.recipient_id not in listed:
                    raise FieldProblem(
                        (*where, i, "recipient_id"),
                        f"{subscription.recipient_id!r} is not a recipient of this list",
                    )
        return self


def demo_list(text: str, source: str = DEMO_LIST) -> _DemoList:
    """The demo list in `text`; a SubscriptionError names the file, the entry and the field."""
    try:
        return _DemoList.model_validate(yaml.safe_load(text))
    except yaml.YAMLError as exc:
        raise SubscriptionError(f"{source}: not valid YAML: {exc}") from None
    except ValidationError as exc:
        location, message = problems(exc)[0]
        raise SubscriptionError(f"{source}: {dotted(location)}: {message}") from None


def load_demo_subscriptions(
    db: Database, layouts_dir: Path | str | None = None, now: dt.datetime | None = None
) -> tuple[list[Recipient], list[Subscription]]:
    """Replace the demo recipients and subscriptions (fixed ids) in one transaction. With
    several venues in the warehouse, the list's `several_venues` subscriptions come too: for
    the first few other venues (by id) and for the group.

    Loading again gives the same rows: a row already there keeps its created_at (and a
    recipient its consent_recorded_at and email_verified_at); next_delivery_at is the next
    run after `now`.
    """
    spec = demo_list(resources.files(__package__).joinpath(DEMO_LIST).read_text(encoding="utf-8"))
    now = now or dt.datetime.now(dt.UTC)
    earlier_recipients = {r.recipient_id: r for r in list_recipients(db)}
    recipients = {}
    for i, entry in enumerate(spec.recipients, start=1):
        with _naming(f"recipients[{i}] ({entry.recipient_id})"):
            recipient = new_recipient(**entry.model_dump(exclude={"email_verified"}), now=now)
        if entry.email_verified:
            recipient = dataclasses.replace(recipient, email_verified=True, email_verified_at=now)
        recipients[recipient.recipient_id] = _keep_dates(
            recipient,
            earlier_recipients.get(recipient.recipient_id),
            "consent_recorded_at",
            *(("email_verified_at",) if entry.email_verified else ()),
        )
    templates, known_venues = load_templates(layouts_dir), venues(db)
    earlier_subscriptions = {s.subscription_id: s for s in list_subscriptions(db)}
    wanted = [
        (f"subscriptions[{i}]", e, {"venue_id": spec.venue_id}) for i, e in enumerate(spec.subscriptions, 1)
    ]
    if spec.several_venues and len(known_venues) > 1:
        several = spec.several_venues
        others = [v for v in known_venues if v != spec.venue_id][: several.other_venues]
        wanted += [
            (
                f"several_venues.venue_subscriptions[{i}]",
                e,
                {"venue_id": venue, "subscription_id": f"{e.subscription_id}-{venue}"},
            )
            for i, e in enumerate(several.venue_subscriptions, 1)
            for venue in others
        ]
        wanted += [
            (f"several_venues.group_subscriptions[{i}]", e, {"group": True})
            for i, e in enumerate(several.group_subscriptions, 1)
        ]
    subscriptions = []
    for where, entry, whose in wanted:
        details = entry.model_dump(exclude={"recipient_id"}) | whose
        with _naming(f"{where} ({details['subscription_id']})"):
            subscription = new_subscription(
                recipients[entry.recipient_id],
                templates=templates,
                known_venues=known_venues,
                now=now,
                **details,
            )
        subscriptions.append(
            _keep_dates(subscription, earlier_subscriptions.get(subscription.subscription_id))
        )
    store(db, list(recipients.values()), subscriptions)
    return list(recipients.values()), subscriptions


@contextlib.contextmanager
def _naming(entry: str) -> Iterator[None]:
    """A refusal of the service, naming the file and the entry it was about."""
    try:
        yield
    except SubscriptionError as exc:
        raise SubscriptionError(f"{DEMO_LIST}: {entry}: {exc}") from None


def _keep_dates(new: Kept, earlier: Kept | None, *also: str) -> Kept:
    """`new`, with the creation date (and `also` fields) of the row it replaces."""
    if earlier is None:
        return new
    return dataclasses.replace(new, **{name: getattr(earlier, name) for name in ("created_at", *also)})
