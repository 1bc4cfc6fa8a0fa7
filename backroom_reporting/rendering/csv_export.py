"""A report's tables as CSV, in warehouse units, for people who load them elsewhere.

One CSV per table section and per chart section (its data); headers are the column keys;
money in integer pence, rates as fractions, dates ISO 8601, empty for null; UTF-8 without
a byte-order mark; no totals row (a consumer sums what it needs). One file is returned as it
is; several are zipped as `<nn>_<section key>.csv`, with fixed entry timestamps so the same
data always gives the same bytes.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import zipfile
from typing import Any

import polars as pl

from backroom_reporting.rendering.model import Report, Section

EXPORTED_KINDS = ("table", "chart")
# The earliest time a zip entry can carry: fixed, so equal data gives equal archives.
ZIP_ENTRY_TIME = (1980, 1, 1, 0, 0, 0)


def csv_value(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    return value


def section_frame(section: Section) -> pl.DataFrame:
    """The rows a table or chart section exports, in its columns' order.

    A section without data still gives its file, so a report always has the same files; a
    table keeps its header, a chart without data (which carries no columns) is empty.
    """
    if section.kind == "chart":
        chart = section.chart
        return (
            pl.DataFrame()
            if chart is None
            else chart.data.select(chart.x.key, *(s.key for s in chart.series))
        )
    if section.table is None:
        return pl.DataFrame(schema={c.key: pl.Null for c in section.columns})
    # A column whose rows differ in kind carries that kind along (money: pence; percent: a fraction).
    kinds = [c.kind_from for c in section.columns if c.kind_from]
    return section.table.select(*(c.key for c in section.columns), *dict.fromkeys(kinds))


def frame_csv(frame: pl.DataFrame) -> bytes:
    if not frame.columns:
        return b""
    text = io.StringIO()
    writer = csv.writer(text)  # RFC 4180: comma, double quotes, CRLF
    writer.writerow(frame.columns)
    writer.writerows([csv_value(v) for v in row] for row in frame.iter_rows())
    return text.getvalue().encode("utf-8")


def render_csv(report: Report) -> tuple[str, bytes]:
    """(extension, bytes): "csv" for a report with one exportable section, else "zip"."""
    files = [
        (f"{number:02d}_{section.key}.csv", frame_csv(section_frame(section)))
        for number, section in enumerate(report.sections, start=1)
        if section.kind in EXPORTED_KINDS
    ]
    if not files:
        raise ValueError(f"{report.template_key}: no table or chart section to export as CSV")
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
