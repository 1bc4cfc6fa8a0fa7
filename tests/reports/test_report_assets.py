"""subscription_reports through Dagster: files in the store, the history row, figures that
match the warehouse in every format, reuse of identical renders, the failure path, and
the report of a layout added to the folder. When reports are asked for:
tests/reports/test_deliveries_due.py."""

import csv
import datetime as dt
import io
import json
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pypdf
import sqlalchemy as sa
import yaml

from backroom_reporting.rendering.history import latest_report
from backroom_reporting.rendering.layouts import load_layouts
from backroom_reporting.sensors.subscriptions import sync_subscription_partitions
from backroom_reporting.subscriptions import service
from backroom_reporting.warehouse.tables.aggregations import daily_aggregations
from backroom_reporting.warehouse.tables.reports import report_templates
from tests.design_section_5 import daily_figures, instant
from tests.reports.venue import LAYOUTS, SATURDAY, Venue
from tests.worlds import night_of, source_rows


def pounds(pence: int) -> str:
    return f"£{pence / 100:,.2f}"


def test_a_subscription_gets_its_report_in_its_formats_with_the_warehouses_figures(venue):
    venue.render("sub-owner-daily")  # the owner takes PDF and Excel
    generation = venue.latest("sub-owner-daily")
    assert generation["status"] == "succeeded"
    assert {f["format"] for f in json.loads(generation["files"])} == {"pdf", "xlsx"}
    for entry in json.loads(generation["files"]):
        content = venue.store.read(entry["path"])
        assert entry["size_bytes"] == len(content)
        assert Path(entry["path"]).stem == entry["sha256"]
    layout = load_layouts(LAYOUTS)["daily_summary"]
    assert generation["template_hash"] == layout.content_hash
    assert venue.db.read_table(report_templates)["content_hash"].to_list().count(layout.content_hash) == 1

    expected = daily_figures(venue.source_url)[("backroom-leeds", SATURDAY)]
    pdf = "\n".join(
        page.extract_text() for page in pypdf.PdfReader(io.BytesIO(venue.file(generation, "pdf"))).pages
    )
    assert "Saturday 21 November 2026" in pdf
    assert "BACKROOM LEEDS" in pdf.upper()
    assert f"£{expected['gross_revenue_pence'] / 100:,.0f}" in pdf
    assert pounds(expected["deposits_pence"]) in pdf

    book = openpyxl.load_workbook(io.BytesIO(venue.file(generation, "xlsx")))
    bookings = next(book[name] for name in book.sheetnames if "Bookings" in name)
    header = [c.value for c in bookings[1]]
    night = header.index("Night")
    saturday_row = next(
        row
        for row in bookings.iter_rows(min_row=2, values_only=True)
        if isinstance(row[night], dt.datetime) and row[night].date() == SATURDAY
    )
    warehouse = venue.db.read_table(daily_aggregations, daily_aggregations.c.business_date == SATURDAY).row(
        0, named=True
    )
    assert saturday_row[header.index("Bookings")] == warehouse["bookings_total"]
    assert saturday_row[header.index("Deposits taken")] == warehouse["deposits_pence"] / 100
    assert isinstance(saturday_row[header.index("Deposits taken")], int | float)


def test_weekly_csv_parses_back_to_the_warehouse_rows(venue):
    venue.render("sub-finance-weekly")  # finance takes xlsx, csv and pdf
    generation = venue.latest("sub-finance-weekly")
    archive = zipfile.ZipFile(io.BytesIO(venue.file(generation, "csv")))
    [events] = [name for name in archive.namelist() if name.endswith("_events.csv")]
    rows = list(csv.DictReader(io.StringIO(archive.read(events).decode())))
    # Independently: `in` scans inside each of the week's event windows.
    monday = SATURDAY - dt.timedelta(days=5)
    held = [
        e
        for e in source_rows(venue.source_url, "events")
        if e["status"] != "cancelled"
        and monday <= night_of(instant(e["starts_at"])) <= monday + dt.timedelta(days=6)
    ]
    scans = [
        instant(c["scanned_at"]) for c in source_rows(venue.source_url, "check_ins") if c["direction"] == "in"
    ]
    expected = sum(1 for e in held for t in scans if instant(e["starts_at"]) <= t < instant(e["ends_at"]))
    assert len(rows) == len(held)
    assert sum(int(r["attendance"]) for r in rows) == expected


def test_an_identical_render_is_reused_within_the_templates_ttl(venue):
    venue.render("sub-owner-daily")
    first = venue.latest("sub-owner-daily")
    venue.render("sub-manager-daily")  # same template, period and filters; PDF and HTML
    second = venue.latest("sub-manager-daily")
    files = {f["format"]: f for f in json.loads(second["files"])}
    assert files["pdf"]["reused_from"] == first["generation_id"]
    assert files["html"]["reused_from"] is None  # nobody had rendered the HTML yet
    owner_pdf = next(f for f in json.loads(first["files"]) if f["format"] == "pdf")
    assert files["pdf"]["path"] == owner_pdf["path"]


def test_a_failed_render_is_recorded_and_the_last_good_report_stays_available_marked_stale(venue):
    venue.render("sub-owner-daily")
    good = venue.latest("sub-owner-daily")
    engine = sa.create_engine(venue.databases.warehouse_url)
    with engine.begin() as conn:  # Saturday's hours no longer add up to the day
        conn.execute(
            sa.text(
                "UPDATE hourly_aggregations SET bar_revenue_pence = bar_revenue_pence + 100 "
                "WHERE business_date = '2026-11-21' AND local_hour = 0"
            )
        )
    engine.dispose()
    result = venue.render("sub-owner-daily", raise_on_error=False)
    # Refused figures do not fail the step (its delivery still sends the last good report,
    # tests/reports/test_stale_fallback.py): the report's check fails and says why.
    [check] = result.get_asset_check_evaluations()
    assert (check.check_name, check.passed) == ("report_rendered", False)
    assert "matches_hourly" in check.description
    failed = venue.latest("sub-owner-daily")
    assert failed["status"] == "failed" and "matches_hourly" in failed["error"]
    latest = latest_report(venue.db, "sub-owner-daily")
    assert latest.generation["generation_id"] == good["generation_id"]
    assert latest.stale and "matches_hourly" in latest.failure
    assert venue.file(good, "pdf").startswith(b"%PDF")  # still in the store


def test_the_latest_files_of_a_subscription_have_readable_names_and_follow_its_newest_report(venue):
    folder = venue.store.root / "latest" / "sub-owner-daily"
    venue.render("sub-owner-daily", day=dt.date(2026, 11, 20))
    assert sorted(p.name for p in folder.iterdir()) == [
        "daily_summary-2026-11-20.pdf",
        "daily_summary-2026-11-20.xlsx",
    ]
    venue.render("sub-owner-daily")  # Saturday's report replaces Friday's
    saturday = venue.latest("sub-owner-daily")
    assert sorted(p.name for p in folder.iterdir()) == [
        "daily_summary-2026-11-21.pdf",
        "daily_summary-2026-11-21.xlsx",
    ]
    for fmt in ("pdf", "xlsx"):
        assert (folder / f"daily_summary-2026-11-21.{fmt}").read_bytes() == venue.file(saturday, fmt)


def test_a_closed_night_renders_its_short_note(venue):
    venue.render("sub-finance-daily", day=dt.date(2026, 11, 16))  # Monday; xlsx and csv
    generation = venue.latest("sub-finance-daily")
    assert generation["status"] == "succeeded"
    book = openpyxl.load_workbook(io.BytesIO(venue.file(generation, "xlsx")))
    assert book.sheetnames == ["About", "Closed night"]
    texts = [str(c.value) for row in book["Closed night"].iter_rows() for c in row]
    assert any("was closed on Monday 16 November 2026" in t for t in texts)
    assert any(t.startswith("Next open night: ") for t in texts)


def test_a_layout_added_at_test_time_becomes_a_report(reporting_world, tmp_path):
    layouts = tmp_path / "layouts"
    shutil.copytree(LAYOUTS, layouts)
    monthly = yaml.safe_load((layouts / "weekly_summary.yaml").read_text())
    monthly.update(key="monthly_summary", title="Monthly Summary", period="month")
    monthly["schedule"]["cron"] = "0 9 1 * *"
    (layouts / "monthly_summary.yaml").write_text(yaml.safe_dump(monthly, sort_keys=False))
    venue = Venue(reporting_world, tmp_path, layouts)
    added = service.add_subscription(
        venue.db,
        recipient_id="rcp-owner",
        template_key="monthly_summary",
        formats=["pdf"],
        layouts_dir=layouts,
    )
    sync_subscription_partitions(venue.instance, [added.subscription_id])
    venue.render(added.subscription_id, day=dt.date(2026, 10, 15))
    generation = venue.latest(added.subscription_id)
    assert generation["template_key"] == "monthly_summary" and generation["period_first_day"] == dt.date(
        2026, 10, 1
    )
    assert (
        "October 2026" in pypdf.PdfReader(io.BytesIO(venue.file(generation, "pdf"))).pages[0].extract_text()
    )
