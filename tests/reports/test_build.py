"""Building reports from the warehouse: the right figures, the no-trading case, and refusal
to build from data that fails daily_aggregations' blocking checks."""

import csv
import dataclasses
import datetime as dt
import io
import shutil
import statistics
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
import yaml

from backroom_reporting.metrics.kpis import CATALOGUE
from backroom_reporting.rendering.build import ReportBuilder, ReportInputError, Subject
from backroom_reporting.rendering.csv_export import render_csv
from backroom_reporting.rendering.excel import render_xlsx
from backroom_reporting.rendering.html import render_html
from backroom_reporting.rendering.layouts import load_layouts
from backroom_reporting.rendering.periods import period_containing
from backroom_reporting.warehouse.database import Database
from tests.design_section_5 import daily_figures, instant
from tests.worlds import night_of, source_rows

LAYOUTS = load_layouts(Path(__file__).parents[2] / "report_layouts")
NOW = dt.datetime(2026, 11, 24, 12, tzinfo=dt.UTC)
VENUE = Subject("backroom-leeds")


def build(db: Database, template: str, day: dt.date):
    layout = LAYOUTS[template]
    return ReportBuilder(db, layout, period_containing(layout.period, day), VENUE, NOW).build()


def pounds(pence: int) -> str:
    return f"£{pence / 100:,.0f}"


def test_daily_summary_tells_the_night_in_the_venues_figures(reporting_world):
    saturday = dt.date(2026, 11, 21)
    expected = daily_figures(reporting_world.databases.source_url)[("backroom-leeds", saturday)]
    report = build(reporting_world.databases.warehouse, "daily_summary", saturday)
    assert report.trading and report.period_label == "Saturday 21 November 2026"
    opening = report.sections[0].paragraphs[0]
    assert pounds(expected["gross_revenue_pence"]) in opening
    assert f"{expected['check_ins']:,} admissions" in opening
    assert f"at {expected['peak_hour']:02d}:00" in opening
    assert "NOSTALGIA" in opening  # Saturday's night
    bookings = report.sections[2]
    assert bookings.table["business_date"].to_list() == [
        saturday - dt.timedelta(days=6 - i) for i in range(7)
    ]
    assert bookings.table["bookings_total"][-1] == expected["bookings_total"]
    assert bookings.totals
    kpis = {card.key: card for card in report.sections[1].cards}
    assert kpis["daily_revenue"].value == expected["gross_revenue_pence"]
    assert [s.kind for s in report.sections] == [
        "summary",
        "metrics",
        "table",
        "chart",
        "table",
        "table",
        "table",
    ]


def test_the_hourly_chart_keeps_both_one_oclocks_on_the_night_the_clocks_go_back(reporting_world):
    report = build(reporting_world.databases.warehouse, "daily_summary", dt.date(2026, 10, 24))
    hours = report.sections[3].chart.data["hour_start"].to_list()
    assert "01:00 BST" in hours and "01:00 GMT" in hours
    assert hours[0] >= "20:00"  # the chart starts when the night does, not at 06:00


def test_weekly_summary_compares_the_week_and_recommends(reporting_world):
    week = period_containing("business_week", dt.date(2026, 11, 16))
    figures = daily_figures(reporting_world.databases.source_url)
    gross = sum(
        f["gross_revenue_pence"] for (v, d), f in figures.items() if week.first_day <= d <= week.last_day
    )
    report = build(reporting_world.databases.warehouse, "weekly_summary", week.first_day)
    assert pounds(gross) in report.sections[0].paragraphs[0]
    # The events' revenue and the nights without one add up to the week.
    event_nights = {
        night_of(instant(e["starts_at"]))
        for e in source_rows(reporting_world.databases.source_url, "events")
        if e["status"] != "cancelled"
    }
    with_event = sum(
        f["gross_revenue_pence"]
        for (v, d), f in figures.items()
        if week.first_day <= d <= week.last_day and d in event_nights
    )
    split = f"took {pounds(with_event)} and the nights without one {pounds(gross - with_event)}."
    assert split in report.sections[0].paragraphs[0]
    assert report.sections[-1].bullets  # at least "no action needed"
    trends = {s.key: s for s in report.sections}["trends"].chart
    assert trends.data.height > 7  # eight weeks of trading nights, not just this week


def test_a_closed_night_is_a_short_note_with_the_money_that_moved_and_the_outlook(reporting_world):
    monday = dt.date(2026, 11, 16)
    source = reporting_world.databases.source_url
    figures = daily_figures(source)[("backroom-leeds", monday)]
    report = build(reporting_world.databases.warehouse, "daily_summary", monday)
    assert not report.trading
    [note] = report.sections
    closed, outlook = note.paragraphs
    assert closed.startswith("The Backroom Leeds was closed on Monday 16 November 2026. Money still moved")
    assert figures["ticket_sales_taken_pence"] and figures["deposits_pence"]  # the demo's Monday has both
    assert f"{pounds(figures['ticket_sales_taken_pence'])} of presales taken" in closed
    assert f"{pounds(figures['deposits_pence'])} of table deposits" in closed
    if figures["refunds_pence"]:
        assert f"{pounds(figures['refunds_pence'])} of refunds" in closed

    # The next open night, from the source rows: its events, bookings and tickets sold by NOW.
    def night(row):
        return night_of(instant(row["starts_at"]))

    events = [
        e
        for e in source_rows(source, "events")
        if e["status"] != "cancelled" and monday < night(e) <= monday + dt.timedelta(days=14)
    ]
    next_night = min(night(e) for e in events)
    ids = {e["event_id"] for e in events if night(e) == next_night}
    booked = [
        b
        for b in source_rows(source, "bookings")
        if night_of(instant(b["booking_start"])) == next_night and b["status"] != "cancelled"
    ]
    sold = [
        t
        for t in source_rows(source, "ticket_sales")
        if t["event_id"] in ids and t["status"] == "paid" and instant(t["purchased_at"]) <= NOW
    ]
    tickets = sum(t["quantity"] for t in sold)
    takings = sum(t["gross_pence"] - t["fee_pence"] for t in sold)
    assert outlook.startswith(f"Next open night: {next_night:%A} {next_night.day} {next_night:%B}, ")
    assert f"{tickets:,} tickets ({pounds(takings)})" in outlook
    assert f"{len(booked):,} table bookings for {sum(b['party_size'] for b in booked):,} guests" in outlook


def test_the_hourly_chart_adds_up_to_the_nights_bar_and_table_sales(reporting_world):
    saturday = dt.date(2026, 11, 21)
    expected = daily_figures(reporting_world.databases.source_url)[("backroom-leeds", saturday)]
    report = build(reporting_world.databases.warehouse, "daily_summary", saturday)
    chart = report.sections[3].chart
    bar, tables = expected["bar_revenue_pence"], expected["table_revenue_pence"]
    assert chart.total_note == (
        f"In all: Bar £{bar / 100:,.2f} + Tables £{tables / 100:,.2f} = £{(bar + tables) / 100:,.2f}."
    )
    # The summary gives the rest of the night's gross: its tickets, sold in advance.
    assert (
        f"the night's tickets {pounds(expected['ticket_revenue_pence'])}" in report.sections[0].paragraphs[0]
    )


def test_a_report_is_not_built_from_days_that_fail_a_blocking_check(reporting_world, tmp_path):
    copy = tmp_path / "warehouse.db"
    shutil.copy(reporting_world.databases.warehouse_url.removeprefix("sqlite:///"), copy)
    db = Database(f"sqlite:///{copy}")
    engine = sa.create_engine(f"sqlite:///{copy}")
    with engine.begin() as conn:  # the hours of Saturday no longer add up to the day
        conn.execute(
            sa.text(
                "UPDATE hourly_aggregations SET check_ins = check_ins + 5 "
                "WHERE business_date = '2026-11-21' AND local_hour = 23"
            )
        )
    engine.dispose()
    with pytest.raises(ReportInputError, match="matches_hourly"):
        build(db, "daily_summary", dt.date(2026, 11, 21))
    build(db, "daily_summary", dt.date(2026, 11, 20))  # Friday is untouched


def test_top_performers_rank_each_role_by_its_own_figure_the_same_way_every_time(reporting_world):
    week = period_containing("business_week", dt.date(2026, 11, 16))
    engine = sa.create_engine(reporting_world.databases.warehouse_url)
    with engine.connect() as conn:
        staff = conn.execute(
            sa.text(
                "SELECT staff_id, staff_name, role, SUM(hours_on_shift), SUM(bar_sales_pence), "
                "SUM(entries_processed) FROM staff_performance WHERE venue_id = 'backroom-leeds' "
                "AND business_date BETWEEN :first AND :last GROUP BY staff_id, staff_name, role"
            ),
            {"first": week.first_day.isoformat(), "last": week.last_day.isoformat()},
        ).all()
    engine.dispose()
    figure = {
        "bar": lambda hours, sales, entries: sales / hours if hours else None,
        "door": lambda hours, sales, entries: entries / hours if hours else None,
        "host": lambda hours, sales, entries: hours,
    }
    expected = []
    for role in ("bar", "door", "host"):
        scored = sorted(
            (f is None, -(f or 0), name, staff_id)
            for staff_id, name, r, hours, sales, entries in staff
            if r == role
            for f in [figure[role](hours, sales, entries)]
        )
        expected += [(role.capitalize(), name) for _, _, name, _ in scored[:5]]  # roles read as words

    tables = [
        {
            s.key: s
            for s in build(reporting_world.databases.warehouse, "weekly_summary", week.first_day).sections
        }["top_performers"].table
        for _ in range(2)
    ]
    assert tables[0].equals(tables[1])
    assert list(tables[0].select("role", "staff_name").iter_rows()) == expected
    assert {"Bar", "Door", "Host"} <= set(tables[0]["role"])  # the door team is there


# ---- the weekly KPI scorecard -------------------------------------------------------------

# Weekly KPI values written again from the daily figures: the ratio of the week's totals.
WEEKLY_RATIOS = {
    "daily_revenue": ("gross_revenue_pence", "trading_days"),
    "bookings": ("bookings_total", "trading_days"),
    "booking_conversion": ("bookings_completed", "bookings_total"),
    "no_show_rate": ("no_shows", "bookings_confirmed"),
}
SCORECARD_KINDS = {"daily_revenue": "money", "bookings": "count", "booking_conversion": "percent"}


def week_value(figures: dict, monday: dt.date, kpi: str) -> float | None:
    days = [
        f for (venue, day), f in figures.items() if venue == VENUE.venue_id and 0 <= (day - monday).days < 7
    ]
    columns = {column for pair in WEEKLY_RATIOS.values() for column in pair} - {"trading_days"}
    totals = {column: sum(f[column] for f in days) for column in columns}
    totals["trading_days"] = sum(
        1 for f in days if f["check_ins"] or f["bar_revenue_pence"] or f["table_revenue_pence"]
    )
    numerator, denominator = WEEKLY_RATIOS[kpi]
    return totals[numerator] / totals[denominator] if totals[denominator] else None


def expected_status(value: float, kpi: dict) -> str:
    better = 1 if kpi["direction"] == "higher_better" else -1
    if better * value <= better * kpi["critical"]:
        return "Critical"
    if better * value <= better * kpi["warning"]:
        return "Warning"
    return "On target" if better * value >= better * kpi["target"] else "Below target"


def test_the_weekly_scorecard_has_this_week_last_week_the_4_week_average_and_the_status(reporting_world):
    monday = dt.date(2026, 11, 16)
    figures = daily_figures(reporting_world.databases.source_url)
    catalogue = {k["key"]: k for k in yaml.safe_load(CATALOGUE.read_bytes())["kpis"]}
    report = build(reporting_world.databases.warehouse, "weekly_summary", monday)
    [scorecard] = [s for s in report.sections if s.key == "scorecard"]
    assert [c.label for c in scorecard.columns] == [
        "KPI",
        "This week",
        "Last week",
        "4-week average",
        "Target",
        "Status",
    ]
    rows = {r["name"]: r for r in scorecard.table.iter_rows(named=True)}
    assert list(rows) == [k["name"] for k in catalogue.values()]  # every KPI, in catalogue order
    for key in WEEKLY_RATIOS:
        kpi = catalogue[key]
        row = rows[kpi["name"]]
        this = week_value(figures, monday, key)
        earlier = [week_value(figures, monday - dt.timedelta(weeks=w), key) for w in range(1, 5)]
        assert row["value"] == pytest.approx(this)
        assert row["value_previous"] == pytest.approx(earlier[0])
        assert row["value_average"] == pytest.approx(statistics.mean(v for v in earlier if v is not None))
        assert row["target"] == kpi["target"]
        assert row["status"] == expected_status(this, kpi)
        assert row["kind"] == SCORECARD_KINDS.get(key, "percent")

    # Numeric rows in every format: CSV in warehouse units, numbers with formats in Excel.
    only = dataclasses.replace(report, sections=(scorecard,))
    extension, data = render_csv(only)
    assert extension == "csv"
    csv_rows = list(csv.DictReader(io.StringIO(data.decode())))
    revenue = next(r for r in csv_rows if r["name"] == catalogue["daily_revenue"]["name"])
    assert float(revenue["value"]) == pytest.approx(week_value(figures, monday, "daily_revenue"), abs=0.5)
    assert (revenue["unit"], revenue["venue_name"], revenue["period_start"]) == (
        "pence",
        "The Backroom Leeds",
        str(monday),
    )
    sheet = openpyxl.load_workbook(io.BytesIO(render_xlsx(only)))["KPI Scorecard"]
    header = [c.value for c in sheet[1]]
    kpi, this_week = header.index("KPI"), header.index("This week")
    cells = {row[kpi].value: row for row in sheet.iter_rows(min_row=2)}
    money, rate = cells[catalogue["daily_revenue"]["name"]], cells[catalogue["booking_conversion"]["name"]]
    assert money[this_week].value == pytest.approx(week_value(figures, monday, "daily_revenue") / 100)
    assert money[this_week].number_format == "£#,##0.00" and rate[this_week].number_format == "0.0%"
    html = render_html(only, "web", {})
    assert f"{week_value(figures, monday, 'booking_conversion'):.1%}" in html
