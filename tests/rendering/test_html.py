"""Number formatting, totals and the HTML variants that need no charts."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import polars as pl
import pytest

from backroom_reporting.rendering.formatting import (
    change_tone,
    format_change,
    format_date,
    format_hour,
    format_money,
    format_timestamp,
    format_value,
)
from backroom_reporting.rendering.html import column_total, render_html
from backroom_reporting.rendering.model import Column

from .builders import closed_report, daily_report


@pytest.mark.parametrize(
    ("value", "kind", "short", "shown"),
    [
        (1_234_567, "money", False, "£12,345.67"),
        (1_234_567, "money", True, "£12,346"),  # KPI cards drop the pence from £1,000
        (99_999, "money", True, "£999.99"),
        (-4_550, "money", False, "-£45.50"),
        (0, "money", False, "£0.00"),
        (0.123, "percent", False, "12.3%"),
        (1, "percent", False, "100.0%"),
        (1234, "count", False, "1,234"),
        (4.2149, "score", False, "4.21"),
        (1.5, "number", False, "1.50"),
        (12345, "number", False, "12,345"),
        (23, "hour", False, "23:00"),
        (0, "hour", False, "00:00"),
        ("01:00 BST", "hour", False, "01:00 BST"),
        (dt.date(2026, 11, 21), "date", False, "Sat 21 Nov 2026"),
        ("LA FIESTA", "date", False, "LA FIESTA"),
        ("LA FIESTA", "text", False, "LA FIESTA"),
        (None, "money", False, "—"),
        (None, "percent", False, "—"),
        (float("nan"), "score", False, "—"),
    ],
)
def test_values_are_formatted_by_kind(value, kind, short, shown):
    assert format_value(value, kind, short) == shown


def test_single_formatters():
    assert format_money(1_234_567) == "£12,345.67"
    assert format_hour(None) == "—"
    assert format_date(dt.date(2026, 3, 1)) == "Sun 1 Mar 2026"


def test_timestamps_are_on_the_london_clock():
    assert format_timestamp(dt.datetime(2026, 11, 22, 6, 15, tzinfo=dt.UTC)) == "Sun 22 Nov 2026, 06:15 GMT"
    assert format_timestamp(dt.datetime(2026, 7, 5, 5, 0, tzinfo=dt.UTC)) == "Sun 5 Jul 2026, 06:00 BST"


@pytest.mark.parametrize(
    ("change", "shown"), [(0.12, "+12%"), (-0.25, "-25%"), (0.034, "+3.4%"), (0.0, "+0.0%"), (None, "—")]
)
def test_changes_are_signed(change, shown):
    assert format_change(change) == shown


def test_whether_a_change_is_good_depends_on_the_kpi_direction():
    assert change_tone(0.1, lower_is_better=False) == "good"
    assert change_tone(0.1, lower_is_better=True) == "bad"
    assert change_tone(-0.1, lower_is_better=True) == "good"
    assert change_tone(0.0, lower_is_better=False) == "flat"
    assert change_tone(None, lower_is_better=False) == "flat"


def test_totals_sum_or_average_the_non_null_values():
    frame = pl.DataFrame({"a": [100, None, 250], "b": [0.5, None, 0.25], "c": [None, None, None]})
    assert column_total(frame, Column("a", "A", "money", "sum")) == 350
    assert column_total(frame, Column("b", "B", "percent", "mean")) == pytest.approx(0.375)
    assert column_total(frame, Column("c", "C", "count", "sum")) is None
    assert column_total(frame, Column("a", "A", "money")) is None


def test_email_variant_has_inline_styles_and_no_script_or_style_block(layouts_dir):
    email = render_html(closed_report(), "email", {}, layouts_dir)
    assert "<script" not in email
    assert "<style" not in email
    assert "var(--" not in email  # mail clients do not resolve CSS variables
    assert re.search(r'<h1 style="[^"]*color: #1f3a5f', email)
    assert re.search(r'<table class="email-body"[^>]*width="680"', email)


def test_print_variant_has_a_running_header_and_page_rules(layouts_dir):
    printed = render_html(
        daily_report(),
        "print",
        {"revenue_by_hour": "<svg></svg>", "occupancy_trend": "<svg></svg>"},
        layouts_dir,
    )
    assert 'class="running-header"' in printed
    assert "@page" in printed
    assert 'content: "Page " counter(page) " of " counter(pages)' in printed


def test_the_layouts_folder_defaults_to_the_setting(monkeypatch, layouts_dir, tmp_path):
    monkeypatch.chdir(tmp_path)  # no report_layouts/ here: only the setting can find it
    monkeypatch.setenv("BACKROOM_LAYOUTS_DIR", str(layouts_dir))
    assert "Executive Summary" in render_html(closed_report(), "web", {})


def test_an_unknown_variant_is_refused(layouts_dir):
    with pytest.raises(ValueError, match="unknown HTML variant 'slides'"):
        render_html(closed_report(), "slides", {}, layouts_dir)


def test_report_warnings_are_shown_as_banners(layouts_dir):
    report = dataclasses.replace(closed_report(), warnings=("Bar sales after 02:00 are still loading.",))
    for variant in ("web", "email", "print"):
        html = render_html(report, variant, {}, layouts_dir)
        assert "Bar sales after 02:00 are still loading." in html
        assert "No trading." in html


def test_the_heading_names_a_brand_filter_in_words_and_no_ids(layouts_dir):
    report = daily_report()
    assert report.filters == {"venue_id": "backroom-leeds", "brand": "LA FIESTA"}
    for variant in ("web", "email", "print"):
        charts = {"revenue_by_hour": "<svg></svg>", "occupancy_trend": "<svg></svg>"}
        html = render_html(report, variant, charts, layouts_dir)
        assert "LA FIESTA nights only" in html
        assert "backroom-leeds" not in html and "venue id" not in html
