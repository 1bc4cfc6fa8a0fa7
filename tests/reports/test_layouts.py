"""Report layouts: the spec's sections in order, clear errors, and new layouts as new reports."""

import shutil
from pathlib import Path

import dagster as dg
import pytest
import yaml

from backroom_reporting.rendering.layouts import LayoutError, load_layouts
from backroom_reporting.schedules.reports import report_schedules

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


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda r: r.update(period="fortnight"), "unknown period 'fortnight'; known:"),
        (lambda r: r["schedule"].update(cron="every day at ten"), "is not a valid cron expression"),
        (lambda r: r.update(formats=["pdf", "docx"]), "unknown format 'docx'; known:"),
        (lambda r: r.pop("cache_ttl_minutes"), "`cache_ttl_minutes` is required"),
        (lambda r: r.update(key="daily"), "must match the file name"),
        (lambda r: r["sections"][2].update(type="gauge"), "section 3 (bookings): unknown type 'gauge'"),
        (lambda r: r["sections"][2].update(source="bookings_view"), "unknown source 'bookings_view'"),
        (
            lambda r: r["sections"][2]["query"]["columns"].append({"key": "takings"}),
            "unknown column 'takings'",
        ),
        (lambda r: r["sections"][2]["query"].update(sort=["-takings"]), "sort by unknown column '-takings'"),
        (lambda r: r["sections"][2]["display"].update(colour="red"), "unknown display option colour"),
        (lambda r: r["sections"][3]["display"].update(chart="pie"), "display.chart 'pie'"),
        (lambda r: r["sections"][0].update(source="horoscope"), "summary source 'horoscope'"),
        (
            lambda r: r["sections"][6].update(
                source="top_performers_by_role",
                query={"filters": {"role": "bar"}, "columns": [{"key": "staff_name"}]},
            ),
            "top_performers_by_role is computed for the section, so it takes no filters or group_by",
        ),
        (lambda r: r["sections"].append(dict(r["sections"][1])), "section keys repeat: kpis"),
    ],
)
def test_a_broken_layout_is_refused_naming_file_section_and_field(tmp_path, change, words):
    with pytest.raises(LayoutError, match=r"daily_summary\.yaml") as raised:
        load_layouts(with_change(tmp_path, change))
    assert words in str(raised.value)


def test_a_layout_dropped_into_the_folder_becomes_a_report_with_its_own_schedule(tmp_path):
    folder = tmp_path / "layouts"
    shutil.copytree(LAYOUTS, folder)
    monthly = yaml.safe_load((folder / "weekly_summary.yaml").read_text())
    monthly.update(key="monthly_summary", title="Monthly Summary", period="month")
    monthly["schedule"]["cron"] = "0 9 1 * *"
    (folder / "monthly_summary.yaml").write_text(yaml.safe_dump(monthly, sort_keys=False))

    layouts = load_layouts(folder)
    assert set(layouts) == {"daily_summary", "weekly_summary", "monthly_summary"}
    schedules = {s.name: s for s in report_schedules(layouts)}
    assert schedules["monthly_summary_schedule"].cron_schedule == "0 9 1 * *"
    assert schedules["monthly_summary_schedule"].execution_timezone == "Europe/London"
    assert isinstance(schedules["monthly_summary_schedule"], dg.ScheduleDefinition)


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
