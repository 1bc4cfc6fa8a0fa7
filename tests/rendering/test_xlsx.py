"""The Excel workbook read back with openpyxl, sheet by sheet, as someone pivoting it would.

One Excel table per section from A1: a header row, then data rows that each name the venue
and their date, numbers as numbers with formats, totals in the table's total row (outside the
data), sheet names from the section titles, nothing merged.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re
import zipfile

import openpyxl
import pytest
from openpyxl.chartsheet import Chartsheet
from openpyxl.worksheet.cell_range import CellRange
from openpyxl.worksheet.worksheet import Worksheet

from backroom_reporting.rendering.excel import render_xlsx, sheet_name
from backroom_reporting.rendering.model import Report, Section

from .builders import (
    CARDS,
    EVENTS,
    HOURLY,
    closed_report,
    daily_report,
    summary_section,
    weekly_report,
)

HOURLY_HEADER = ["Venue", "Business date", "Hour", "Check-ins", "Bar revenue", "Table revenue", "Occupancy"]
REPORTS = {"daily": daily_report, "weekly": weekly_report, "closed": closed_report}
NUMERIC = {"count", "money", "percent", "number", "score", "hour"}


# The hourly table's sheet: venue and date lead every row.
HOUR_BY_HOUR_HEADER = [
    "Venue",
    "Business date",
    "Hour",
    "Check-ins",
    "Bar revenue",
    "Table revenue",
    "Occupancy",
]


def workbook(report: Report, values: bool = False) -> openpyxl.Workbook:
    """The workbook; with `values`, formulas read as the values they carry."""
    return openpyxl.load_workbook(io.BytesIO(render_xlsx(report)), data_only=values)


def read_table(sheet: Worksheet) -> tuple[list, list[tuple], tuple | None]:
    """(header, data rows, total row) of the sheet's one table; a sheet without a table (an
    empty section) gives its header row and no rows."""
    if not sheet.tables:
        return [c.value for c in sheet[1] if c.value is not None], [], None
    [table] = sheet.tables.values()
    bounds = CellRange(table.ref)
    assert (bounds.min_row, bounds.min_col) == (1, 1)  # from A1
    rows = list(sheet.iter_rows(min_row=1, max_row=bounds.max_row, max_col=bounds.max_col, values_only=True))
    totals = rows.pop() if table.totalsRowCount else None
    return list(rows[0]), rows[1:], totals


def own_date(section: Section) -> str | None:
    """The label of the section's own night column, if it has one."""
    if section.kind == "chart" and section.chart is not None and section.chart.x.kind == "date":
        return section.chart.x.label
    return next((c.label for c in section.columns if c.key == "business_date"), None)


def sheet_of(book: openpyxl.Workbook, section: Section) -> Worksheet:
    return book[section.title[:31]] if len(section.title) <= 31 else book[sheet_name(section.title, set())]


@pytest.mark.parametrize("which", REPORTS)
def test_every_section_is_one_table_whose_rows_name_the_venue_and_the_date(which):
    report = REPORTS[which]()
    book = workbook(report)
    for section in report.sections:
        sheet = sheet_of(book, section)
        header, rows, _ = read_table(sheet)
        assert header[0] == "Venue", section.key
        if own_date(section):
            dates = {own_date(section): None}  # each row's own night
        elif report.first_day == report.last_day:
            dates = {"Business date": report.first_day}
        else:
            dates = {"Period start": report.first_day, "Period end": report.last_day}
        assert set(dates) <= set(header), (section.key, header)
        for row in rows:
            assert row[0] == report.venue_name
            for label, day in dates.items():
                value = row[header.index(label)]
                assert isinstance(value, dt.datetime), (section.key, label, value)
                assert day is None or value.date() == day
            assert "Total" not in row  # totals are never data
        assert not sheet.merged_cells.ranges
        assert sheet.freeze_panes == "A2"
        assert rows or sheet["A3"].value == (section.empty_note or "Nothing to show for this period.")


@pytest.mark.parametrize("which", REPORTS)
def test_figures_are_numbers(which):
    report = REPORTS[which]()
    book = workbook(report)
    for section in report.sections:
        columns = (section.chart and (section.chart.x, *section.chart.series)) or section.columns
        header, rows, _ = read_table(sheet_of(book, section))
        for column in columns:
            if column.kind in NUMERIC:
                values = [row[header.index(column.label)] for row in rows]
                assert all(v is None or isinstance(v, int | float) for v in values), (section.key, column.key)


def test_money_is_pounds_from_pence_and_rates_are_fractions_with_formats():
    sheet = workbook(daily_report())["Hour by Hour"]
    header, rows, _ = read_table(sheet)
    assert header == HOUR_BY_HOUR_HEADER
    assert all(c.font.bold for c in sheet[1])
    assert [row[2:] for row in rows] == [
        (hour, check_ins, bar / 100, table / 100, occupancy)
        for hour, check_ins, bar, table, occupancy in HOURLY.iter_rows()
    ]
    _, date, hour, check_ins, bar, table, occupancy = sheet[2]
    assert date.is_date and date.number_format == "ddd d mmm yyyy"
    assert hour.number_format == '00":00"'
    assert check_ins.number_format == "#,##0"
    assert bar.number_format == table.number_format == "£#,##0.00"
    assert occupancy.number_format == "0.0%"
    assert sheet["D7"].value is None  # a null is an empty cell
    assert sheet.column_dimensions["E"].width >= len("£12,345.67")


def test_totals_are_in_the_tables_total_row_outside_its_data():
    report = daily_report()
    book, values = workbook(report), workbook(report, values=True)
    [table] = book["Hour by Hour"].tables.values()
    assert table.ref == f"A1:G{HOURLY.height + 2}" and table.totalsRowCount == 1
    assert table.autoFilter.ref == f"A1:G{HOURLY.height + 1}"  # filters and sorts the data only
    _, rows, totals = read_table(values["Hour by Hour"])
    assert len(rows) == HOURLY.height
    occupancy = [v for v in HOURLY["occupancy_rate"] if v is not None]
    assert totals[:6] == (
        "Total",
        None,
        None,
        sum(v for v in HOURLY["check_ins"] if v is not None),
        sum(HOURLY["bar_revenue_pence"]) / 100,
        sum(HOURLY["table_revenue_pence"]) / 100,
    )
    assert totals[6] == pytest.approx(sum(occupancy) / len(occupancy))
    # A formula over the column, so a filtered table totals what it shows.
    assert book["Hour by Hour"]["E8"].value == "=SUBTOTAL(109,[Bar revenue])"
    assert book["Hour by Hour"]["G8"].value == "=SUBTOTAL(101,[Occupancy])"
    [events] = book["Events Tonight"].tables.values()
    assert not events.totalsRowCount  # the layout asks for no totals


def test_event_rows_keep_their_own_night():
    sheet = workbook(daily_report())["Events Tonight"]
    header, rows, _ = read_table(sheet)
    assert header == ["Venue", "Event", "Night", "Tickets", "Ticket revenue", "Satisfaction"]
    assert [row[1:] for row in rows] == [
        (name, dt.datetime.combine(night, dt.time()), tickets, revenue / 100, score)
        for name, night, tickets, revenue, score in EVENTS.iter_rows()
    ]
    assert sheet["C2"].number_format == "ddd d mmm yyyy"


def test_kpis_are_a_table_of_values_targets_and_statuses():
    header, rows, _ = read_table(workbook(daily_report())["Headline KPIs"])
    assert header == [
        "Venue",
        "Business date",
        "KPI",
        "Value",
        "Target",
        "Status",
        "Change vs same night last week",
        "Change vs last year",
        "Trend",
        "Better when",
    ]
    by_name = {row[2]: row for row in rows}
    assert list(by_name) == [card.name for card in CARDS]
    for card in CARDS:
        row = by_name[card.name]
        scale = 100 if card.kind == "money" else 1
        assert row[3] == card.value / scale
        assert row[4] == (None if card.target is None else card.target / scale)
        if card.kind == "percent":  # a rate's change is in percentage points
            earlier = card.earlier.get("vs same night last week")
            assert row[6] == (None if earlier is None else pytest.approx((card.value - earlier) * 100))
        else:
            assert row[6] == card.comparisons.get("vs same night last week")
        assert row[9] == ("Lower" if card.lower_is_better else "Higher")
    assert by_name["No-show rate"][5] == "Critical" and by_name["Satisfaction"][5] == "No target"


def test_summaries_are_rows_of_paragraphs_and_points():
    header, rows, _ = read_table(workbook(daily_report())["Executive Summary"])
    assert header == ["Venue", "Business date", "Part", "Tone", "Text"]
    summary = summary_section()
    assert [row[2:] for row in rows] == [
        *(("Paragraph", None, p) for p in summary.paragraphs),
        *(("Point", b.tone.capitalize().replace("Info", "Note"), b.text) for b in summary.bullets),
    ]


def test_a_chart_has_its_chartsheet_drawn_from_its_data_sheet():
    report = daily_report()
    content = render_xlsx(report)
    book = openpyxl.load_workbook(io.BytesIO(content))
    charts = [s.title for s in book._sheets if isinstance(s, Chartsheet)]
    assert charts == ["Revenue by Hour chart", "Occupancy, Last Four… chart"]
    header, rows, _ = read_table(book["Revenue by Hour"])
    assert header == ["Venue", "Business date", "Hour", "Bar revenue", "Table revenue"]
    assert len(rows) == HOURLY.height
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        chart = archive.read("xl/charts/chart1.xml").decode()
    # Categories are the hours (column C), the series the revenue columns after them.
    last = HOURLY.height + 1
    assert f"'Revenue by Hour'!$C$2:$C${last}" in chart
    assert f"'Revenue by Hour'!$D$2:$D${last}" in chart and f"'Revenue by Hour'!$E$2:$E${last}" in chart


def test_sheet_names_are_the_section_titles_short_unique_and_valid():
    sections = (
        Section("a", "Revenue: Bar/Tables [£]", "summary", paragraphs=("x",)),
        Section("b", "Revenue Bar Tables £", "summary", paragraphs=("x",)),
        Section("c", "Weekly Overview with Comparisons and Much More", "summary", paragraphs=("x",)),
        Section("d", "About", "summary", paragraphs=("x",)),
    )
    book = workbook(daily_report(sections=sections))
    names = book.sheetnames
    assert names == [
        "About",
        "Revenue Bar Tables £",
        "Revenue Bar Tables £ (2)",
        "Weekly Overview with…",
        "About (2)",
    ]
    assert all(len(n) <= 31 and not re.search(r"[\[\]:*?/\\]", n) for n in names)
    assert len({n.lower() for n in names}) == len(names)


def test_about_sheet_describes_the_report_and_lists_warnings():
    report = dataclasses.replace(closed_report(), warnings=("3 source rows were quarantined.",))
    book = workbook(report)
    rows = list(book["About"].iter_rows(values_only=True))
    about = {row[0]: row[1] for row in rows if row[0]}
    assert about["Generated"] == "Sun 22 Nov 2026, 06:15 GMT"
    assert about["First day"] == dt.datetime(2026, 11, 23)
    assert about["Trading"].startswith("No")
    assert ("Warning", "3 source rows were quarantined.") in rows
    assert all(any(s.title in str(v) for v in about.values()) for s in report.sections)


def test_a_night_without_trading_has_headers_and_notes_but_no_empty_rows():
    book = workbook(closed_report())
    header, rows, _ = read_table(book["Hour by Hour"])
    assert header == HOUR_BY_HOUR_HEADER
    assert rows == [] and book["Hour by Hour"]["A3"].value == "The doors did not open."
    assert book["Revenue by Hour"]["A3"].value == "No sales to chart."
    _, kpis, _ = read_table(book["Headline KPIs"])
    assert kpis == [
        ("The Backroom Leeds", dt.datetime(2026, 11, 23), "Gross revenue", 0, 12000, "Critical", "", "Higher")
    ]
