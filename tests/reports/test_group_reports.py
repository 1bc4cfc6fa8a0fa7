"""Group reports (every venue side by side) and per-venue isolation, over three generated
venues: figures from the raw rows, reads of only the venues and nights a report needs, and
the demo's group subscription rendered through Dagster."""

from __future__ import annotations

import datetime as dt
import email
import io
import json
import re
from collections import defaultdict
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from backroom_reporting.cli import main
from backroom_reporting.metrics.business_time import BusinessWindow
from backroom_reporting.rendering.build import ReportBuilder, ReportInputError, Subject
from backroom_reporting.rendering.csv_export import section_table
from backroom_reporting.rendering.html import render_html
from backroom_reporting.rendering.layouts import load_layouts
from backroom_reporting.rendering.periods import period_containing
from backroom_reporting.warehouse.database import Database
from tests.design_section_5 import daily_figures
from tests.reports.conftest import ReportingWorld, analysed_world
from tests.reports.venue import Venue
from tests.worlds import source_rows

LAYOUTS = load_layouts(Path(__file__).parents[2] / "report_layouts")
WEEK = BusinessWindow(dt.date(2026, 11, 16), dt.date(2026, 11, 22))
SATURDAY = dt.date(2026, 11, 21)
NOW = dt.datetime(2026, 11, 24, 12, tzinfo=dt.UTC)
GROUP = Subject(None)


@pytest.fixture(scope="module")
def group_world(tmp_path_factory) -> ReportingWorld:
    return analysed_world(tmp_path_factory.mktemp("group"), 3, WEEK, seed=23)


@pytest.fixture(scope="module")
def figures(group_world) -> dict[tuple[str, dt.date], dict]:
    """docs/metrics.md's daily figures of every venue, from the raw rows (tests/design_section_5)."""
    return daily_figures(group_world.databases.source_url)


@pytest.fixture(scope="module")
def names(group_world) -> dict[str, str]:
    return {v["venue_id"]: v["name"] for v in source_rows(group_world.databases.source_url, "venues")}


def build(db: Database, template: str, day: dt.date, subject: Subject):
    layout = LAYOUTS[template]
    return ReportBuilder(db, layout, period_containing(layout.period, day), subject, NOW).build()


def summed(figures: dict, days: list[dt.date], column: str) -> dict[str, int]:
    by_venue: dict[str, int] = defaultdict(int)
    for (venue, day), row in figures.items():
        if day in days:
            by_venue[venue] += row[column]
    return dict(by_venue)


@pytest.mark.parametrize(
    ("template", "days"),
    [("group_daily_summary", [SATURDAY]), ("group_weekly_summary", WEEK.days)],
)
def test_a_group_report_has_each_venues_figures_side_by_side_and_the_groups_total(
    group_world, figures, names, template, days
):
    report = build(group_world.databases.warehouse, template, days[-1], GROUP)
    assert (report.venue_id, report.venue_name, report.filters) == ("group", "All venues", {"scope": "group"})
    sections = {s.key: s for s in report.sections}
    table = sections["venues"].table
    assert sorted(table["venue_id"]) == sorted(names.values())  # names, one row per venue
    by_name = {row["venue_id"]: row for row in table.iter_rows(named=True)}
    for column in ("gross_revenue_pence", "bar_revenue_pence", "ticket_revenue_pence", "check_ins", "covers"):
        expected = summed(figures, days, column)
        assert {names[v]: n for v, n in expected.items()} == {k: r[column] for k, r in by_name.items()}, (
            column
        )
    assert sections["venues"].totals
    gross = summed(figures, days, "gross_revenue_pence")
    assert len(set(gross.values())) == 3  # the venues differ, so a mix-up would show
    opening = sections["overview"].paragraphs[0]
    assert f"£{sum(gross.values()) / 100:,.0f} gross" in opening
    assert f"{sum(summed(figures, days, 'check_ins').values()):,} admissions" in opening
    best = max(gross, key=gross.get)
    assert sections["overview"].paragraphs[1].startswith(f"{names[best]} took the most")

    # KPIs by venue: revenue per trading night is the venue's gross over its trading nights.
    kpis = {row["venue_id"]: row for row in sections["kpis"].table.iter_rows(named=True)}
    assert set(kpis) == set(names.values())
    for venue, name in names.items():
        traded = [
            d
            for d in days
            if (venue, d) in figures
            and any(figures[venue, d][c] for c in ("check_ins", "bar_revenue_pence", "table_revenue_pence"))
        ]
        expected = gross[venue] / len(traded) if traded else None
        assert kpis[name]["daily_revenue"] == pytest.approx(expected), name

    # The spreadsheet formats' rows say whose by their own venue column, not "All venues" beside it.
    header, rows = section_table(report, sections["venues"])
    assert len(set(header)) == len(header) and "venue_name" not in header
    assert {row[header.index("venue_id")] for row in rows} == set(names.values())

    html = render_html(report, "web", {c.key: "" for c in report.sections if c.chart})
    for name in names.values():
        assert name in html


def test_a_venues_report_has_only_that_venues_figures(group_world, figures, names):
    first, second, third = sorted(names)
    assert len({figures[v, SATURDAY]["check_ins"] for v in names}) == 3  # a mix-up would show
    db = group_world.databases.warehouse
    report = build(db, "daily_summary", SATURDAY, Subject(second))
    assert report.venue_name == names[second]
    opening = report.sections[0].paragraphs[0]
    own = figures[second, SATURDAY]
    assert f"£{own['gross_revenue_pence'] / 100:,.0f}" in opening
    assert f"{own['check_ins']:,} admissions" in opening
    bookings = report.sections[2].table
    assert bookings["bookings_total"][-1] == own["bookings_total"]
    text = render_html(report, "web", {c.key: "" for c in report.sections if c.chart})
    for other in (first, third):
        assert names[other] not in text
        assert f"{figures[other, SATURDAY]['check_ins']:,} admissions" not in opening


# Tables holding several venues' rows, whose reads must name the venue (or, for the group, only
# the period): never a whole table.
VENUE_TABLES = {
    "daily_aggregations",
    "hourly_aggregations",
    "kpi_calculations",
    "event_performance_analytics",
    "staff_performance",
    "top_customers",
    "customer_analytics",
    "revenue_forecast",
    "weekly_summary",
    "raw_bar_transactions",
    "raw_staff_shifts",
    "raw_events",
    "raw_bookings",
}


def reads(db: Database, monkeypatch, build_it) -> list[tuple[str, str]]:
    """(table, SQL) of every read of VENUE_TABLES while `build_it` runs."""
    seen, read = [], db.read

    def recording(statement, schema=None):
        sql = db.sql(statement)
        found = re.search(r"\bFROM\s+\"?(?:reporting\.)?\"?(\w+)", sql)
        if found and found[1] in VENUE_TABLES:
            seen.append((found[1], sql))
        return read(statement, schema)

    monkeypatch.setattr(db, "read", recording)
    build_it()
    monkeypatch.undo()
    return seen


def test_filters_without_a_venue_never_widen_a_venues_report_to_the_group(group_world):
    db = group_world.databases.warehouse
    with pytest.raises(ReportInputError, match="name no venue_id and are not scope: group"):
        Subject.from_filters({"venue": "backroom-leeds"})
    with pytest.raises(ReportInputError, match="'daily_summary' is a venue report, not the group's"):
        build(db, "daily_summary", SATURDAY, Subject.from_filters({"scope": "group"}))
    with pytest.raises(ReportInputError, match="is a group report, not venue"):
        build(db, "group_daily_summary", SATURDAY, Subject("leeds"))


@pytest.mark.parametrize("template", ["daily_summary", "weekly_summary"])
def test_a_venues_report_reads_only_that_venues_rows(group_world, names, template, monkeypatch):
    db = group_world.databases.warehouse
    venue, *others = sorted(names)
    seen = reads(db, monkeypatch, lambda: build(db, template, SATURDAY, Subject(venue)))
    assert {table for table, _ in seen} >= {"daily_aggregations", "hourly_aggregations", "kpi_calculations"}
    for table, sql in seen:
        assert f"venue_id = '{venue}'" in sql, (table, sql)
        assert not [other for other in others if other in sql], (table, sql)


@pytest.mark.parametrize("template", ["group_daily_summary", "group_weekly_summary"])
def test_a_group_report_reads_only_the_period_not_whole_tables(group_world, template, monkeypatch):
    db = group_world.databases.warehouse
    seen = reads(db, monkeypatch, lambda: build(db, template, SATURDAY, GROUP))
    assert {table for table, _ in seen} >= {"daily_aggregations", "hourly_aggregations", "kpi_calculations"}
    for table, sql in seen:
        days = [dt.date.fromisoformat(d) for d in re.findall(r"'(\d{4}-\d{2}-\d{2})", sql)]
        # Nothing before the revenue anomaly check's eight weeks of look-back.
        assert days and min(days) >= SATURDAY - dt.timedelta(weeks=9), (table, sql)


def test_the_demo_with_three_venues_subscribes_the_group_and_renders_its_report(group_world, names, tmp_path):
    venue = Venue(group_world, tmp_path)
    by_id = {s.subscription_id: s for s in venue.subscriptions}
    group = {k: s for k, s in by_id.items() if s.group}
    assert {s.template_key for s in group.values()} == {"group_daily_summary", "group_weekly_summary"}
    assert all(s.filters == {"scope": "group"} and s.venue_id is None for s in group.values())
    # The one-venue demo's seven, the manager's daily report of two more venues, the group's two.
    others = sorted(v for v in names if v != "backroom-leeds")
    assert len(by_id) == 7 + 2 + 2
    assert {by_id[f"sub-manager-daily-{v}"].venue_id for v in others} == set(others)

    venue.render("sub-owner-group-daily")
    generation = venue.latest("sub-owner-group-daily")
    assert generation["status"] == "succeeded", generation["error"]
    assert generation["venue_id"] is None  # the portal lists it under "All venues"
    assert json.loads(generation["filters"]) == {"scope": "group"}
    assert [f["format"] for f in json.loads(generation["files"])] == ["pdf", "xlsx"]
    assert venue.file(generation, "pdf").startswith(b"%PDF")
    book = openpyxl.load_workbook(io.BytesIO(venue.file(generation, "xlsx")))
    cells = {str(c.value) for sheet in book for row in sheet.iter_rows() for c in row if c.value is not None}
    assert set(names.values()) <= cells

    venue.deliver("sub-owner-group-daily")
    [sent] = [email.message_from_bytes(p.read_bytes()) for p in venue.outbox.rglob("*.eml")]
    assert sent["Subject"] == "Group Daily Summary - Sat 21 Nov 2026 - All venues"


def test_report_render_makes_a_group_report_and_refuses_a_venue_for_it(group_world, names, tmp_path):
    env = {
        "BACKROOM_WAREHOUSE_URL": group_world.databases.warehouse_url,
        "BACKROOM_SOURCE_URL": group_world.databases.source_url,
    }

    def render(*args: str):
        return CliRunner().invoke(
            main, ["report", "render", "group_weekly_summary", "--date", "2026-11-22", *args], env=env
        )

    refused = render("--venue", "backroom-leeds")
    assert refused.exit_code == 2
    assert (
        "group_weekly_summary shows every venue side by side: leave out --venue and --brand" in refused.output
    )
    out = tmp_path / "group.html"
    done = render("--format", "html", "--out", str(out))
    assert done.exit_code == 0, done.output
    assert "Group Weekly Summary for Week of Monday 16 November 2026, All venues" in done.output
    html = out.read_text()
    assert all(name in html for name in names.values())
