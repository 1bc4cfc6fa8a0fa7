"""`backroom report render`: exactly the files asked for, and specific refusals."""

import datetime as dt
import io
import sqlite3
import zipfile

import pytest
from click.testing import CliRunner

from backroom_reporting.cli import main


def render(world, tmp_path, *args: str):
    env = {
        "BACKROOM_WAREHOUSE_URL": world.databases.warehouse_url,
        "BACKROOM_SOURCE_URL": world.databases.source_url,
    }
    return CliRunner().invoke(main, ["report", "render", *args], env=env, catch_exceptions=False)


def test_one_csv_asked_for_a_report_of_several_tables_is_refused_and_a_folder_gets_plain_csvs(
    reporting_world, tmp_path
):
    refused = render(
        reporting_world,
        tmp_path,
        "daily_summary",
        "--date",
        "2026-11-21",
        "--format",
        "csv",
        "--out",
        str(tmp_path / "x.csv"),
    )
    assert refused.exit_code == 2
    assert "Daily Summary makes" in refused.output and "CSV files, one per section" in refused.output
    assert not (tmp_path / "x.csv").exists()
    folder = tmp_path / "out"
    done = render(
        reporting_world,
        tmp_path,
        "daily_summary",
        "--date",
        "2026-11-21",
        "--format",
        "csv",
        "--out",
        str(folder),
    )
    assert done.exit_code == 0, done.output
    names = sorted(p.name for p in folder.iterdir())
    assert names and all(name.endswith(".csv") for name in names)
    assert all(not zipfile.is_zipfile(folder / name) for name in names)
    zipped = tmp_path / "all.zip"
    done = render(
        reporting_world,
        tmp_path,
        "daily_summary",
        "--date",
        "2026-11-21",
        "--format",
        "csv",
        "--out",
        str(zipped),
    )
    assert done.exit_code == 0
    assert sorted(zipfile.ZipFile(io.BytesIO(zipped.read_bytes())).namelist())  # a real archive


def test_a_file_name_must_be_the_format_asked_for(reporting_world, tmp_path):
    refused = render(
        reporting_world,
        tmp_path,
        "daily_summary",
        "--date",
        "2026-11-21",
        "--format",
        "html",
        "--out",
        str(tmp_path / "report.pdf"),
    )
    assert refused.exit_code == 2 and "report.pdf is not a .html file name" in refused.output
    done = render(
        reporting_world,
        tmp_path,
        "daily_summary",
        "--date",
        "2026-11-21",
        "--format",
        "pdf",
        "--out",
        str(tmp_path / "report.pdf"),
    )
    assert done.exit_code == 0 and (tmp_path / "report.pdf").read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize("day", ["0001-01-01", "1970-01-01", "9999-12-31", "2026-12-25"])
def test_a_date_outside_the_nights_held_is_refused_by_name(reporting_world, tmp_path, day):
    refused = render(reporting_world, tmp_path, "daily_summary", "--date", day)
    assert refused.exit_code == 2
    assert f"{day} is outside the nights the warehouse holds, " in refused.output


def test_an_unknown_brand_is_refused_with_the_known_ones(reporting_world, tmp_path):
    refused = render(
        reporting_world, tmp_path, "daily_summary", "--date", "2026-11-21", "--brand", "FOAM PARTY"
    )
    assert refused.exit_code == 2
    assert "unknown brand 'FOAM PARTY'; known: LA FIESTA, SHHH!, NOSTALGIA, PRIVATE" in refused.output


def test_an_unknown_venue_is_refused_with_the_known_ones(reporting_world, tmp_path):
    refused = render(
        reporting_world, tmp_path, "daily_summary", "--date", "2026-11-21", "--venue", "backroom-york"
    )
    assert refused.exit_code == 2
    assert "unknown venue 'backroom-york'; known: backroom-leeds" in refused.output
    assert "did not trade" not in refused.output


def test_the_nights_just_outside_those_held_are_refused(reporting_world, tmp_path):
    path = reporting_world.databases.warehouse_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as connection:
        first, last = connection.execute(
            "SELECT min(business_date), max(business_date) FROM night_status"
        ).fetchone()
    first, last = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    for day in (first - dt.timedelta(days=1), last + dt.timedelta(days=1)):
        refused = render(reporting_world, tmp_path, "daily_summary", "--date", day.isoformat())
        assert refused.exit_code == 2
        assert f"{day} is outside the nights the warehouse holds, {first} to {last}" in refused.output
