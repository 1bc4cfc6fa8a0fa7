"""The short note a daily report becomes after a night the venue was closed: the money that
still moved that day, and what is already sold for the next open night (docs/reports.md).

Pure functions; no database, no Dagster.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from backroom_reporting.rendering.content import pounds


@dataclass(frozen=True)
class Outlook:
    """The next open night and what is already sold for it."""

    night: dt.date
    brands: tuple[str, ...]  # its events' brands, in the venue's words
    bookings: int  # table bookings not cancelled
    guests: int  # their party sizes
    tickets_sold: int  # paid tickets
    ticket_revenue_pence: int  # their net


def _day(day: dt.date) -> str:
    return f"{day:%A} {day.day} {day:%B}"


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else many or one + 's'}"


def closed_night_note(venue: str, day: dt.date, figures: dict | None, outlook: Outlook | None) -> list[str]:
    """The note's paragraphs. figures: the day's daily_aggregations row, if it has one."""
    moved = []
    if figures:
        for column, what in (
            ("ticket_sales_taken_pence", "presales taken"),
            ("refunds_pence", "refunds"),
            ("deposits_pence", "table deposits"),
        ):
            if figures[column]:
                moved.append(f"{pounds(figures[column])} of {what}")
    if moved:
        money = "Money still moved that day: " + (
            moved[0] if len(moved) == 1 else ", ".join(moved[:-1]) + " and " + moved[-1]
        )
        money += "."
    else:
        money = "No money moved that day."
    paragraphs = [f"{venue} was closed on {_day(day)} {day.year}. {money}"]
    if outlook is None:
        paragraphs.append("No open night is scheduled in the next two weeks.")
    else:
        what = " and ".join(outlook.brands) if outlook.brands else "bar and tables"
        paragraphs.append(
            f"Next open night: {_day(outlook.night)}, {what}. Sold so far: "
            f"{_plural(outlook.tickets_sold, 'ticket')} ({pounds(outlook.ticket_revenue_pence)}) and "
            f"{_plural(outlook.bookings, 'table booking')} for {_plural(outlook.guests, 'guest')}."
        )
    return paragraphs
