"""`backroom subscriptions` and `backroom recipients`: who gets which report, from the command line.

A refused request prints the service's reason and exits with status 2, without a traceback.
"""

from __future__ import annotations

from collections.abc import Sequence

import click

from backroom_reporting.command_line import open_warehouse, print_table, warehouse_url_option, when
from backroom_reporting.metrics.business_time import VENUE_TIMEZONE
from backroom_reporting.rendering.model import FORMATS
from backroom_reporting.subscriptions import service
from backroom_reporting.subscriptions.service import (
    CHANNELS,
    ROLES,
    Recipient,
    Subscription,
)
from backroom_reporting.warehouse.source_contract import BRANDS


def _joined(values: Sequence[str] | None, otherwise: str = "-") -> str:
    return ", ".join(values) if values else otherwise


_format_option = click.option(
    "--format", "formats", multiple=True, metavar="FORMAT", help=f"Repeatable: {', '.join(FORMATS)}."
)
_channel_option = click.option(
    "--channel", "channels", multiple=True, metavar="CHANNEL", help=f"Repeatable: {', '.join(CHANNELS)}."
)


# --- subscriptions ----------------------------------------------------------------------------


@click.group()
def subscriptions() -> None:
    """Report subscriptions: which report a recipient gets, when, for which venue, and how."""


@subscriptions.command("add")
@click.option(
    "--recipient", "recipient_id", required=True, metavar="ID", help="The recipient's id (rcp-...)."
)
@click.option(
    "--template", "template_key", required=True, metavar="KEY", help="The report, e.g. daily_summary."
)
@click.option(
    "--cron", default=None, metavar="EXPR", help="Own schedule, e.g. '30 7 * * 1' (default: the template's)."
)
@click.option(
    "--timezone", default=None, metavar="TZ", help="IANA timezone of --cron (default: the template's)."
)
@click.option(
    "--venue", "venue_id", default=None, metavar="ID", help="Venue (needed when there are several)."
)
@click.option(
    "--group",
    is_flag=True,
    default=False,
    help="Every venue side by side: a group report (group_daily_summary, group_weekly_summary).",
)
@click.option(
    "--brand", default=None, metavar="NAME", help=f"Narrow event sections to one of {', '.join(BRANDS)}."
)
@_channel_option
@_format_option
@click.option("--webhook-url", default=None, metavar="URL", help="Where the webhook channel posts (https).")
@warehouse_url_option
def subscriptions_add(recipient_id: str, template_key: str, url: str | None, **details) -> None:
    """Subscribe a recipient to a report.

    Without --channel the recipient's preferred channels are used; without --format the
    recipient's preferred formats are followed. With --webhook-url the signing secret is
    printed once.
    """
    with open_warehouse(url) as db:
        added = service.add_subscription(db, recipient_id, template_key, **details)
        recipient = service.get_recipient(db, recipient_id)
    click.echo(
        f"Added {added.subscription_id}: {added.template_key} for {recipient}, {_whose(added)}; "
        f"next delivery {when(added.next_delivery_at)}"
    )
    if added.webhook_secret:
        _print_secret(added)


def _whose(subscription: Subscription) -> str:
    return "every venue (group)" if subscription.group else f"venue {subscription.venue_id}"


def _print_secret(subscription: Subscription) -> None:
    click.echo(f"Webhook signing secret: {subscription.webhook_secret}")
    click.echo(
        "Give it to the receiver at "
        f"{subscription.webhook_url} to keep: it checks each delivery's signature (Standard Webhooks) "
        "with it, and it is not shown again."
    )


@subscriptions.command("rotate-secret")
@click.argument("subscription_id")
@warehouse_url_option
def subscriptions_rotate_secret(subscription_id: str, url: str | None) -> None:
    """Give a webhook subscription a new signing secret; the old one signs too for a while."""
    with open_warehouse(url) as db:
        rotated = service.rotate_webhook_secret(db, subscription_id)
    _print_secret(rotated)
    click.echo("Deliveries are signed with the old secret too until the receiver has switched.")


@subscriptions.command("list")
@click.option("--template", "template_key", default=None, metavar="KEY", help="Only this report.")
@click.option("--recipient", "recipient_id", default=None, metavar="ID", help="Only this recipient's.")
@click.option("--paused/--active", default=None, help="Only paused, or only active, subscriptions.")
@warehouse_url_option
def subscriptions_list(
    template_key: str | None, recipient_id: str | None, paused: bool | None, url: str | None
) -> None:
    """List subscriptions, with their schedule, filters, channels and next delivery."""
    with open_warehouse(url) as db:
        found = service.list_subscriptions(db, template_key, recipient_id, paused)
        names = {r.recipient_id: r.name for r in service.list_recipients(db)}
    if not found:
        click.echo("No subscriptions match.")
        return
    print_table(
        (
            "ID",
            "RECIPIENT",
            "TEMPLATE",
            "SCHEDULE",
            "VENUE",
            "BRAND",
            "CHANNELS",
            "FORMATS",
            "STATUS",
            "NEXT",
        ),
        [_subscription_line(s, names.get(s.recipient_id, "?")) for s in found],
    )


def _subscription_line(s: Subscription, name: str) -> tuple[str, ...]:
    schedule = "template's" if s.cron is None else s.cron + (f" {s.timezone}" if s.timezone else "")
    return (
        s.subscription_id,
        f"{name} ({s.recipient_id})",
        s.template_key,
        schedule,
        s.venue_id or "group (all)",
        s.brand or "all",
        _joined(s.channels),
        _joined(s.formats, "recipient's"),
        "paused" if s.paused else "active",
        when(s.next_delivery_at),
    )


@subscriptions.command("pause")
@click.argument("subscription_id")
@warehouse_url_option
def subscriptions_pause(subscription_id: str, url: str | None) -> None:
    """Stop a subscription's deliveries until it is resumed."""
    with open_warehouse(url) as db:
        paused = service.pause(db, subscription_id)
    click.echo(
        f"Paused {paused.subscription_id} ({paused.template_key}); nothing is delivered until resumed."
    )


@subscriptions.command("resume")
@click.argument("subscription_id")
@warehouse_url_option
def subscriptions_resume(subscription_id: str, url: str | None) -> None:
    """Start a paused subscription again from its next scheduled time."""
    with open_warehouse(url) as db:
        resumed = service.resume(db, subscription_id)
    click.echo(
        f"Resumed {resumed.subscription_id} ({resumed.template_key}); "
        f"next delivery {when(resumed.next_delivery_at)}"
    )


# --- recipients -------------------------------------------------------------------------------


@click.group()
def recipients() -> None:
    """People who receive reports: contact details, preferences and consent."""


@recipients.command("add")
@click.option("--name", required=True, help="Full name.")
@click.option("--email", default=None, help="Email address (needed for the email channel).")
@click.option("--phone", default=None, help="Mobile number, for the sms channel.")
@click.option(
    "--slack-channel", default=None, metavar="ID", help="Slack channel or member id, for the slack channel."
)
@click.option("--role", required=True, metavar="ROLE", help=f"One of {', '.join(ROLES)}.")
@_format_option
@_channel_option
@click.option("--timezone", default=VENUE_TIMEZONE, show_default=True, help="IANA timezone.")
@click.option(
    "--email-consent/--no-email-consent", default=False, help="They agreed to reports by email (GDPR)."
)
@click.option("--sms-consent/--no-sms-consent", default=False, help="They agreed to messages by SMS (GDPR).")
@warehouse_url_option
def recipients_add(name: str, role: str, url: str | None, **details) -> None:
    """Add a recipient. Without --format / --channel: PDF by email (which needs --email-consent)."""
    with open_warehouse(url) as db:
        added = service.add_recipient(db, name, role, **details)
    formats, channels = _joined(added.preferred_formats), _joined(added.preferred_channels)
    click.echo(f"Added {added}: {added.role}, {formats} by {channels}")


@recipients.command("list")
@warehouse_url_option
def recipients_list(url: str | None) -> None:
    """List recipients, with their preferences and consent."""
    with open_warehouse(url) as db:
        found = service.list_recipients(db)
    if not found:
        click.echo("No recipients yet.")
        return
    print_table(
        (
            "ID",
            "NAME",
            "ROLE",
            "EMAIL",
            "ADDRESS",
            "PHONE",
            "SLACK",
            "FORMATS",
            "CHANNELS",
            "CONSENT",
            "TIMEZONE",
        ),
        [_recipient_line(r) for r in found],
    )


def _address_state(r: Recipient) -> str:
    """Whether email can go to the address: suppressed (and why), verified, or not yet."""
    if r.email is None:
        return "-"
    if r.suppressed:
        return f"suppressed ({r.suppressed_reason})" if r.suppressed_reason else "suppressed"
    return "verified" if r.email_verified else "unverified"


def _recipient_line(r: Recipient) -> tuple[str, ...]:
    consent = [kind for kind, given in (("email", r.email_consent), ("sms", r.sms_consent)) if given]
    return (
        r.recipient_id,
        r.name,
        r.role,
        r.email or "-",
        _address_state(r),
        r.phone or "-",
        r.slack_channel or "-",
        _joined(r.preferred_formats),
        _joined(r.preferred_channels),
        _joined(consent, "none"),
        r.timezone,
    )
