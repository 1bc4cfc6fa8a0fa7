"""A Report as HTML, in three variants of one Jinja2 template set and one stylesheet.

- web: a single self-contained file (stylesheet in a <style>, interactive plotly charts);
- email: styles inlined onto the elements, charts as inline SVG, no script;
- print: the input of WeasyPrint (static SVG charts, A4 pages, running header, page numbers).

Also the number formatting every format shares: values arrive in warehouse units (integer
pence, fractions) and are formatted here, at the edge.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import css_inline
import jinja2
import polars as pl
from markupsafe import Markup

from backroom_reporting import settings
from backroom_reporting.rendering.model import Column, KpiCard, Report, Section, ValueKind

Variant = Literal["web", "email", "print"]
VARIANTS: tuple[Variant, ...] = ("web", "email", "print")
LONDON = ZoneInfo("Europe/London")
MISSING = "—"
# Kinds shown right-aligned in tables and summed or averaged in totals rows.
NUMERIC_KINDS = frozenset({"count", "money", "percent", "number", "score", "hour"})
STATUS_LABELS = {"on_target": "On target", "warning": "Warning", "critical": "Critical", None: "No target"}
TONE_LABELS = {"info": "Note", "good": "Good", "warning": "Warning", "critical": "Critical"}
TREND_ARROWS = {"up": "▲", "down": "▼", "flat": "▶"}
# KPI cards round money of £1,000 or more to whole pounds: the pence are noise at that size.
WHOLE_POUNDS_FROM_PENCE = 100_000
STYLESHEET = "report.css"
TEMPLATE = "report.html.j2"


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
    return MISSING if _missing(count) else f"{round(count):,}"


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


def change_tone(change: float | None, lower_is_better: bool) -> str:
    """good, bad or flat: whether a movement is welcome depends on the KPI's direction."""
    if _missing(change) or change == 0:
        return "flat"
    return "good" if (change > 0) != lower_is_better else "bad"


def trend_tone(trend: str, lower_is_better: bool) -> str:
    return change_tone({"up": 1, "down": -1}.get(trend, 0), lower_is_better)


def column_total(frame: pl.DataFrame, column: Column) -> float | int | None:
    """The totals-row value of a column, computed (not a formula): sum or mean of non-null values."""
    if column.total is None or frame.is_empty():
        return None
    values = frame.get_column(column.key).drop_nulls()
    if values.dtype.is_float():
        values = values.drop_nans()
    if values.is_empty():
        return None
    return values.sum() if column.total == "sum" else values.mean()


def totals_row(section: Section) -> dict[str, float | int | None]:
    return {c.key: column_total(section.table, c) for c in section.columns}


def table_rows(section: Section) -> list[dict[str, Any]]:
    return [] if section.table is None else list(section.table.iter_rows(named=True))


def comparison_labels(cards: tuple[KpiCard, ...]) -> list[str]:
    """Every comparison label of the cards, in order of first appearance."""
    return list(dict.fromkeys(label for card in cards for label in card.comparisons))


def cell_class(kind: ValueKind) -> str:
    return "num" if kind in NUMERIC_KINDS else kind


def filters_text(filters: Mapping[str, str]) -> str:
    return ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in filters.items()) or "None"


def _layouts_dir(layouts_dir: Path | str | None) -> Path:
    return Path(layouts_dir if layouts_dir is not None else settings.LAYOUTS_DIR.get()).resolve()


@functools.lru_cache(maxsize=8)
def environment(layouts_dir: Path) -> jinja2.Environment:
    """The Jinja2 environment over `<layouts_dir>/templates`, with the formatting filters."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(layouts_dir / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        value=format_value,
        money=format_money,
        percent=format_percent,
        count=format_count,
        score=format_score,
        hour=format_hour,
        date=format_date,
        timestamp=format_timestamp,
        change=format_change,
    )
    env.globals.update(
        totals_row=totals_row,
        table_rows=table_rows,
        comparison_labels=comparison_labels,
        change_tone=change_tone,
        trend_tone=trend_tone,
        cell_class=cell_class,
        filters_text=filters_text,
        STATUS_LABELS=STATUS_LABELS,
        TONE_LABELS=TONE_LABELS,
        TREND_ARROWS=TREND_ARROWS,
    )
    return env


def render_html(
    report: Report, variant: Variant, charts: Mapping[str, str], layouts_dir: Path | str | None = None
) -> str:
    """The report as one HTML document of `variant`.

    `charts` maps a chart section's key to its markup, ready to embed: inline SVG for the
    email and print variants, plotly's interactive HTML for the web variant.
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown HTML variant {variant!r}; one of {', '.join(VARIANTS)}")
    folder = _layouts_dir(layouts_dir)
    html = (
        environment(folder)
        .get_template(TEMPLATE)
        .render(
            report=report,
            variant=variant,
            charts={key: Markup(markup) for key, markup in charts.items()},
            stylesheet=Markup((folder / STYLESHEET).read_text(encoding="utf-8")),
            generated=format_timestamp(report.generated_at),
        )
    )
    if variant == "email":
        # Mail clients drop <style> blocks and CSS variables: every rule goes onto its elements,
        # and width attributes are set for the clients (Outlook) that ignore CSS widths.
        return css_inline.inline(
            html,
            load_remote_stylesheets=False,
            resolve_css_variables=True,
            apply_width_attributes=True,
        )
    return html
