"""Numbers as a reader sees them, shared by every format and by the prose.

Values arrive in warehouse units (integer pence, fractions) and are formatted here, at
the edge. No Jinja2 or other rendering library: the prose imports this at load.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any
from zoneinfo import ZoneInfo

from backroom_reporting.rendering.model import ValueKind

LONDON = ZoneInfo("Europe/London")
MISSING = "—"
# KPI cards round money of £1,000 or more to whole pounds: the pence are noise at that size.
WHOLE_POUNDS_FROM_PENCE = 100_000


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def format_money(pence: float | None, whole: bool = False) -> str:
    """£12,345.67 from 1234567 pence; whole pounds when `whole` (£12,346)."""
    if _missing(pence):
        return MISSING
    pounds = abs(pence) / 100
    text = f"£{pounds:,.0f}" if whole else f"£{pounds:,.2f}"
    return f"-{text}" if pence < 0 else text


def format_percent(fraction: float | None) -> str:
    return MISSING if _missing(fraction) else f"{fraction:.1%}"


def format_count(count: float | None) -> str:
    """1,234; a count averaged over nights keeps one decimal (2.8 VIP visits a night)."""
    if _missing(count):
        return MISSING
    return f"{round(count):,}" if count == round(count) else f"{count:,.1f}"


def format_score(score: float | None) -> str:
    return MISSING if _missing(score) else f"{score:.2f}"


def format_number(number: float | None) -> str:
    if _missing(number):
        return MISSING
    return f"{number:,}" if isinstance(number, int) else f"{number:,.2f}"


def format_hour(hour: int | str | None) -> str:
    """23:00 from the clock hour 23; labels already written as text pass through."""
    if _missing(hour):
        return MISSING
    return f"{int(hour):02d}:00" if isinstance(hour, int | float) else str(hour)


def format_date(day: dt.date | str | None) -> str:
    """Sat 21 Nov 2026."""
    if _missing(day):
        return MISSING
    if isinstance(day, dt.date):
        return f"{day:%a} {day.day} {day:%b %Y}"
    return str(day)


def format_timestamp(moment: dt.datetime) -> str:
    """Sun 22 Nov 2026, 06:15 GMT, on the London clock."""
    local = moment.astimezone(LONDON)
    return f"{format_date(local.date())}, {local:%H:%M %Z}"


def format_value(value: Any, kind: ValueKind, short: bool = False) -> str:
    """A value in warehouse units as a reader sees it; `short` rounds large money to pounds."""
    if _missing(value):
        return MISSING
    if kind == "money":
        return format_money(value, whole=short and abs(value) >= WHOLE_POUNDS_FROM_PENCE)
    formatter = {
        "percent": format_percent,
        "count": format_count,
        "score": format_score,
        "number": format_number,
        "hour": format_hour,
        "date": format_date,
    }.get(kind, str)
    return formatter(value)


def format_change(change: float | None) -> str:
    """+12% from 0.12; one decimal below 10% so small moves do not read as 0%."""
    if _missing(change):
        return MISSING
    return f"{change:+.0%}" if abs(change) >= 0.1 else f"{change:+.1%}"


def format_kpi_change(value: float | None, earlier: float | None, kind: ValueKind) -> str:
    """How a KPI moved from `earlier`, in its own units: a rate in percentage points
    (-4.6 points), money in pounds and per cent (+£1,204 (+12%)), anything else as a
    difference and per cent (+3 (+27%))."""
    if _missing(value) or _missing(earlier):
        return MISSING
    difference = value - earlier
    if kind == "percent":
        return f"{difference * 100:+.1f} points"
    sign = "-" if difference < 0 else "+"
    shown = format_value(abs(difference), kind, short=True)
    if not earlier:
        return f"{sign}{shown}"
    return f"{sign}{shown} ({format_change(difference / abs(earlier))})"


def change_tone(change: float | None, lower_is_better: bool) -> str:
    """good, bad or flat: whether a movement is welcome depends on the KPI's direction."""
    if _missing(change) or change == 0:
        return "flat"
    return "good" if (change > 0) != lower_is_better else "bad"
