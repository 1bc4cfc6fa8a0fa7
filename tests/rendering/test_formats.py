"""Every format of hand-made reports with known figures: what a reader of each file sees."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import zipfile
from html.parser import HTMLParser

import openpyxl
import pypdf
import pytest
from openpyxl.chartsheet import Chartsheet

from backroom_reporting.rendering.excel import sheet_name
from backroom_reporting.rendering.formats import STAGES, render, render_email_html
from backroom_reporting.rendering.model import FORMATS

from .builders import EVENTS, HOURLY, closed_report, daily_report, single_table_report

TITLES = [s.title for s in daily_report().sections]


@pytest.fixture(scope="module")
def daily(chart_renderer, layouts_dir):
    files, seconds = render(daily_report(), FORMATS, chart_renderer, layouts_dir)
    return {f.format: f for f in files}, seconds


@pytest.fixture(scope="module")
def closed(chart_renderer, layouts_dir):
    files, _ = render(closed_report(), FORMATS, chart_renderer, layouts_dir)
    return {f.format: f for f in files}


@pytest.fixture(scope="module")
def email(chart_renderer, layouts_dir):
    return render_email_html(daily_report(), chart_renderer, layouts_dir)


def pdf_pages(content: bytes) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(content)).pages]


def workbook(content: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(content))


class Tags(HTMLParser):
    """Tags and attributes of a document (script bodies are not parsed as markup)."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_files_are_named_after_the_report_with_their_media_types(daily):
    files, _ = daily
    assert [f.name for f in files.values()] == [
        "daily_summary_backroom-leeds_2026-11-21.pdf",
        "daily_summary_backroom-leeds_2026-11-21.html",
        "daily_summary_backroom-leeds_2026-11-21.xlsx",
        "daily_summary_backroom-leeds_2026-11-21.zip",
    ]
    assert files["pdf"].media_type == "application/pdf"
    assert files["html"].media_type == "text/html; charset=utf-8"
    assert files["xlsx"].media_type == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert files["csv"].media_type == "application/zip"


def test_each_stage_is_timed(daily):
    _, seconds = daily
    assert list(seconds) == list(STAGES)
    assert all(s > 0 for s in seconds.values())


def test_pdf_shows_the_figures_formatted_under_a_running_header(daily):
    pages = pdf_pages(daily[0]["pdf"].content)
    text = "\n".join(pages)
    figures = ("£12,345.67", "£3,050.50", "£15,396", "12.3%", "4.21")
    # Changes in the KPI's units: money in £ and %, a rate in percentage points.
    changes = ("+£1,650 (+12%) vs same night last week", "+0.4 points vs same night last week")
    for figure in figures:
        assert figure in text
    for change in changes:  # a card's line may wrap
        assert change in " ".join(text.split())
    for number, page in enumerate(pages, start=1):
        assert "THE BACKROOM LEEDS" in page  # the header is set in capitals
        assert "Daily Summary · Saturday 21 November 2026" in page
        assert "Generated Sun 22 Nov 2026, 06:15 GMT" in page
        assert f"Page {number} of {len(pages)}" in page
    for title in TITLES:
        assert title in text
    assert "No staff shifts were recorded for this night." in text


def test_pdf_metadata_names_the_report(daily):
    info = pypdf.PdfReader(io.BytesIO(daily[0]["pdf"].content)).metadata
    assert info.title == "Daily Summary · The Backroom Leeds · Saturday 21 November 2026"
    assert info.creation_date == dt.datetime(2026, 11, 22, 6, 15, tzinfo=dt.UTC)


def test_xlsx_tables_are_numbers_with_formats(daily):
    book = workbook(daily[0]["xlsx"].content)
    sheet = book["3 Hour by Hour"]
    assert [c.value for c in sheet[1]] == ["Hour", "Check-ins", "Bar revenue", "Table revenue", "Occupancy"]
    assert all(c.font.bold for c in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:E7"
    hour, check_ins, bar, table, occupancy = sheet[2]
    assert (hour.value, hour.number_format) == (21, '00":00"')
    assert (check_ins.value, check_ins.number_format) == (40, "#,##0")
    assert (bar.value, bar.number_format) == (610.5, "£#,##0.00")
    assert (table.value, table.number_format) == (0, "£#,##0.00")
    assert (occupancy.value, occupancy.number_format) == (0.1333, "0.0%")
    bar_column = [row[2].value for row in sheet.iter_rows(min_row=2, max_row=7)]
    assert bar_column == [p / 100 for p in HOURLY["bar_revenue_pence"]]
    assert sheet["B7"].value is None  # a null is an empty cell
    totals = [c.value for c in sheet[8]]
    assert totals[:4] == ["Total", 277, 12345.67, 3050.5]
    assert totals[4] == pytest.approx(0.56532)
    assert sheet.column_dimensions["C"].width >= len("£12,345.67")


def test_xlsx_dates_are_excel_dates(daily):
    sheet = workbook(daily[0]["xlsx"].content)["4 Events Tonight"]
    night = sheet["B2"]
    assert night.value == dt.datetime(2026, 11, 21) and night.is_date
    assert night.number_format == "ddd d mmm yyyy"
    assert [sheet["C2"].value, sheet["D2"].value] == [EVENTS["tickets_sold"][0], 2544.0]


def test_xlsx_has_about_sheet_metrics_and_chartsheets(daily):
    book = workbook(daily[0]["xlsx"].content)
    assert book.sheetnames[0] == "About"
    about = {row[0]: row[1] for row in book["About"].iter_rows(values_only=True) if row[0]}
    assert about["Template version"] == "a1b2c3d4e5f6"
    assert about["Generated"] == "Sun 22 Nov 2026, 06:15 GMT"
    assert about["Filters"] == "venue id: backroom-leeds, brand: LA FIESTA"
    assert about["First day"] == dt.datetime(2026, 11, 21)
    contents = set(about.values())
    assert all(any(title in str(c) for c in contents) for title in TITLES)
    metrics = book["2 Headline KPIs"]
    assert [c.value for c in metrics[1]][:4] == ["KPI", "Value", "Target", "Status"]
    assert [c.value for c in metrics[2]][:6] == ["Gross revenue", 15396.17, 12000, "On target", 0.12, None]
    assert metrics["E2"].number_format == "+0.0%;-0.0%;0.0%"
    assert metrics["A4"].value == "No-show rate" and metrics["E4"].value == pytest.approx(0.4)
    assert metrics["E4"].number_format == '+0.0" points";-0.0" points";0.0" points"'
    charts = [s for s in book._sheets if isinstance(s, Chartsheet)]
    assert [s.title for s in charts] == ["5 Revenue by Hour", "6 Occupancy, Last Four…"]
    data = book["5 Revenue by Hour data"]
    assert [c.value for c in data[1]] == ["Hour", "Bar revenue", "Table revenue"]
    assert data["B4"].value == 4120.0
    summary = book["1 Executive Summary"]
    rows = [r for r in summary.iter_rows(values_only=True) if r[0]]
    assert rows[0][0] == "Executive Summary"
    assert ("The no-show rate of 12.3% is above its 8% target.", "Critical") in rows
    assert book["7 Staff on Shift"]["A3"].value == "No staff shifts were recorded for this night."


def test_csv_zip_holds_each_table_and_chart_in_warehouse_units(daily):
    archive = zipfile.ZipFile(io.BytesIO(daily[0]["csv"].content))
    assert archive.namelist() == [
        "03_hourly.csv",
        "04_events.csv",
        "05_revenue_by_hour.csv",
        "06_occupancy_trend.csv",
        "07_staff.csv",
    ]
    assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    hourly = list(csv.reader(io.StringIO(archive.read("03_hourly.csv").decode("utf-8"))))
    assert hourly[0] == HOURLY.columns
    expected = [["" if v is None else str(v) for v in row] for row in HOURLY.iter_rows()]
    assert hourly[1:] == expected
    events = list(csv.DictReader(io.StringIO(archive.read("04_events.csv").decode("utf-8"))))
    assert events[0]["business_date"] == "2026-11-21"
    assert events[0]["ticket_revenue_pence"] == "254400"
    assert events[1]["avg_satisfaction"] == "3.875"
    assert archive.read("07_staff.csv") == b"staff_name,hours\r\n"


def test_one_table_gives_a_single_csv(chart_renderer, layouts_dir):
    (file,), _ = render(single_table_report(), ["csv"], chart_renderer, layouts_dir)
    assert file.name == "daily_summary_backroom-leeds_2026-11-21.csv"
    assert file.media_type == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(file.content.decode("utf-8"))))
    assert [r["event_name"] for r in rows] == EVENTS["event_name"].to_list()


def test_web_html_is_self_contained_with_interactive_charts(daily):
    html = daily[0]["html"].content.decode("utf-8")
    tags = Tags(html).tags
    external = [
        (tag, value)
        for tag, attrs in tags
        for name, value in attrs.items()
        if name in {"src", "href", "xlink:href", "action"} and value and "//" in value
    ]
    assert external == []
    assert not any(tag == "link" for tag, _ in tags)
    assert html.count("plotly.js v") == 1  # the library's banner: inlined once
    assert 'id="chart-revenue_by_hour"' in html and 'id="chart-occupancy_trend"' in html
    assert "<style>" in html and ".kpi-grid" in html
    for title in TITLES:
        assert title in html


def test_email_html_has_inline_styles_and_static_charts(email):
    assert "<script" not in email
    assert "<style" not in email
    assert email.count("<svg") == 2
    assert 'style="' in email and "£12,345.67" in email
    for title in TITLES:
        assert title in email


def test_a_night_without_trading_renders_in_every_format(closed):
    assert set(closed) == set(FORMATS)
    text = "\n".join(pdf_pages(closed["pdf"].content))
    assert "No trading." in text and "The doors did not open." in text and "No sales to chart." in text
    html = closed["html"].content.decode("utf-8")
    assert "No trading." in html and "plotly" not in html.lower()
    book = workbook(closed["xlsx"].content)
    about = {row[0]: row[1] for row in book["About"].iter_rows(values_only=True) if row[0]}
    assert about["Trading"].startswith("No")
    assert book["3 Hour by Hour"]["A3"].value == "The doors did not open."
    archive = zipfile.ZipFile(io.BytesIO(closed["csv"].content))
    assert archive.read("03_hourly.csv").decode().splitlines() == [",".join(HOURLY.columns)]
    assert archive.read("04_revenue_by_hour.csv") == b""


def test_the_same_report_gives_the_same_bytes(daily, chart_renderer, layouts_dir):
    again, _ = render(daily_report(), FORMATS, chart_renderer, layouts_dir)
    assert [f.content for f in again] == [f.content for f in daily[0].values()]


def test_an_unknown_format_is_refused(chart_renderer):
    with pytest.raises(ValueError, match="unknown report format"):
        render(daily_report(), ["docx"], chart_renderer)


def test_xlsx_about_sheet_lists_warnings(chart_renderer, layouts_dir):
    report = dataclasses.replace(closed_report(), warnings=("3 source rows were quarantined.",))
    (file,), _ = render(report, ["xlsx"], chart_renderer, layouts_dir)
    rows = list(workbook(file.content)["About"].iter_rows(values_only=True))
    assert ("Warning", "3 source rows were quarantined.") in rows


def test_sheet_names_are_short_unique_and_valid():
    taken = {"about"}
    assert sheet_name("1 ", "Weekly Overview with Comparisons", taken) == "1 Weekly Overview with…"
    assert (
        sheet_name("1 ", "Weekly Overview with Comparisons", taken, " data") == "1 Weekly Overview with… data"
    )
    assert sheet_name("2 ", "Revenue: Bar/Tables [£]", taken) == "2 Revenue Bar Tables £"
    assert sheet_name("", "About", taken) == "About (2)"
    assert all(len(name) <= 31 for name in taken)
