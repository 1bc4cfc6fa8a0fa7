"""`backroom tokens`: the API channel's bearer tokens, made, listed and revoked."""

from __future__ import annotations

import datetime as dt

import click

from backroom_reporting.command_line import Refused, open_warehouse, print_table, warehouse_url_option, when
from backroom_reporting.portal import tokens
from backroom_reporting.portal.tokens import TokenError


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
