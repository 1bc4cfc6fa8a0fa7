"""`backroom gdpr`: retention, erasure, export, consents and the access log's check (docs/privacy.md).

Every command a person runs is recorded in the access log as "cli:<login>".
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import json
from collections.abc import Iterator
from pathlib import Path

import click
import sqlalchemy as sa

from backroom_reporting import settings
from backroom_reporting.command_line import Refused, open_warehouse, print_table, warehouse_url_option, when
from backroom_reporting.warehouse.database import Database


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@contextlib.contextmanager
def _booking_system() -> Iterator[Database | None]:
    """The booking system, where a customer's name, email and phone still are; None when it
    cannot be read (the quarantine is then the only place they are read from)."""
    from backroom_reporting.warehouse.faults import Fault

    source: Database | None = Database(settings.SOURCE_URL.get(), must_exist=True)
    try:
        source.scalar(sa.select(sa.literal(1)))
    except Fault as fault:
        click.echo(f"the booking system could not be read ({fault.sentence}): searching by id only", err=True)
        source = None
    try:
        yield source
    finally:
        if source is not None:
            source.close()


def _store_and_outbox():
    from backroom_reporting.rendering.store import ReportStore

    return ReportStore(settings.REPORT_STORE.get()), Path(settings.OUTBOX_DIR.get())


@click.group("gdpr")
def gdpr() -> None:
    """Retention, erasure, export, consents and the access log (docs/privacy.md)."""


@gdpr.command("apply-retention")
@click.option("--dry-run", is_flag=True, help="Count what would go; remove nothing.")
@warehouse_url_option
def apply_retention_command(dry_run: bool, url: str | None) -> None:
    """Remove what is past its retention (BACKROOM_RETENTION), table by table."""
    from backroom_reporting.privacy import audit
    from backroom_reporting.privacy.retention import RetentionError, apply_retention, counted, parse_retention

    try:
        retention = parse_retention()
    except RetentionError as exc:
        raise Refused(str(exc)) from exc
    store, _ = _store_and_outbox()
    now = _now()
    with open_warehouse(url) as db:
        removed = apply_retention(db, store, retention, now, dry_run=dry_run)
        if not dry_run:
            audit.record(db, _actor(), "retention", now, detail=counted(removed))
    for step in removed:
        click.echo(f"{step}{' (would go)' if dry_run else ''}")


def _print_removed(removed: dict[str, int]) -> None:
    print_table(("table", "removed"), [(name, str(count)) for name, count in removed.items()])


@gdpr.command("erase-customer")
@click.argument("customer_id")
@warehouse_url_option
def erase_customer_command(customer_id: str, url: str | None) -> None:
    """Remove a customer from every table and file; their nights' figures stay."""
    from backroom_reporting.privacy.erasure import erase_customer

    store, outbox = _store_and_outbox()
    with open_warehouse(url) as db, _booking_system() as source:
        removed = erase_customer(
            db, source, store, outbox, customer_id, settings.PSEUDONYM_KEY.get(), _actor(), _now()
        )
    _print_removed(removed)
    click.echo(
        f"erased customer {customer_id}; erase them in the booking system too, or its next load brings "
        "their id back"
    )


@gdpr.command("erase-recipient")
@click.argument("recipient_id")
@warehouse_url_option
def erase_recipient_command(recipient_id: str, url: str | None) -> None:
    """Remove a recipient, their subscriptions, deliveries, consents, tokens and messages."""
    from backroom_reporting.privacy.erasure import erase_recipient

    store, outbox = _store_and_outbox()
    with open_warehouse(url) as db:
        removed = erase_recipient(db, store, outbox, recipient_id, _actor(), _now())
    _print_removed(removed)
    click.echo(f"erased recipient {recipient_id}")


@gdpr.command("export-customer")
@click.argument("customer_id")
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="Write the JSON here (default: stdout)."
)
@warehouse_url_option
def export_customer_command(customer_id: str, out: Path | None, url: str | None) -> None:
    """Everything held about a customer, as JSON."""
    from backroom_reporting.privacy.erasure import export_customer

    store, outbox = _store_and_outbox()
    with open_warehouse(url) as db, _booking_system() as source:
        held = export_customer(
            db, source, store, outbox, customer_id, settings.PSEUDONYM_KEY.get(), _actor(), _now()
        )
    text = json.dumps(held, indent=2, default=str, ensure_ascii=False)
    if out is None:
        click.echo(text)
    else:
        out.write_text(text + "\n", encoding="utf-8")
        click.echo(f"wrote what is held about {customer_id} to {out}", err=True)


CHANNELS = ("email", "sms")


@gdpr.command("consent")
@click.argument("recipient_id")
@click.option("--channel", type=click.Choice(CHANNELS), required=True)
@click.option("--grant/--withdraw", "grant", required=True, help="Consent given, or withdrawn.")
@click.option("--how", required=True, help="How the person said so, e.g. 'asked by phone, 2 Dec'.")
@warehouse_url_option
def consent_command(recipient_id: str, channel: str, grant: bool, how: str, url: str | None) -> None:
    """Record a recipient's consent to a channel; a withdrawal stops its sends at once."""
    from backroom_reporting.privacy import audit
    from backroom_reporting.subscriptions.consent import record_consent

    action, now, actor = ("granted" if grant else "withdrawn"), _now(), _actor()
    with open_warehouse(url) as db:
        record_consent(db, recipient_id, channel, action, how, actor, now)
        audit.record(db, actor, "consent", now, recipient_id, {"channel": channel, "action": action})
    click.echo(f"{recipient_id}: {channel} consent {action} ({how})")


@gdpr.command("consents")
@click.argument("recipient_id")
@warehouse_url_option
def consents_command(recipient_id: str, url: str | None) -> None:
    """A recipient's consents as recorded: who, when, how."""
    from backroom_reporting.subscriptions.consent import consent_history
    from backroom_reporting.subscriptions.service import get_recipient

    with open_warehouse(url) as db:
        recipient = get_recipient(db, recipient_id)
        events = consent_history(db, recipient_id)
    click.echo(
        f"{recipient}: email {'yes' if recipient.email_consent else 'no'}, "
        f"sms {'yes' if recipient.sms_consent else 'no'}"
    )
    if not events:
        click.echo("no consent recorded yet")
        return
    print_table(
        ("when", "channel", "action", "subscription", "how", "by"),
        [
            (when(e["at"]), e["channel"], e["action"], e["subscription_id"] or "-", e["how"], e["by"])
            for e in events
        ],
    )


@gdpr.command("verify-log")
@warehouse_url_option
def verify_log_command(url: str | None) -> None:
    """Check the access log's hash chain; exit 1 naming the first entry that does not fit."""
    from backroom_reporting.privacy import audit

    with open_warehouse(url) as db:
        broken = audit.verify(db)
        count = len(audit.entries(db))
    if broken is not None:
        click.echo(
            f"the access log is broken at entry {broken.entry_id} ({broken.action} by {broken.actor} "
            f"at {broken.at.isoformat()}): it was changed, or an entry before it was removed",
            err=True,
        )
        raise SystemExit(1)
    click.echo(f"the access log holds: {count} entries, each following from the one before")
