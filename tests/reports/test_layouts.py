"""Report layouts: the spec's sections in order, and new layouts as new reports (refusals:
tests/rendering/test_layout_validation.py)."""

import shutil
from pathlib import Path

import yaml

from backroom_reporting.rendering.layouts import load_layouts

LAYOUTS = Path(__file__).parents[2] / "report_layouts"

SPEC_SECTIONS = {
    "daily_summary": [
        "Executive Summary",
        "Key Performance Indicators",
        "Bookings Analysis",
        "Revenue Breakdown",
        "Event Performance",
        "Customer Insights",
        "Staff Performance",
    ],
    "weekly_summary": [
        "Weekly Overview with Comparisons",
        "KPI Scorecard",  # the weekly scorecard, after the overview it details
        "Trend Analysis Charts",
        "Event Performance Comparison",
        "Revenue Analysis with Forecasts",
        "Customer Behaviour Patterns",
        "Top Performers",
        "Recommendations and Alerts",
    ],
}


def test_the_two_reports_have_the_specs_sections_in_order():
    layouts = load_layouts(LAYOUTS)
    assert {key: [s.title for s in layouts[key].sections] for key in SPEC_SECTIONS} == SPEC_SECTIONS


def test_default_schedules_periods_and_formats():
    layouts = load_layouts(LAYOUTS)
    daily, weekly = layouts["daily_summary"], layouts["weekly_summary"]
    assert (daily.cron, daily.timezone, daily.period) == ("0 22 * * *", "Europe/London", "business_day")
    assert (weekly.cron, weekly.timezone, weekly.period) == ("0 9 * * 1", "Europe/London", "business_week")
    assert set(daily.formats) == {"pdf", "xlsx", "html"}
    assert set(weekly.formats) == {"pdf", "xlsx", "html", "csv"}


def with_change(tmp_path: Path, change) -> Path:
    folder = tmp_path / "layouts"
    shutil.copytree(LAYOUTS, folder)
    raw = yaml.safe_load((folder / "daily_summary.yaml").read_text())
    change(raw)
    (folder / "daily_summary.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    return folder


def test_a_layout_dropped_into_the_folder_becomes_a_report_with_its_own_default_schedule(tmp_path):
    folder = tmp_path / "layouts"
    shutil.copytree(LAYOUTS, folder)
    monthly = yaml.safe_load((folder / "weekly_summary.yaml").read_text())
    monthly.update(key="monthly_summary", title="Monthly Summary", period="month")
    monthly["schedule"]["cron"] = "0 9 1 * *"
    (folder / "monthly_summary.yaml").write_text(yaml.safe_dump(monthly, sort_keys=False))

    layouts = load_layouts(folder)
    assert set(layouts) == {
        "daily_summary",
        "weekly_summary",
        "monthly_summary",
        "group_daily_summary",
        "group_weekly_summary",
    }
    # Its subscriptions are due on this cron (tests/delivery/test_deliveries_due.py).
    monthly = layouts["monthly_summary"]
    assert (monthly.cron, monthly.timezone) == ("0 9 1 * *", "Europe/London")


def test_editing_a_layout_changes_its_content_hash(tmp_path):
    before = load_layouts(LAYOUTS)["daily_summary"].content_hash
    after = load_layouts(with_change(tmp_path, lambda r: r.update(cache_ttl_minutes=30)))["daily_summary"]
    assert after.content_hash != before


def test_editing_the_shared_stylesheet_changes_every_version(tmp_path):
    folder = tmp_path / "layouts"
    shutil.copytree(LAYOUTS, folder)
    (folder / "report.css").write_text((folder / "report.css").read_text() + "\n/* darker */\n")
    before, after = load_layouts(LAYOUTS), load_layouts(folder)
    assert all(before[k].content_hash != after[k].content_hash for k in before)
