"""A layout that cannot be used is refused in one sentence naming the file, the field and the
mistake, by load_layouts and when the code location loads."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from backroom_reporting.rendering.layouts import LayoutError, load_layouts

LAYOUTS = Path(__file__).parents[2] / "report_layouts"


def with_change(tmp_path: Path, change, name: str = "daily_summary") -> Path:
    folder = tmp_path / "layouts"
    shutil.copytree(LAYOUTS, folder)
    raw = yaml.safe_load((folder / f"{name}.yaml").read_text())
    change(raw)
    (folder / f"{name}.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    return folder


def section(raw: dict, key: str) -> dict:
    return next(s for s in raw["sections"] if s["key"] == key)


def refusal(folder: Path) -> str:
    with pytest.raises(LayoutError) as raised:
        load_layouts(folder)
    return str(raised.value)


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (
            lambda r: r["schedule"].update(cron="0 0 22 * * *"),
            "schedule.cron",
            "'0 0 22 * * *' has 6 fields; a cron has 5: minute hour day-of-month month day-of-week",
        ),
        (
            lambda r: r["schedule"].update(cron="0 25 * * *"),
            "schedule.cron",
            "'0 25 * * *' is not a valid cron expression: five fields",
        ),
        (lambda r: r["schedule"].update(cron="0 9 31 2 *"), "schedule.cron", "'0 9 31 2 *' never fires"),
        (
            lambda r: r["schedule"].update(timezone="Europe/Leeds"),
            "schedule.timezone",
            "'Europe/Leeds' is not an IANA timezone name; use one such as Europe/London",
        ),
        (lambda r: r.update(period="fortnight"), "period", "unknown period 'fortnight'; known:"),
        (lambda r: r.update(formats=["pdf", "docx"]), "formats[2]", "unknown format 'docx'; known:"),
        (lambda r: r.pop("cache_ttl_minutes"), "cache_ttl_minutes", "missing field"),
        (lambda r: r.update(cache_ttl_minutes=-5), "cache_ttl_minutes", "greater than or equal to 0"),
        (lambda r: r.update(version="two"), "version", "valid integer, not 'two'"),
        (lambda r: r.update(colour="red"), "colour", "unknown field"),
        (lambda r: r.update(key="daily"), "key", "'daily' must match the file name 'daily_summary'"),
        (
            lambda r: section(r, "bookings").update(type="gauge"),
            "sections[3] (bookings) type",
            "unknown type 'gauge'; known: summary, metrics, table, chart",
        ),
        (lambda r: section(r, "bookings").pop("title"), "sections[3] (bookings) title", "missing field"),
        (
            lambda r: section(r, "bookings").update(source="bookings_view"),
            "sections[3] (bookings) source",
            "unknown source 'bookings_view'",
        ),
        (
            lambda r: section(r, "bookings")["query"]["columns"].append({"key": "takings"}),
            "sections[3] (bookings) query.columns[11].key",
            "unknown column 'takings'",
        ),
        (
            lambda r: section(r, "bookings")["query"]["columns"][0].update(kind="colour"),
            "sections[3] (bookings) query.columns[1].kind",
            "unknown kind 'colour'",
        ),
        (
            lambda r: section(r, "bookings")["query"].update(sort=["-takings"]),
            "sections[3] (bookings) query.sort",
            "sort by unknown column '-takings'",
        ),
        (
            lambda r: section(r, "bookings")["display"].update(colour="red"),
            "sections[3] (bookings) display",
            "unknown display option colour; a table takes caption, empty_note, totals",
        ),
        (
            lambda r: section(r, "revenue")["display"].update(chart="pie"),
            "sections[4] (revenue) display.chart",
            "unknown chart 'pie'; known: bar, stacked_bar, line",
        ),
        (
            lambda r: section(r, "executive_summary").update(source="horoscope"),
            "sections[1] (executive_summary) source",
            "unknown summary source 'horoscope'",
        ),
        (
            lambda r: section(r, "staff").update(
                source="top_performers_by_role",
                query={"filters": {"role": "bar"}, "columns": [{"key": "staff_name"}]},
            ),
            "sections[7] (staff) query",
            "top_performers_by_role is computed for the section, so it takes no filters or group_by",
        ),
        (
            lambda r: r["sections"].append(dict(r["sections"][1])),
            "sections",
            "section keys repeat: kpis",
        ),
        (lambda r: r["sections"].append("nonsense"), "sections[8]", "must be a mapping of fields"),
        (lambda r: r.update(sections=[]), "sections", "must have at least 1 item(s), not 0"),
    ],
)
def test_a_broken_layout_is_refused_naming_file_and_field(tmp_path, change, field, words):
    folder = with_change(tmp_path, change)
    message = refusal(folder)
    assert message.startswith(f"{folder.as_posix()}/daily_summary.yaml: {field}: ")
    assert words in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("name", "change", "field", "words"),
    [
        (
            "daily_summary",
            lambda r: section(r, "kpis").setdefault("display", {}).update(by_venue=True),
            "sections[2] (kpis)",
            "by_venue is for group layouts only: add scope: group to the layout",
        ),
        (
            "daily_summary",
            lambda r: section(r, "executive_summary").update(source="group_overview"),
            "sections[1] (executive_summary)",
            "group_overview is for group layouts only",
        ),
        (
            "group_daily_summary",
            lambda r: section(r, "overview").update(source="executive_summary"),
            "sections[1] (overview) source",
            "executive_summary is one venue's: a group layout cannot use it",
        ),
        (
            "group_daily_summary",
            lambda r: section(r, "kpis")["display"].pop("by_venue"),
            "sections[3] (kpis) display",
            "a group layout's metrics are by_venue: true (a row per venue)",
        ),
        ("group_daily_summary", lambda r: r.update(scope="region"), "scope", "unknown scope 'region'"),
    ],
)
def test_a_layout_keeps_to_its_scope(tmp_path, name, change, field, words):
    folder = with_change(tmp_path, change, name)
    message = refusal(folder)
    assert message.startswith(f"{folder.as_posix()}/{name}.yaml: {field}: "), message
    assert words in message


def test_a_blank_optional_field_is_left_out_but_a_blank_required_one_is_refused(tmp_path):
    def blank(raw):
        section(raw, "bookings").update(display=None)
        section(raw, "bookings")["query"].update(filters=None, sort=None)

    bookings = load_layouts(with_change(tmp_path / "a", blank))["daily_summary"].sections[2]
    assert (bookings.key, bookings.display, bookings.query.filters, bookings.query.sort) == (
        "bookings",
        {},
        {},
        (),
    )
    folder = with_change(tmp_path / "b", lambda r: section(r, "bookings").update(source=None))
    assert refusal(folder).endswith(
        "daily_summary.yaml: sections[3] (bookings) source: input should be a valid string, not None"
    )


def test_several_mistakes_are_counted_after_the_first(tmp_path):
    def two(raw):
        raw.update(period="fortnight", cache_ttl_minutes="lots")

    message = refusal(with_change(tmp_path, two))
    assert ": period: unknown period 'fortnight'" in message
    assert message.endswith("(and 1 more)")


def test_the_code_location_refuses_a_bad_layout_with_one_sentence(tmp_path):
    folder = with_change(tmp_path, lambda r: r["schedule"].update(cron="0 0 9 * * 1"), name="weekly_summary")
    environment = {
        **os.environ,
        "BACKROOM_LAYOUTS_DIR": "layouts",  # relative, as the default report_layouts is
        "DAGSTER_HOME": str(tmp_path),
        "PYTHONPATH": str(Path(__file__).parents[2]),  # this checkout's code
    }
    loaded = subprocess.run(
        [sys.executable, "-c", "import backroom_reporting.definitions"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert loaded.returncode != 0
    assert folder.is_dir()
    assert loaded.stderr.strip().splitlines()[-1] == (
        "backroom_reporting.rendering.layouts.LayoutError: layouts/weekly_summary.yaml: schedule.cron: "
        "'0 0 9 * * 1' has 6 fields; a cron has 5: minute hour day-of-month month day-of-week, "
        "e.g. '0 22 * * *' for 22:00 daily"
    )
