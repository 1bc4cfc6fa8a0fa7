"""Every format of hand-made reports with known figures: what a reader of each file sees."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from html.parser import HTMLParser

import openpyxl
import pypdf
import pytest

from backroom_reporting.rendering.email_body import render_email
from backroom_reporting.rendering.formats import STAGES, render
from backroom_reporting.rendering.model import FORMATS

from .builders import closed_report, daily_report

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
    return render_email(daily_report(), chart_renderer, layouts_dir).html


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


def test_email_html_has_inline_styles_and_charts_as_images(email):
    assert "<script" not in email
    assert "<style" not in email
    assert "<svg" not in email
    assert email.count('<img src="cid:chart-') == 2
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
    assert book["Hour by Hour"]["A3"].value == "The doors did not open."
    archive = zipfile.ZipFile(io.BytesIO(closed["csv"].content))
    [header] = archive.read("03_hourly.csv").decode().splitlines()  # no rows, the header still
    assert header.startswith("venue_id,venue_name,business_date,local_hour,")


def test_the_same_report_gives_the_same_bytes(daily, chart_renderer, layouts_dir):
    again, _ = render(daily_report(), FORMATS, chart_renderer, layouts_dir)
    assert [f.content for f in again] == [f.content for f in daily[0].values()]


def test_an_unknown_format_is_refused(chart_renderer):
    with pytest.raises(ValueError, match="unknown report format"):
        render(daily_report(), ["docx"], chart_renderer)
