"""The demo's Daily and Weekly Summary as spreadsheets: every section of the Excel workbook is
one table whose rows name the venue and their date, and the CSV files hold the night's
figures in the units their names say, against the booking system's own rows."""

import csv
import datetime as dt
import io
import zipfile

import openpyxl
import pytest
from openpyxl.worksheet.cell_range import CellRange

from backroom_reporting.rendering.csv_export import render_csv
from backroom_reporting.rendering.excel import render_xlsx, sheet_name
from tests.design_section_5 import daily_figures

from .test_build import build

SATURDAY = dt.date(2026, 11, 21)


@pytest.fixture(scope="module")
def reports(reporting_world):
    db = reporting_world.databases.warehouse
    return {
        "daily_summary": build(db, "daily_summary", SATURDAY),
        "weekly_summary": build(db, "weekly_summary", SATURDAY),
    }


@pytest.mark.parametrize("template", ["daily_summary", "weekly_summary"])
def test_every_sheet_is_a_table_whose_rows_name_the_venue_and_their_date(reports, template):
    report = reports[template]
    book = openpyxl.load_workbook(io.BytesIO(render_xlsx(report)))
    sheets = [s for s in book.worksheets if s.title != "About"]
    assert len(sheets) == len(report.sections)  # one each; charts add a chartsheet besides
    for sheet, section in zip(sheets, report.sections, strict=True):
        assert sheet.title == sheet_name(section.title, set())
        if section.is_empty:
            continue
        [table] = sheet.tables.values()
        bounds = CellRange(table.ref)
        rows = list(sheet.iter_rows(max_row=bounds.max_row, max_col=bounds.max_col, values_only=True))
        header, data = rows[0], rows[1 : len(rows) - (table.totalsRowCount or 0)]
        assert data, sheet.title
        own = [c.label for c in section.columns if c.key == "business_date"]
        if section.chart is not None and section.chart.x.kind == "date":  # nights along the axis
            own = [section.chart.x.label]
        dates = own or (["Business date"] if template == "daily_summary" else ["Period start", "Period end"])
        for row in data:
            assert row[0] == report.venue_name
            assert all(isinstance(row[header.index(h)], dt.datetime) for h in dates), (sheet.title, row)
            assert "Total" not in row


def test_the_daily_csv_holds_the_nights_figures_in_the_units_it_names(reports, reporting_world):
    expected = daily_figures(reporting_world.databases.source_url)[("backroom-leeds", SATURDAY)]
    _, content = render_csv(reports["daily_summary"])
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        files = {
            name.split("_", 1)[1]: list(csv.DictReader(io.StringIO(archive.read(name).decode())))
            for name in archive.namelist()
        }
    assert set(files) == {f"{s.key}.csv" for s in reports["daily_summary"].sections}
    [saturday] = [r for r in files["bookings.csv"] if r["business_date"] == SATURDAY.isoformat()]
    assert int(saturday["deposits_pence"]) == expected["deposits_pence"]
    assert int(saturday["bookings_total"]) == expected["bookings_total"]
    assert 0 <= float(saturday["no_show_rate_pct"]) <= 100
    revenue = next(r for r in files["kpis.csv"] if r["kpi_key"] == "daily_revenue")
    assert (revenue["unit"], int(revenue["value"])) == ("pence", expected["gross_revenue_pence"])
    assert revenue["business_date"] == SATURDAY.isoformat()
    for name, rows in files.items():
        assert all(r["venue_id"] == "backroom-leeds" and r["venue_name"] for r in rows), name
