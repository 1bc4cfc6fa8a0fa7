"""What every `backroom` command that reads the warehouse shares: opening it, refusing with
exit status 2, and printing tables and times on the venue's clock."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator, Sequence
from zoneinfo import ZoneInfo

import click

from backroom_reporting import settings
from backroom_reporting.metrics.business_time import VENUE_TIMEZONE
from backroom_reporting.subscriptions.service import SubscriptionError
from backroom_reporting.warehouse.database import Database
from backroom_reporting.warehouse.faults import Place


class Refused(click.ClickException):
    """A request the service refused: its message, exit status 2 (as for a usage error)."""

    exit_code = 2


@contextlib.contextmanager
def open_warehouse(url: str | None) -> Iterator[Database]:
    """The warehouse at `url` (default: settings), once its schema is current; refusals become exit 2."""
    # Alembic is imported here, not at load: the code location has no use for it.
    from backroom_reporting.warehouse.connections import REPORTING_SCHEMA
    from backroom_reporting.warehouse.migrate import SchemaOutOfDate, require_schema_at_head

    url = url or settings.WAREHOUSE_URL.get()
    place = Place("the warehouse", url, settings.WAREHOUSE_URL.env)
    with Database(url, search_path=REPORTING_SCHEMA, place=place, must_exist=True) as db:
        try:
            require_schema_at_head(db)
        except SchemaOutOfDate as exc:
            raise Refused(str(exc)) from exc
        try:
            yield db
        except SubscriptionError as exc:
            raise Refused(str(exc)) from exc


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]
    for line in (headers, *rows):
        click.echo(
            "  ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        )


def when(moment: dt.datetime | None) -> str:
    """A moment on the venue's clock, e.g. Mon 30 Mar 2026 22:00 BST ("-" for none)."""
    if moment is None:
        return "-"
    return moment.astimezone(ZoneInfo(VENUE_TIMEZONE)).strftime("%a %d %b %Y %H:%M %Z")


# The warehouse to act on, shared by every command that takes one.
warehouse_url_option = click.option(
    "--url",
    default=None,
    help=f"Warehouse URL (default: ${settings.WAREHOUSE_URL.env} or {settings.WAREHOUSE_URL.default}).",
)
