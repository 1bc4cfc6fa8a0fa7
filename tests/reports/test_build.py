"""Building reports from the warehouse: the right figures, the no-trading case, and refusal
to build from data that fails daily_aggregations' blocking checks."""

import datetime as dt
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from backroom_reporting.rendering.build import ReportBuilder, ReportInputError, Subject
from backroom_reporting.rendering.layouts import load_layouts
from backroom_reporting.rendering.periods import period_containing
from backroom_reporting.warehouse.database import Database
from tests.design_section_5 import daily_figures

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
    assert report.sections[-1].bullets  # at least "no action needed"
    trends = report.sections[1].chart
    assert trends.data.height > 7  # eight weeks of trading nights, not just this week


def test_a_closed_night_is_a_no_trading_report_not_an_error(reporting_world):
    monday = dt.date(2026, 11, 16)
    report = build(reporting_world.databases.warehouse, "daily_summary", monday)
    assert not report.trading
    assert report.sections[0].paragraphs == ("The Backroom Leeds did not trade on Monday 16 November 2026.",)


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
        expected += [(role, name) for _, _, name, _ in scored[:5]]

    tables = [
        {
            s.key: s
            for s in build(reporting_world.databases.warehouse, "weekly_summary", week.first_day).sections
        }["top_performers"].table
        for _ in range(2)
    ]
    assert tables[0].equals(tables[1])
    assert list(tables[0].select("role", "staff_name").iter_rows()) == expected
    assert {"bar", "door", "host"} <= set(tables[0]["role"])  # the door team is there
