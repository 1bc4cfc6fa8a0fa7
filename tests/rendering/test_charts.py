"""Plotly figures from Chart specs, static SVG through the shared kaleido session, web HTML."""

from __future__ import annotations

import re

import pytest

from backroom_reporting.rendering.charts import ChartRenderer, ChartRendererError, figure

from .builders import daily_report


def chart_of(key: str):
    return next(s.chart for s in daily_report().sections if s.key == key)


def test_money_is_drawn_in_pounds_on_hour_categories():
    fig = figure(chart_of("revenue_by_hour"))
    bar, table = fig.data
    assert list(bar.x) == ["21:00", "22:00", "23:00", "00:00", "01:00", "02:00"]
    assert list(bar.y) == [610.5, 1985.17, 4120.0, 3330.0, 2000.0, 300.0]
    assert bar.customdata[0] == "£610.50"
    assert fig.layout.barmode == "stack"
    assert fig.layout.yaxis.tickprefix == "£"
    assert table.name == "Table revenue"


def test_percent_lines_keep_fractions_and_gaps():
    fig = figure(chart_of("occupancy_trend"))
    (line,) = fig.data
    assert line.mode == "lines+markers"
    assert list(line.y) == [0.71, 0.8, None, 0.9567]
    assert list(line.x) == ["Sat 31 Oct", "Sat 7 Nov", "Sat 14 Nov", "Sat 21 Nov"]
    assert fig.layout.yaxis.tickformat == ".0%"


def test_svg_is_drawn_once_per_chart_with_its_own_ids(chart_renderer):
    chart = chart_of("revenue_by_hour")
    svg = chart_renderer.svg(chart, "revenue_by_hour")
    assert svg.startswith("<svg") and svg.count("<svg") == 1
    assert "22:00" in svg and "£4,000" in svg
    ids = re.findall(r'id="([^"]+)"', svg)
    assert ids and all("-revenue_by_hour-" in i for i in ids if i.startswith(("defs", "clip", "legend")))
    assert chart_renderer.svg(chart, "revenue_by_hour") is svg  # kept, not drawn again
    other = chart_renderer.svg(chart, "again")
    assert "-again-" in other and "-revenue_by_hour-" not in other


def test_interactive_html_inlines_plotly_only_when_asked(chart_renderer):
    chart = chart_of("revenue_by_hour")
    with_library = chart_renderer.interactive_html(chart, include_plotlyjs=True, element_id="revenue")
    without = chart_renderer.interactive_html(chart, include_plotlyjs=False, element_id="revenue")
    assert 'id="chart-revenue"' in without
    assert len(with_library) > 1_000_000 > len(without)
    assert "<script src=" not in with_library


def test_a_missing_chromium_is_named_with_its_install_command(monkeypatch):
    monkeypatch.setenv("BROWSER_PATH", "/nonexistent/chromium")
    with pytest.raises(ChartRendererError, match=r"apt-get install -y chromium"), ChartRenderer():
        pass


def test_renderers_in_one_process_share_the_browser_and_the_last_one_stops_it(chart_renderer):
    chart = next(s.chart for s in daily_report().sections if s.chart is not None)
    with ChartRenderer() as second:
        assert second.svg(chart, "shared").startswith("<svg")
    # The session's renderer is still open after the second one closed.
    assert chart_renderer.svg(chart, "after").startswith("<svg")


def test_drawing_needs_an_open_renderer():
    with pytest.raises(ChartRendererError, match="open renderer"):
        ChartRenderer().svg(chart_of("revenue_by_hour"))
