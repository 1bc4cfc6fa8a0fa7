"""A report as an Excel workbook: an About sheet, then one sheet per section, named after it.

Each section's sheet holds one Excel table from A1 (header row, then data), ready to sort,
filter and pivot: every row starts with the venue and its date (tidy.py), no cells are merged.
Numbers are real numeric cells with number formats: money in pounds (`£#,##0.00`), rates as
fractions (`0.0%`), dates as Excel dates. Clock hours are whole numbers shown as 23:00 by the
format `00":00"`, so they stay sortable and filterable. Totals sit in the table's total row,
outside its data: SUBTOTAL formulas carrying their computed value, so viewers without a
calculation engine show them and a filter re-totals. Chart sections get a native Excel chart on
a chartsheet, drawn from their data's sheet.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from backroom_reporting.rendering.charts import PALETTE
from backroom_reporting.rendering.formatting import LONDON, format_kpi_change, format_timestamp, format_value
from backroom_reporting.rendering.html import (
    TONE_LABELS,
    column_total,
    comparison_labels,
    filters_text,
)
from backroom_reporting.rendering.model import (
    STATUS_LABELS,
    Chart,
    Column,
    KpiCard,
    Report,
    Section,
    ValueKind,
)
from backroom_reporting.rendering.tidy import row_context, section_columns, section_kinds, section_rows

NUMBER_FORMATS: dict[str, str] = {
    "money": "£#,##0.00",
    "percent": "0.0%",
    "count": "#,##0",
    "score": "0.00",
    "number": "#,##0.00",
    "hour": '00":00"',
    "date": "ddd d mmm yyyy",
}
WHOLE_NUMBER_FORMAT = "#,##0"
AVERAGED_COUNT_FORMAT = "#,##0.0"
CHANGE_FORMAT = "+0.0%;-0.0%;0.0%"
# A rate's change is in percentage points, stored as the number of points (-4.6).
POINTS_FORMAT = '+0.0" points";-0.0" points";0.0" points"'
AXIS_FORMATS = {"money": "£#,##0", "percent": "0%", "count": "#,##0", "score": "0.0"}
CHART_TYPES = {"bar": {"type": "column"}, "stacked_bar": {"type": "column", "subtype": "stacked"}}
INK, NAVY, BRASS, HEADER_FILL = "#1B2230", "#1F3A5F", "#9A7330", "#F1F3F6"
STATUS_COLOURS = {  # font, fill
    "on_target": ("#1E7B4B", "#E6F3EA"),
    "below_target": (NAVY, "#F5F6F8"),
    "warning": ("#9A5B00", "#FCF0D9"),
    "critical": ("#B42318", "#FCE9E7"),
    None: ("#6B7482", "#EEF0F3"),
}
TONE_COLOURS = {"info": NAVY, "good": "#1E7B4B", "warning": "#9A5B00", "critical": "#B42318"}
TREND_WORDS = {"up": "▲ Up", "down": "▼ Down", "flat": "▶ Flat", None: ""}
SHEET_NAME_MAX = 31
NOT_IN_SHEET_NAMES = re.compile(r"[\[\]:*?/\\]")
MIN_WIDTH, MAX_WIDTH = 8, 60


class _Styles:
    """xlsxwriter formats, made once per distinct set of properties."""

    def __init__(self, workbook: Workbook):
        self.workbook = workbook
        self._made: dict[tuple, Format] = {}

    def __call__(self, **properties: Any) -> Format:
        key = tuple(sorted(properties.items()))
        if key not in self._made:
            self._made[key] = self.workbook.add_format(
                {"font_name": "Calibri", "font_size": 11, **properties}
            )
        return self._made[key]

    def header(self) -> Format:
        return self(
            bold=True, font_color=INK, bg_color=HEADER_FILL, bottom=2, text_wrap=True, valign="bottom"
        )

    def value(self, kind: ValueKind, whole: bool = False, **extra: Any) -> Format:
        number_format = WHOLE_NUMBER_FORMAT if whole and kind == "number" else NUMBER_FORMATS.get(kind)
        return self(**({"num_format": number_format} if number_format else {}), **extra)

    def kpi_value(self, kind: ValueKind, value: float | None) -> Format:
        """A KPI figure's format: a count averaged over nights (2.75 VIP visits) keeps a decimal."""
        if kind == "count" and value is not None and value != round(value):
            return self(num_format=AVERAGED_COUNT_FORMAT)
        return self.value(kind)


def _shortened(text: str, limit: int) -> str:
    """`text` in at most `limit` characters, cut at a word with an ellipsis when too long."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut).rstrip(" ,;-") + "…"


def sheet_name(title: str, taken: set[str], suffix: str = "") -> str:
    """A valid, unique (case-insensitively, as Excel compares) sheet name of at most 31 characters."""
    clean = " ".join(NOT_IN_SHEET_NAMES.sub(" ", title).split()).strip(" '")
    for n in range(1, 100):
        tail = suffix if n == 1 else f"{suffix} ({n})"
        name = (_shortened(clean, SHEET_NAME_MAX - len(tail)) + tail).strip(" '")
        if name.lower() not in taken:
            taken.add(name.lower())
            return name
    raise ValueError(f"no free sheet name for {title!r}")


def excel_value(value: Any, kind: ValueKind) -> Any:
    """A warehouse value as Excel stores it: pounds from pence, London wall-clock datetimes."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if kind == "money" and isinstance(value, int | float):
        return value / 100
    if isinstance(value, dt.datetime) and value.tzinfo is not None:  # Excel has no time zones
        return value.astimezone(LONDON).replace(tzinfo=None)
    return value


def _write(sheet: Worksheet, row: int, col: int, value: Any, style: Format) -> None:
    if value is None:
        sheet.write_blank(row, col, None, style)
    elif isinstance(value, bool):
        sheet.write_boolean(row, col, value, style)
    elif isinstance(value, dt.date | dt.datetime | dt.time):
        sheet.write_datetime(row, col, value, style)
    elif isinstance(value, int | float):
        sheet.write_number(row, col, value, style)
    else:
        sheet.write_string(row, col, str(value), style)


def _fit_widths(sheet: Worksheet, texts_by_column: Iterable[Iterable[str]]) -> None:
    for col, texts in enumerate(texts_by_column):
        longest = max((len(line) for text in texts for line in str(text).split("\n")), default=0)
        sheet.set_column(col, col, min(MAX_WIDTH, max(MIN_WIDTH, longest + 2)))


@dataclass(frozen=True)
class _Cell:
    value: Any
    style: Format
    shown: str  # as a reader sees it, to fit the column's width


def _unique(labels: list[str]) -> list[str]:
    """Excel tables need distinct headers (case-insensitively): a repeat gets a number."""
    seen: set[str] = set()
    out = []
    for label in labels:
        name, n = label, 1
        while name.lower() in seen:
            n += 1
            name = f"{label} ({n})"
        seen.add(name.lower())
        out.append(name)
    return out


def _write_data(
    sheet: Worksheet,
    styles: _Styles,
    section: Section,
    headers: list[str],
    rows: list[list[_Cell]],
    totals: list[dict[str, Any]] | None = None,
) -> None:
    """`rows` under `headers` as one Excel table from A1, with its total row when `totals` (one
    table column option each) are given; a section without rows gets the header and its note."""
    headers = _unique(headers)
    sheet.freeze_panes(1, 0)
    if not rows:
        for col, header in enumerate(headers):
            sheet.write_string(0, col, header, styles.header())
        note = section.empty_note or "Nothing to show for this period."
        sheet.write_string(2, 0, note, styles(italic=True, font_color="#6B7482"))
        _fit_widths(sheet, [[h] for h in headers])
        sheet.set_column(0, 0, max(40, len(note) + 2))
        return
    for row, cells in enumerate(rows, start=1):
        for col, cell in enumerate(cells):
            _write(sheet, row, col, cell.value, cell.style)
    options = [{"header": h, "header_format": styles.header()} for h in headers]
    if totals:
        options = [option | total for option, total in zip(options, totals, strict=True)]
    refused = sheet.add_table(
        0,
        0,
        len(rows) + (1 if totals else 0),
        len(headers) - 1,
        {
            "name": re.sub(r"\W|^(?=\d)", "_", f"{section.key}_table", flags=re.ASCII),
            "columns": options,
            "total_row": bool(totals),
            "style": "Table Style Light 1",
        },
    )
    if refused:  # xlsxwriter only warns: a sheet without its table is a broken report
        raise ValueError(f"section {section.key!r}: xlsxwriter refused its table ({refused})")
    _fit_widths(sheet, [[h, *(cells[col].shown for cells in rows)] for col, h in enumerate(headers)])


def _context_cells(styles: _Styles, context: tuple[tuple[Column, Any], ...]) -> list[_Cell]:
    return [
        _Cell(excel_value(value, column.kind), styles.value(column.kind), format_value(value, column.kind))
        for column, value in context
    ]


def _write_table(sheet: Worksheet, styles: _Styles, report: Report, section: Section) -> None:
    """A table's or chart's rows; the table's totals in the total row."""
    context = row_context(report, section)
    columns = section_columns(section)
    frame = section_rows(section)
    whole = {c.key: frame.schema[c.key].is_integer() for c in columns}
    cell_styles = [styles.value(c.kind, whole[c.key]) for c in columns]
    lead = _context_cells(styles, context)
    kinds = section_kinds(section)  # rows of different kinds (a KPI scorecard): each row's own format

    def cell(value: Any, column: Column, style: Format, kind: str | None) -> _Cell:
        if column.kind_from:
            return _Cell(excel_value(value, kind), styles.kpi_value(kind, value), format_value(value, kind))
        return _Cell(excel_value(value, column.kind), style, format_value(value, column.kind))

    rows = [
        [
            *lead,
            *(
                cell(value, column, style, kind)
                for value, column, style in zip(record, columns, cell_styles, strict=True)
            ),
        ]
        for record, kind in zip(frame.iter_rows(), kinds, strict=True)
    ]
    totals = None
    if section.kind == "table" and section.totals:
        label = {"total_string": "Total", "format": styles(bold=True)}
        totals = [label, *({} for _ in context[1:])]
        for column in columns:
            style = styles.value(column.kind, whole[column.key], bold=True)
            totals.append(
                {
                    "total_function": "sum" if column.total == "sum" else "average",
                    "total_value": excel_value(column_total(frame, column), column.kind) or 0,
                    "format": style,
                }
                if column.total
                else {}
            )
    headers = [column.label for column, _ in context] + [c.label for c in columns]
    _write_data(sheet, styles, section, headers, rows, totals)


def _write_summary(sheet: Worksheet, styles: _Styles, report: Report, section: Section) -> None:
    """Paragraphs, then the points with their tone, one a row."""
    context = row_context(report, section)
    lead = _context_cells(styles, context)
    wrapped = styles(text_wrap=True, valign="top")
    rows = [
        [
            *lead,
            _Cell("Paragraph", styles(valign="top"), "Paragraph"),
            _Cell(None, styles(), ""),
            _Cell(p, wrapped, ""),
        ]
        for p in section.paragraphs
    ]
    for bullet in section.bullets:
        tone = styles(bold=True, font_color=TONE_COLOURS[bullet.tone], valign="top")
        label = TONE_LABELS[bullet.tone]
        rows.append(
            [
                *lead,
                _Cell("Point", styles(valign="top"), "Point"),
                _Cell(label, tone, label),
                _Cell(bullet.text, wrapped, ""),
            ]
        )
    headers = [column.label for column, _ in context] + ["Part", "Tone", "Text"]
    _write_data(sheet, styles, section, headers, rows)
    if rows:
        sheet.set_column(len(headers) - 1, len(headers) - 1, 100)


def _write_metrics(sheet: Worksheet, styles: _Styles, report: Report, section: Section) -> None:
    """One KPI a row: value, target, status, each comparison (a rate's in percentage points,
    anything else's a signed fraction) and trend."""
    context = row_context(report, section)
    lead = _context_cells(styles, context)
    labels = comparison_labels(section.cards)
    headers = [
        *(column.label for column, _ in context),
        "KPI",
        "Value",
        "Target",
        "Status",
        *(f"Change {label}" for label in labels),
        "Trend",
        "Better when",
    ]
    rows = []
    for card in section.cards:
        font, fill = STATUS_COLOURS[card.status]
        status = STATUS_LABELS[card.status]
        better = "Lower" if card.lower_is_better else "Higher"
        rows.append(
            [
                *lead,
                _Cell(card.name, styles(), card.name),
                _Cell(
                    excel_value(card.value, card.kind),
                    styles.kpi_value(card.kind, card.value),
                    format_value(card.value, card.kind),
                ),
                _Cell(
                    excel_value(card.target, card.kind),
                    styles.kpi_value(card.kind, card.target),
                    format_value(card.target, card.kind),
                ),
                _Cell(status, styles(bold=True, font_color=font, bg_color=fill), status),
                *(_change_cell(card, label, styles) for label in labels),
                _Cell(TREND_WORDS[card.trend], styles(), TREND_WORDS[card.trend]),
                # How to read the changes.
                _Cell(better, styles(), better),
            ]
        )
    _write_data(sheet, styles, section, headers, rows)


def _change_cell(card: KpiCard, label: str, styles: _Styles) -> _Cell:
    shown = format_kpi_change(card.value, card.earlier.get(label), card.kind)
    if card.kind == "percent":
        earlier = card.earlier.get(label)
        points = None if card.value is None or earlier is None else (card.value - earlier) * 100
        return _Cell(points, styles(num_format=POINTS_FORMAT), shown)
    return _Cell(card.comparisons.get(label), styles(num_format=CHANGE_FORMAT), shown)


def _native_chart(workbook: Workbook, chart: Chart, title: str, data_sheet: str, x_column: int) -> Any:
    """An Excel chart of the chart section's data sheet, whose categories are in `x_column`
    and series in the columns after it, in the report's palette."""
    excel_chart = workbook.add_chart(CHART_TYPES.get(chart.kind, {"type": "line"}))
    last = chart.data.height
    for n in range(len(chart.series)):
        column = x_column + 1 + n
        colour = PALETTE[n % len(PALETTE)]
        look = (
            {
                "line": {"color": colour, "width": 2.25},
                "marker": {
                    "type": "circle",
                    "size": 5,
                    "fill": {"color": colour},
                    "border": {"color": colour},
                },
            }
            if chart.kind == "line"
            else {"fill": {"color": colour}, "border": {"none": True}, "gap": 60}
        )
        excel_chart.add_series(
            {
                "name": [data_sheet, 0, column],
                "categories": [data_sheet, 1, x_column, last, x_column],
                "values": [data_sheet, 1, column, last, column],
                **look,
            }
        )
    excel_chart.set_title({"name": title, "name_font": {"size": 14, "bold": True, "color": NAVY}})
    # Category labels formatted as the data sheet shows them, for viewers that read the cache.
    x_format = {"hour": NUMBER_FORMATS["hour"], "date": "ddd d mmm"}.get(chart.x.kind)
    excel_chart.set_x_axis(
        {
            "name": chart.x.label,
            "line": {"color": "#B9C0CA"},
            **({"num_format": x_format} if x_format else {}),
        }
    )
    first_kind = chart.series[0].kind if chart.series else "number"
    excel_chart.set_y_axis(
        {
            "name": chart.y_title or None,
            "num_format": AXIS_FORMATS.get(first_kind, "General"),
            "major_gridlines": {"visible": True, "line": {"color": "#E6E9EE"}},
            "line": {"none": True},
        }
    )
    excel_chart.set_legend({"position": "bottom"} if len(chart.series) > 1 else {"none": True})
    excel_chart.show_blanks_as("gap")
    return excel_chart


def _write_about(
    sheet: Worksheet, styles: _Styles, report: Report, contents: list[tuple[str, str, bool]]
) -> None:
    """The cover: what the report is, for whom and when, and a linked list of its sheets."""
    sheet.set_column(0, 0, 24)
    sheet.set_column(1, 1, 72)
    sheet.write_string(0, 0, report.title, styles(bold=True, font_size=20, font_color=NAVY))
    sheet.write_string(1, 0, report.venue_name, styles(bold=True, font_color=BRASS))
    label = styles(bold=True, font_color="#434C5B", valign="top")
    date = styles(num_format=NUMBER_FORMATS["date"], align="left")
    rows: list[tuple[str, Any, Format]] = [
        ("Venue", f"{report.venue_name} ({report.venue_id})", styles()),
        ("Period", report.period_label, styles()),
        ("First day", report.first_day, date),
        ("Last day", report.last_day, date),
        ("Generated", format_timestamp(report.generated_at), styles()),
        ("Template", report.template_key, styles()),
        ("Template version", report.template_version, styles()),
        ("Filters", filters_text(report.filters), styles(text_wrap=True)),
        (
            "Trading",
            "Yes" if report.trading else "No: the venue did not trade in this period",
            styles() if report.trading else styles(bold=True, font_color=STATUS_COLOURS["warning"][0]),
        ),
        *(
            ("Warning", w, styles(text_wrap=True, font_color=STATUS_COLOURS["warning"][0]))
            for w in report.warnings
        ),
        (
            "Units",
            "Money in pounds; rates as percentages; blank where a figure is undefined; "
            "totals in each table's total row",
            styles(text_wrap=True),
        ),
    ]
    row = 3
    for name, value, style in rows:
        sheet.write_string(row, 0, name, label)
        _write(sheet, row, 1, value, style)
        row += 1
    row += 1
    sheet.write_string(row, 0, "Sheet", styles.header())
    sheet.write_string(row, 1, "Contents", styles.header())
    for name, description, is_worksheet in contents:
        row += 1
        if is_worksheet:
            sheet.write_url(row, 0, f"internal:'{name}'!A1", styles(font_color=NAVY, underline=1), name)
        else:
            sheet.write_string(row, 0, name)
        sheet.write_string(row, 1, description)


def render_xlsx(report: Report) -> bytes:
    """The workbook's bytes."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    workbook.set_properties(
        {
            "title": f"{report.title}: {report.period_label}",
            "subject": report.period_label,
            "author": report.venue_name,
            "company": report.venue_name,
            "comments": f"Template {report.template_key} version {report.template_version}",
            # The generation time, not the wall clock, so the same report gives the same bytes.
            "created": report.generated_at.astimezone(dt.UTC).replace(tzinfo=None),
        }
    )
    styles = _Styles(workbook)
    taken = {"about"}
    about = workbook.add_worksheet("About")
    contents: list[tuple[str, str, bool]] = []
    for section in report.sections:
        if section.kind == "chart" and not section.is_empty:
            chart_name = sheet_name(section.title, taken, " chart")
            data_name = sheet_name(section.title, taken)
            x_column = len(row_context(report, section))
            workbook.add_chartsheet(chart_name).set_chart(
                _native_chart(workbook, section.chart, section.title, data_name, x_column)
            )
            _write_table(workbook.add_worksheet(data_name), styles, report, section)
            contents += [
                (chart_name, f"{section.title} (chart)", False),
                (data_name, f"{section.title} (data)", True),
            ]
            continue
        name = sheet_name(section.title, taken)
        sheet = workbook.add_worksheet(name)
        contents.append((name, section.title, True))
        if section.kind == "summary":
            _write_summary(sheet, styles, report, section)
        elif section.kind == "metrics":
            _write_metrics(sheet, styles, report, section)
        else:
            _write_table(sheet, styles, report, section)
    _write_about(about, styles, report, contents)
    about.activate()
    workbook.close()
    return buffer.getvalue()
