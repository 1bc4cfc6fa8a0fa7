"""A section's rows as the spreadsheet formats (Excel, CSV) lay them out: whose and when on
every row, so a sheet or file read on its own, or appended to others, still says it.

Every row starts with the venue, then its date: the row's own night when the section has
one (a `business_date` column, or a chart's date axis), else the report's period (its
business date for a day; its first and last day for a week or a month). A group report's
section with a row per venue (a `venue_id` column, holding the venue's name) says whose
in that column instead. Totals are never
rows of the data: a format adds them outside it, or leaves the sum to the reader.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from backroom_reporting.rendering.model import Column, Report, Section

VENUE = Column("venue_name", "Venue", "text")
BUSINESS_DATE = Column("business_date", "Business date", "date")
PERIOD_START = Column("period_start", "Period start", "date")
PERIOD_END = Column("period_end", "Period end", "date")
OWN_VENUE = "venue_id"  # a group report's row per venue


def section_columns(section: Section) -> tuple[Column, ...]:
    """A table's columns, or a chart's axis then its series."""
    if section.kind == "chart" and section.chart is not None:
        return (section.chart.x, *section.chart.series)
    return section.columns


def section_rows(section: Section) -> pl.DataFrame:
    """A table's or chart's rows, in its columns' order; no rows (but the columns) when empty."""
    columns = section_columns(section)
    frame = section.chart.data if section.kind == "chart" and section.chart is not None else section.table
    if frame is None:
        return pl.DataFrame(schema={c.key: pl.Null for c in columns})
    return frame.select(c.key for c in columns)


def section_kinds(section: Section) -> list[str | None]:
    """Each row's own kind, for a section whose rows differ in kind (a KPI scorecard: one
    KPI in money, the next a rate); None for every row otherwise."""
    source = next((c.kind_from for c in section_columns(section) if c.kind_from), None)
    frame = section.table if section.kind == "table" else None
    if source is None or frame is None:
        return [None] * section_rows(section).height
    return frame[source].to_list()


def has_own_date(section: Section) -> bool:
    columns = section_columns(section)
    chart_axis = section.kind == "chart" and bool(columns) and columns[0].kind == "date"
    return chart_axis or any(c.key == BUSINESS_DATE.key for c in columns)


def has_own_venue(section: Section) -> bool:
    return any(c.key == OWN_VENUE for c in section_columns(section))


def row_context(report: Report, section: Section) -> tuple[tuple[Column, Any], ...]:
    """The columns, with their one value, that every row of the section starts with."""
    venue = () if has_own_venue(section) else ((VENUE, report.venue_name),)
    if has_own_date(section):
        return venue
    if report.first_day == report.last_day:
        return *venue, (BUSINESS_DATE, report.first_day)
    return *venue, (PERIOD_START, report.first_day), (PERIOD_END, report.last_day)
