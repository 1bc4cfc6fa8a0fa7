"""A report as data: what the layout and the warehouse produced, before any format.

`build` fills a Report from a layout, a period and a subscription's filters; the format
renderers (HTML, PDF, Excel, CSV) turn the same Report into files. Nothing here knows
about files or Dagster.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

import polars as pl

SectionKind = Literal["summary", "metrics", "table", "chart"]
# How a value is shown: money is integer pence (shown as £), percent is a fraction.
ValueKind = Literal["text", "date", "hour", "count", "money", "percent", "number", "score"]
Tone = Literal["info", "good", "warning", "critical"]
# A KPI's status (metrics/kpis.py `status`, docs/metrics.md) and how every format names it.
Status = Literal["on_target", "below_target", "warning", "critical"]
STATUS_LABELS: dict[Status | None, str] = {
    "on_target": "On target",
    "below_target": "Below target",
    "warning": "Warning",
    "critical": "Critical",
    None: "No target",
}
Format = Literal["pdf", "html", "xlsx", "csv"]
FORMATS: tuple[Format, ...] = ("pdf", "html", "xlsx", "csv")
# What the store keeps besides the report's formats: an email body's plain text and chart images.
FileFormat = Literal[Format, "txt", "png"]
# A group report (every venue side by side, docs/reports.md "Group reports") goes by this id in
# its file names and this name on its cover; its history row has no venue_id.
GROUP, GROUP_NAME = "group", "All venues"


@dataclass(frozen=True)
class Column:
    """A column of a table section, or a series of a chart."""

    key: str  # the frame's column
    label: str
    kind: ValueKind = "number"
    # How the totals row sums this column: "sum", "mean", or None (left blank).
    total: Literal["sum", "mean"] | None = None
    # The frame column holding each row's kind, when rows differ (a KPI scorecard mixes money,
    # rates and counts); `kind` is then only the fallback.
    kind_from: str | None = None


@dataclass(frozen=True)
class Bullet:
    text: str
    tone: Tone = "info"
    # The recommendation rule that wrote it (R1..R9 of docs/reports.md): data, never printed.
    rule: str | None = None


@dataclass(frozen=True)
class KpiCard:
    key: str
    name: str
    kind: ValueKind  # how value and target are shown
    value: float | None
    target: float | None
    status: Status | None
    trend: Literal["up", "down", "flat"] | None = None
    lower_is_better: bool = False  # a fall is good news (no-show rate, cancellations)
    # Label -> relative change (0.12 = +12%), e.g. {"vs last week": 0.12}; None = no comparison.
    comparisons: dict[str, float | None] = field(default_factory=dict)
    # Label -> the earlier value compared with, for changes in points or pounds.
    earlier: dict[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Chart:
    kind: Literal["bar", "stacked_bar", "line"]
    data: pl.DataFrame
    x: Column
    series: tuple[Column, ...]
    y_title: str = ""
    # What the bars add up to, in words, so the chart can be checked against the figures.
    total_note: str = ""


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    kind: SectionKind
    paragraphs: tuple[str, ...] = ()  # summary: prose written from the data
    bullets: tuple[Bullet, ...] = ()  # summary: movements, warnings, recommendations
    cards: tuple[KpiCard, ...] = ()  # metrics
    table: pl.DataFrame | None = None  # table: rows, with `columns` saying how to show them
    columns: tuple[Column, ...] = ()
    totals: bool = False  # table: add a totals row from each column's `total`
    chart: Chart | None = None
    # Shown instead of empty content ("No events on this night.").
    empty_note: str | None = None
    # One line under the title saying what the rows are ("The last seven nights, ...").
    caption: str | None = None

    @property
    def is_empty(self) -> bool:
        return not (self.paragraphs or self.bullets or self.cards or self.chart is not None) and (
            self.table is None or self.table.is_empty()
        )


@dataclass(frozen=True)
class Report:
    template_key: str  # "daily_summary"
    title: str  # "Daily Summary"
    template_version: str  # the layout's content hash (short)
    venue_id: str  # GROUP for a group report
    venue_name: str
    period_kind: Literal["business_day", "business_week", "month"]
    first_day: dt.date
    last_day: dt.date
    period_label: str  # "Saturday 21 November 2026", "Week of 16 November 2026"
    generated_at: dt.datetime  # timezone-aware
    filters: dict[str, str]
    sections: tuple[Section, ...]
    # False when the venue did not trade in the period: the report says so plainly.
    trading: bool = True
    warnings: tuple[str, ...] = ()

    @property
    def file_stem(self) -> str:
        """A readable base name for files: daily_summary_backroom-leeds_2026-11-21."""
        day = (
            self.first_day.isoformat()
            if self.first_day == self.last_day
            else f"{self.first_day}_{self.last_day}"
        )
        return f"{self.template_key}_{self.venue_id}_{day}"


@dataclass(frozen=True)
class RenderedFile:
    format: FileFormat
    name: str  # file name, e.g. "daily_summary_backroom-leeds_2026-11-21.pdf"
    content: bytes
    media_type: str
