"""The short note a daily report becomes after a night the venue was closed: the money that
still moved that day, and what is already sold for the next open night (docs/reports.md).

Pure functions; no database, no Dagster.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from backroom_reporting.rendering.content import day_name, listed, plural, pounds


@dataclass(frozen=True)
class Outlook:
    """The next open night and what is already sold for it."""

    night: dt.date
    brands: tuple[str, ...]  # its events' brands, in the venue's words
    bookings: int  # table bookings not cancelled
    guests: int  # their party sizes
    tickets_sold: int  # paid tickets
    ticket_revenue_pence: int  # their net


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
    money = f"Money still moved that day: {listed(moved)}." if moved else "No money moved that day."
    paragraphs = [f"{venue} was closed on {day_name(day)} {day.year}. {money}"]
    if outlook is None:
        paragraphs.append("No open night is scheduled in the next two weeks.")
    else:
        what = " and ".join(outlook.brands) if outlook.brands else "bar and tables"
        paragraphs.append(
            f"Next open night: {day_name(outlook.night)}, {what}. Sold so far: "
            f"{plural(outlook.tickets_sold, 'ticket')} ({pounds(outlook.ticket_revenue_pence)}) and "
            f"{plural(outlook.bookings, 'table booking')} for {plural(outlook.guests, 'guest')}."
        )
    return paragraphs
