"""A report as CSV, one file per section, for people who load the figures elsewhere.

Every row starts with `venue_id`, `venue_name` and its date (see tidy.py): `business_date`,
or `period_start` and `period_end`. Column names are the warehouse's, in snake_case, with the
unit as a suffix when there is one: money is integer pence (`_pence`; means rounded to the
penny), rates are percentages with two decimals (`_pct`: 12.34 is 12.34%). Dates are ISO
8601, empty is null; UTF-8 without a byte-order mark; no totals row (a consumer sums what it
needs).

- table and chart sections: their rows;
- metrics: one row per KPI, with its `unit` (pence, pct, count, score, number), value,
  target, status, trend, which way is better and each comparison (`change_<label>_pct`);
- summary: one row per paragraph and per point, with its tone.

One file is returned as it is; several are zipped as `<nn>_<section key>.csv`, with fixed
entry timestamps so the same data always gives the same bytes.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
import zipfile
from typing import Any

from backroom_reporting.rendering.html import comparison_labels
from backroom_reporting.rendering.model import Column, Report, Section, ValueKind
from backroom_reporting.rendering.tidy import (
    has_own_venue,
    row_context,
    section_columns,
    section_kinds,
    section_rows,
)

# The earliest time a zip entry can carry: fixed, so equal data gives equal archives.
ZIP_ENTRY_TIME = (1980, 1, 1, 0, 0, 0)
UNITS: dict[str, str] = {"money": "pence", "percent": "pct"}
SUMMARY_HEADER = ("part", "tone", "text")


def csv_value(value: Any, kind: ValueKind = "text") -> Any:
    """A value as written: pence whole, rates in percent, dates ISO, empty for null."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if kind == "money" and isinstance(value, int | float):
        return round(value)
    if kind == "percent" and isinstance(value, int | float):
        return round(value * 100, 2)
    return value


def column_name(column: Column) -> str:
    """The column's key with its unit: `deposits_pence`, `occupancy_rate_pct`."""
    unit = UNITS.get(column.kind)
    return column.key if unit is None or column.key.endswith(f"_{unit}") else f"{column.key}_{unit}"


def _slug(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")


def section_table(report: Report, section: Section) -> tuple[list[str], list[list[Any]]]:
    """The header and rows of a section's file."""
    context = row_context(report, section)
    own = has_own_venue(section)  # then each row's venue_id column says whose
    header = [*([] if own else ["venue_id"]), *(column.key for column, _ in context)]
    lead = [
        *([] if own else [report.venue_id]),
        *(csv_value(value, column.kind) for column, value in context),
    ]
    if section.kind == "summary":
        rows = [[*lead, "paragraph", "", text] for text in section.paragraphs]
        rows += [[*lead, "point", bullet.tone, bullet.text] for bullet in section.bullets]
        return [*header, *SUMMARY_HEADER], rows
    if section.kind == "metrics":
        labels = comparison_labels(section.cards)
        header += ["kpi_key", "kpi", "unit", "value", "target", "status", "trend", "better_when"]
        header += [f"change_{_slug(label)}_pct" for label in labels]
        rows = [
            [
                *lead,
                card.key,
                card.name,
                UNITS.get(card.kind, card.kind),
                csv_value(card.value, card.kind),
                csv_value(card.target, card.kind),
                card.status or "",
                card.trend or "",
                "lower" if card.lower_is_better else "higher",
                *(csv_value(card.comparisons.get(label), "percent") for label in labels),
            ]
            for card in section.cards
        ]
        return header, rows
    columns = section_columns(section)
    kinds = section_kinds(section)
    if any(kinds):
        # Rows of different kinds (a KPI scorecard): warehouse units, and each row's unit.
        rows = [
            [
                *lead,
                *(
                    csv_value(v, kind if c.kind_from else c.kind)
                    for v, c in zip(record, columns, strict=True)
                ),
                UNITS.get(kind, kind),
            ]
            for record, kind in zip(section_rows(section).iter_rows(), kinds, strict=True)
        ]
        return [*header, *(c.key for c in columns), "unit"], rows
    rows = [
        [*lead, *(csv_value(v, c.kind) for v, c in zip(record, columns, strict=True))]
        for record in section_rows(section).iter_rows()
    ]
    return [*header, *(column_name(c) for c in columns)], rows


def table_csv(header: list[str], rows: list[list[Any]]) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text)  # RFC 4180: comma, double quotes, CRLF
    writer.writerow(header)
    writer.writerows(rows)
    return text.getvalue().encode("utf-8")


def render_csv(report: Report) -> tuple[str, bytes]:
    """(extension, bytes): "csv" for a report of one section, else "zip"."""
    files = [
        (f"{number:02d}_{section.key}.csv", table_csv(*section_table(report, section)))
        for number, section in enumerate(report.sections, start=1)
    ]
    if not files:
        raise ValueError(f"{report.template_key}: no section to export as CSV")
    if len(files) == 1:
        return "csv", files[0][1]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for name, content in files:
            entry = zipfile.ZipInfo(name, date_time=ZIP_ENTRY_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            zipped.writestr(entry, content)
    return "zip", archive.getvalue()
