"""A Report as HTML, in three variants of one Jinja2 template set and one stylesheet.

- web: a single self-contained file (stylesheet in a <style>, interactive plotly charts);
- email: styles inlined onto the elements, charts as <img src="cid:…"> (rendering/email_body.py), no script;
- print: the input of WeasyPrint (static SVG charts, A4 pages, running header, page numbers).
Numbers are formatted by rendering/formatting.py, shared with the other formats.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import css_inline
import jinja2
import polars as pl
from markupsafe import Markup

from backroom_reporting import settings
from backroom_reporting.rendering.formatting import (
    change_tone,
    format_change,
    format_count,
    format_date,
    format_hour,
    format_kpi_change,
    format_money,
    format_percent,
    format_score,
    format_timestamp,
    format_value,
)
from backroom_reporting.rendering.model import STATUS_LABELS, Column, KpiCard, Report, Section, ValueKind

Variant = Literal["web", "email", "print"]
VARIANTS: tuple[Variant, ...] = ("web", "email", "print")
# Kinds shown right-aligned in tables and summed or averaged in totals rows.
NUMERIC_KINDS = frozenset({"count", "money", "percent", "number", "score", "hour"})
TONE_LABELS = {"info": "Note", "good": "Good", "warning": "Warning", "critical": "Critical"}
TREND_ARROWS = {"up": "▲", "down": "▼", "flat": "▶"}
STYLESHEET = "report.css"
TEMPLATE = "report.html.j2"


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
        kpi_change=format_kpi_change,
        trend_tone=trend_tone,
        cell_class=cell_class,
        STATUS_LABELS=STATUS_LABELS,
        TONE_LABELS=TONE_LABELS,
        TREND_ARROWS=TREND_ARROWS,
    )
    return env


def render_html(
    report: Report, variant: Variant, charts: Mapping[str, str], layouts_dir: Path | str | None = None
) -> str:
    """The report as one HTML document of `variant`.

    `charts` maps a chart section's key to its markup, ready to embed: an <img> of the PNG for
    the email variant, inline SVG for print, plotly's interactive HTML for the web variant.
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
