"""A report as the body of an email: the email HTML variant with its charts as PNG images
referenced by `cid:`, and the same report in plain text for the text/plain alternative.

Gmail and Outlook show neither <style> blocks nor inline SVG: the HTML has every style inlined
(rendering/html.py) and each chart as an <img> whose image travels in the message as a
related part with the Content-ID the `cid:` names.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

from markupsafe import escape

from backroom_reporting.rendering.charts import ChartRenderer
from backroom_reporting.rendering.formats import chart_sections
from backroom_reporting.rendering.formatting import format_kpi_change, format_timestamp, format_value
from backroom_reporting.rendering.html import TONE_LABELS, render_html, table_rows, totals_row
from backroom_reporting.rendering.model import STATUS_LABELS, KpiCard, Report, Section

# The width a chart is shown at inside the 680 px email body (its cell has padding).
CHART_WIDTH = 640
TEXT_WIDTH = 78


@dataclass(frozen=True)
class ChartImage:
    cid: str  # the Content-ID without its angle brackets: chart-<section key>@backroom
    name: str  # chart-<section key>.png
    png: bytes


@dataclass(frozen=True)
class EmailBody:
    html: str
    text: str
    images: tuple[ChartImage, ...]


def chart_cid(section_key: str) -> str:
    return f"chart-{section_key}@backroom"


def chart_image_tag(cid: str, title: str) -> str:
    return (
        f'<img src="cid:{escape(cid)}" alt="{escape(title)}" width="{CHART_WIDTH}" '
        f'style="display: block; width: 100%; max-width: {CHART_WIDTH}px; height: auto; border: 0;">'
    )


def render_email(report: Report, charts: ChartRenderer, layouts_dir: Path | str | None = None) -> EmailBody:
    """The report's email body: inlined HTML with `cid:` chart images, plain text, the PNGs."""
    sections = chart_sections(report)
    images = tuple(
        ChartImage(chart_cid(s.key), f"chart-{s.key}.png", charts.png(s.chart, s.key)) for s in sections
    )
    markup = {s.key: chart_image_tag(image.cid, s.title) for s, image in zip(sections, images, strict=True)}
    return EmailBody(render_html(report, "email", markup, layouts_dir), report_text(report), images)


def report_text(report: Report) -> str:
    """The report in plain text: every figure the HTML shows, charts said in words."""
    heading = [report.title.upper(), f"{report.venue_name} · {report.period_label}"]
    generated = f"Generated {format_timestamp(report.generated_at)}"
    if report.filters.get("brand"):
        generated += f" · {report.filters['brand']} nights only"
    blocks = ["\n".join([*heading, generated])]
    if not report.trading:
        blocks.append(
            _wrapped(
                f"No trading. {report.venue_name} did not trade in this period: "
                "the doors and the bar stayed closed."
            )
        )
    blocks.extend(_wrapped(f"Warning: {warning}") for warning in report.warnings)
    blocks.extend(_section_text(section) for section in report.sections)
    blocks.append(
        _wrapped(
            f"{report.title} for {report.venue_name}, {report.period_label}. Money in pounds sterling; "
            "rates as a share of their base; “—” where a figure is undefined."
        )
    )
    return "\n\n".join(blocks) + "\n"


def _wrapped(text: str, indent: str = "") -> str:
    return textwrap.fill(text, TEXT_WIDTH, initial_indent=indent, subsequent_indent=" " * len(indent))


def _section_text(section: Section) -> str:
    lines = [section.title.upper()]
    if section.is_empty:
        return "\n".join([*lines, _wrapped(section.empty_note or "Nothing to show for this period.")])
    if section.caption:
        lines.append(_wrapped(section.caption))
    lines.extend(_wrapped(p) for p in section.paragraphs if section.chart is None)
    lines.extend(_wrapped(f"{TONE_LABELS[b.tone]}: {b.text}", "- ") for b in section.bullets)
    lines.extend(_card_text(card) for card in section.cards)
    if section.table is not None:
        lines.append(_table_text(section))
    if section.chart is not None:
        if section.chart.total_note:
            lines.append(_wrapped(section.chart.total_note))
        lines.extend(_wrapped(p) for p in section.paragraphs)
        lines.append("(The chart is in the HTML version of this email.)")
    return "\n".join(lines)


def _card_text(card: KpiCard) -> str:
    about = [STATUS_LABELS[card.status]]
    if card.target is not None:
        about.append(f"target {format_value(card.target, card.kind, short=True)}")
    about.extend(
        f"{format_kpi_change(card.value, card.earlier.get(label), card.kind)} {label}"
        for label in card.comparisons
    )
    return _wrapped(
        f"{card.name}: {format_value(card.value, card.kind, short=True)} ({'; '.join(about)})", "- "
    )


def _table_text(section: Section) -> str:
    """The table with its columns lined up (as far as the reader's font allows)."""
    rows = [[c.label for c in section.columns]]
    for row in table_rows(section):
        rows.append(
            [format_value(row[c.key], row[c.kind_from] if c.kind_from else c.kind) for c in section.columns]
        )
    if section.totals:
        totals = totals_row(section)
        rows.append(
            [
                format_value(totals[c.key], c.kind) if c.total else ("Total" if i == 0 else "")
                for i, c in enumerate(section.columns)
            ]
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(section.columns))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )
