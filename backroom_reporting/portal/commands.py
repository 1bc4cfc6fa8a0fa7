"""`backroom tokens`: the API channel's bearer tokens, made, listed and revoked; `backroom users`:
the portal's accounts, added, listed and disabled."""

from __future__ import annotations

import datetime as dt
import getpass

import click

from backroom_reporting.command_line import Refused, open_warehouse, print_table, warehouse_url_option, when
from backroom_reporting.portal import accounts, tokens
from backroom_reporting.portal.accounts import Account, AccountError
from backroom_reporting.portal.people import ROLES
from backroom_reporting.portal.tokens import TokenError
from backroom_reporting.privacy import audit


@click.group("tokens")
def tokens_group() -> None:
    """API tokens: a recipient's reads their deliveries (GET /api/deliveries/ID); an account's
    reads /api/v1/ what its scopes name and its role allows."""


@tokens_group.command("add")
@click.option("--recipient", "recipient_id", required=True, metavar="ID", help="Whose deliveries it reads.")
@click.option(
    "--days",
    type=click.IntRange(1, 3650),
    default=tokens.DEFAULT_DAYS,
    show_default=True,
    help="Days until it expires.",
)
@warehouse_url_option
def tokens_add(recipient_id: str, days: int, url: str | None) -> None:
    """Make a token; it is printed once, and only its hash is kept."""
    with open_warehouse(url) as db:
        token, presented = tokens.issue(db, recipient_id, dt.datetime.now(dt.UTC), days)
    click.echo(f"API token {token.token_id} for {recipient_id}, until {when(token.expires_at)}:")
    click.echo(presented)
    click.echo("It is shown only now: keep it somewhere safe.", err=True)


@tokens_group.command("issue")
@click.option("--user", "user", required=True, metavar="EMAIL", help="The account it reads as.")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    type=click.Choice(list(tokens.ACCOUNT_SCOPES)),
    help="What it may read; repeat for more. The account's role must allow each.",
)
@click.option(
    "--days",
    type=click.IntRange(1, 3650),
    default=tokens.ACCOUNT_DAYS,
    show_default=True,
    help="Days until it expires.",
)
@warehouse_url_option
def tokens_issue(user: str, scopes: tuple[str, ...], days: int, url: str | None) -> None:
    """Make a token for a portal account; it is printed once, and only its hash is kept."""
    with open_warehouse(url) as db:
        try:
            token, presented = tokens.issue_for_account(db, user, list(scopes), dt.datetime.now(dt.UTC), days)
        except TokenError as exc:
            raise Refused(str(exc)) from exc
    click.echo(
        f"API token {token.token_id} for {user} ({', '.join(token.scopes)}), until {when(token.expires_at)}:"
    )
    click.echo(presented)
    click.echo("It is shown only now: keep it somewhere safe.", err=True)


@tokens_group.command("list")
@warehouse_url_option
def tokens_list(url: str | None) -> None:
    """Every token: its holder (a recipient or an account), scopes, and whether it still works."""
    now = dt.datetime.now(dt.UTC)
    with open_warehouse(url) as db:
        found = tokens.all_tokens(db)
    if not found:
        click.echo("no API tokens yet: `backroom tokens add --recipient ID` makes one")
        return
    print_table(
        ("token", "holder", "scopes", "created", "expires", "state"),
        [
            (
                t.token_id,
                t.holder,
                ", ".join(t.scopes),
                when(t.created_at),
                when(t.expires_at),
                t.state(now),
            )
            for t in found
        ],
    )


@tokens_group.command("revoke")
@click.argument("token_id")
@warehouse_url_option
def tokens_revoke(token_id: str, url: str | None) -> None:
    """Stop a token working at once."""
    with open_warehouse(url) as db:
        try:
            token = tokens.revoke(db, token_id, dt.datetime.now(dt.UTC))
        except TokenError as exc:
            raise Refused(str(exc)) from exc
        click.echo(f"revoked API token {token.token_id} of {token.holder}")


@click.group("users")
def users_group() -> None:
    """Portal accounts: who may sign in, with which role, for which venues."""


def _by_cli() -> str:
    """The access log's actor for a command: the login that ran it."""
    return f"cli:{getpass.getuser()}"


@users_group.command("add")
@click.argument("email")
@click.option("--name", required=True, help="As the portal greets them.")
@click.option("--role", required=True, type=click.Choice(ROLES), help="What they may read (docs/portal.md).")
@click.option("--staff-id", default=None, metavar="ID", help="A staff account's staff member (raw_staff).")
@click.option(
    "--venue",
    "venue_ids",
    multiple=True,
    metavar="V",
    help="A venue the account covers; repeat for more. None: every venue.",
)
@click.option(
    "--password-prompt",
    is_flag=True,
    help="Ask for a password now; without it, they sign in by emailed link only.",
)
@warehouse_url_option
def users_add(
    email: str,
    name: str,
    role: str,
    staff_id: str | None,
    venue_ids: tuple[str, ...],
    password_prompt: bool,
    url: str | None,
) -> None:
    """Add an account."""
    password = (
        click.prompt("Password", hide_input=True, confirmation_prompt=True) if password_prompt else None
    )
    now = dt.datetime.now(dt.UTC)
    with open_warehouse(url) as db:
        try:
            account = accounts.add(
                db,
                email,
                name,
                role,
                now,
                password=password,
                staff_id=staff_id,
                venue_ids=list(venue_ids) or None,
            )
        except AccountError as exc:
            raise Refused(str(exc)) from exc
        person = account.person
        detail = {"role": role, "venues": person.venue_ids, "staff_id": staff_id, "password": bool(password)}
        audit.record(db, _by_cli(), "account_added", now, person.user_id, detail)
    how = "by password or emailed link" if password else "by emailed link only"
    click.echo(f"added {person.email} ({person.user_id}), {role} of {_venues(account)}: signs in {how}")


def _venues(account: Account) -> str:
    venues = account.person.venue_ids
    return ", ".join(venues) if venues else "every venue"


@users_group.command("list")
@warehouse_url_option
def users_list(url: str | None) -> None:
    """Every account: its role, venues, staff member and whether it may sign in."""
    with open_warehouse(url) as db:
        found = accounts.all_accounts(db)
    if not found:
        click.echo("no accounts yet: `backroom users add EMAIL --name NAME --role ROLE` adds one")
        return
    print_table(
        ("email", "name", "role", "venues", "staff id", "state"),
        [
            (
                a.person.email,
                a.person.name,
                a.person.role,
                _venues(a),
                a.person.staff_id or "-",
                f"disabled {when(a.disabled_at)}" if a.disabled_at else "active",
            )
            for a in found
        ],
    )


@users_group.command("disable")
@click.argument("email_or_id", metavar="EMAIL|ID")
@warehouse_url_option
def users_disable(email_or_id: str, url: str | None) -> None:
    """Stop an account signing in, and end its sessions at once."""
    now = dt.datetime.now(dt.UTC)
    with open_warehouse(url) as db:
        try:
            account = accounts.disable(db, email_or_id, now)
        except AccountError as exc:
            raise Refused(str(exc)) from exc
        audit.record(db, _by_cli(), "account_disabled", now, account.person.user_id)
    click.echo(f"disabled {account.person.email} ({account.person.user_id}): their sessions are ended")
