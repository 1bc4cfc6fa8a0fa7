"""CSV files parsed back with the csv module: one per section, the venue and the date on every
row, units in the column names (money in `_pence`, rates in `_pct`), and the figures as the
report's own data says, converted here independently.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
import zipfile

import polars as pl
import pytest

from backroom_reporting.rendering.csv_export import render_csv
from backroom_reporting.rendering.model import Column, Report, Section

from .builders import (
    CARDS,
    EVENTS,
    HOURLY,
    NIGHT,
    closed_report,
    daily_report,
    single_table_report,
    summary_section,
    weekly_report,
)

VENUE = {"venue_id": "backroom-leeds", "venue_name": "The Backroom Leeds"}


def files_of(report: Report) -> dict[str, list[dict[str, str]]]:
    """Each CSV of the report by name, as rows of column name -> text."""
    extension, content = render_csv(report)
    assert extension == "zip"
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {
            name: list(csv.DictReader(io.StringIO(archive.read(name).decode("utf-8"))))
            for name in archive.namelist()
        }


def header_of(report: Report, name: str) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(render_csv(report)[1])) as archive:
        return next(csv.reader(io.StringIO(archive.read(name).decode("utf-8"))))


def pence(text: str) -> int | None:
    return None if text == "" else int(text)


def percent(text: str) -> float | None:
    return None if text == "" else float(text)


def test_one_file_per_section_in_order_zipped_with_fixed_times():
    report = daily_report()
    extension, content = render_csv(report)
    archive = zipfile.ZipFile(io.BytesIO(content))
    assert extension == "zip"
    assert archive.namelist() == [f"{n:02d}_{s.key}.csv" for n, s in enumerate(report.sections, start=1)]
    assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    assert render_csv(daily_report()) == (extension, content)  # the same data, the same bytes


def test_one_section_gives_a_single_csv():
    report = daily_report(sections=(daily_report().sections[3],))
    extension, content = render_csv(report)
    assert extension == "csv"
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8"))))
    assert [r["event_name"] for r in rows] == EVENTS["event_name"].to_list()
    assert render_csv(single_table_report())[0] == "zip"  # a summary and a table: two files


@pytest.mark.parametrize(
    "report", [daily_report(), weekly_report(), closed_report()], ids="{0.period_kind}".format
)
def test_every_row_names_the_venue_and_its_date(report):
    files = files_of(report)
    for section, (name, rows) in zip(report.sections, files.items(), strict=True):
        header = header_of(report, name)
        assert header[:2] == ["venue_id", "venue_name"], name
        own_night = "business_date" in {c.key for c in section.columns} or (
            section.chart is not None and section.chart.x.kind == "date"
        )
        if own_night:
            dates = {}  # each row's own night
        elif report.first_day == report.last_day:
            dates = {"business_date": report.first_day.isoformat()}
        else:
            dates = {"period_start": report.first_day.isoformat(), "period_end": report.last_day.isoformat()}
        assert header[2 : 2 + len(dates)] == list(dates), name
        for row in rows:
            assert {k: row[k] for k in VENUE} == VENUE
            assert {k: row[k] for k in dates} == dates
            if own_night:
                night = row.get("business_date") or row[section.chart.x.key]
                assert re.fullmatch(r"\d{4}-\d\d-\d\d", night), (name, night)


def test_units_are_in_the_column_names_and_figures_in_those_units():
    rows = files_of(daily_report())["03_hourly.csv"]
    assert list(rows[0]) == [
        "venue_id",
        "venue_name",
        "business_date",
        "local_hour",
        "check_ins",
        "bar_revenue_pence",
        "table_revenue_pence",
        "occupancy_rate_pct",
    ]
    assert [int(r["local_hour"]) for r in rows] == HOURLY["local_hour"].to_list()
    assert [None if r["check_ins"] == "" else int(r["check_ins"]) for r in rows] == HOURLY[
        "check_ins"
    ].to_list()
    assert [pence(r["bar_revenue_pence"]) for r in rows] == HOURLY["bar_revenue_pence"].to_list()
    assert [pence(r["table_revenue_pence"]) for r in rows] == HOURLY["table_revenue_pence"].to_list()
    for row, fraction in zip(rows, HOURLY["occupancy_rate"], strict=True):
        assert percent(row["occupancy_rate_pct"]) == (
            None if fraction is None else pytest.approx(fraction * 100)
        )


def test_a_money_key_gets_its_unit_and_a_mean_is_rounded_to_the_penny():
    frame = pl.DataFrame(
        {"segment": ["vip", "regular"], "avg_spend": [4550.4, 1000.6], "churn": [0.12345, None]}
    )
    columns = (
        Column("segment", "Segment", "text"),
        Column("avg_spend", "Avg spend", "money"),
        Column("churn", "Churn risk", "percent"),
    )
    section = Section("customers", "Customers", "table", table=frame, columns=columns)
    _, content = render_csv(dataclasses.replace(weekly_report(), sections=(section,)))
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8"))))
    assert [(r["segment"], r["avg_spend_pence"], r["churn_pct"]) for r in rows] == [
        ("vip", "4550", "12.35"),
        ("regular", "1001", ""),
    ]
    assert rows[0]["period_start"] == "2026-11-16" and rows[0]["period_end"] == "2026-11-22"


def test_kpis_are_rows_with_their_unit():
    rows = files_of(daily_report())["02_headline_kpis.csv"]
    assert list(rows[0])[3:] == [
        "kpi_key",
        "kpi",
        "unit",
        "value",
        "target",
        "status",
        "trend",
        "better_when",
        "change_vs_same_night_last_week_pct",
        "change_vs_last_year_pct",
    ]
    assert [r["kpi_key"] for r in rows] == [card.key for card in CARDS]
    for row, card in zip(rows, CARDS, strict=True):
        assert row["kpi"] == card.name and row["business_date"] == NIGHT.isoformat()
        if card.kind == "money":
            assert row["unit"] == "pence"
            assert int(row["value"]) == card.value and int(row["target"]) == card.target
        elif card.kind == "percent":
            assert row["unit"] == "pct"
            assert float(row["value"]) == pytest.approx(card.value * 100)
            assert float(row["target"]) == pytest.approx(card.target * 100)
        else:
            assert row["unit"] == card.kind and float(row["value"]) == card.value
        assert row["status"] == (card.status or "") and row["trend"] == (card.trend or "")
        assert row["better_when"] == ("lower" if card.lower_is_better else "higher")
        change = card.comparisons.get("vs same night last week")
        assert percent(row["change_vs_same_night_last_week_pct"]) == (
            None if change is None else pytest.approx(change * 100)
        )


def test_summaries_are_rows_of_paragraphs_and_points():
    rows = files_of(daily_report())["01_executive_summary.csv"]
    summary = summary_section()
    assert [(r["part"], r["tone"], r["text"]) for r in rows] == [
        *(("paragraph", "", p) for p in summary.paragraphs),
        *(("point", b.tone, b.text) for b in summary.bullets),
    ]


def test_an_empty_section_keeps_its_header():
    files = files_of(closed_report())
    assert files["03_hourly.csv"] == []
    assert header_of(closed_report(), "03_hourly.csv")[3:] == [
        "local_hour",
        "check_ins",
        "bar_revenue_pence",
        "table_revenue_pence",
        "occupancy_rate_pct",
    ]
