"""Charts of a report: a plotly figure from a `Chart`, drawn by kaleido as static SVG (print),
as PNG (email: mail clients show images, not inline SVG) or as interactive plotly HTML (web).

Static drawing needs a headless Chromium. Starting one costs 2-5 s and each figure after that
0.2-0.4 s, so a `ChartRenderer` keeps one kaleido session open for all the charts of a run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

import kaleido
import plotly.graph_objects as go
import plotly.io as pio
from choreographer.browsers.chromium import Chromium

from backroom_reporting.rendering.formatting import format_date, format_value
from backroom_reporting.rendering.model import Chart, ValueKind

PALETTE = ("#1f3a5f", "#3d8c95", "#c08a2e", "#8a94a3", "#a4505a", "#5a8f5e")
FONT = "DejaVu Sans, Segoe UI, Helvetica Neue, Helvetica, Arial, sans-serif"
SVG_OPTIONS = {"format": "svg", "width": 760, "height": 320}
# Drawn at twice the size it is shown, so it stays sharp on high-density screens.
PNG_OPTIONS = {"format": "png", "width": 760, "height": 320, "scale": 2}
WEB_HEIGHT = "340px"
# Y-axis tick formats by the kind of the chart's first series (values already in pounds).
Y_AXIS_FORMATS: dict[str, dict[str, str]] = {
    "money": {"tickprefix": "£", "tickformat": ",.0f"},
    "percent": {"tickformat": ".0%"},
    "count": {"tickformat": ",d"},
    "score": {"tickformat": ".1f"},
}
# Static drawings kept per renderer, so a re-render in the same run draws each chart once.
DRAWING_CACHE_SIZE = 256


class ChartRendererError(RuntimeError):
    """Charts cannot be drawn: no usable Chromium, or the session is not open."""


def axis_values(values: list[Any], kind: ValueKind) -> list[Any]:
    """Values as the axis shows them: money in pounds (from pence), everything else as it is."""
    if kind == "money":
        return [None if v is None else v / 100 for v in values]
    return values


def x_labels(values: list[Any], kind: ValueKind) -> list[str]:
    """Category labels: "22:00" for hours, "Sat 21 Nov" for dates (the year is in the report)."""
    if kind == "date":
        return [format_date(v).rsplit(" ", 1)[0] if isinstance(v, dt.date) else str(v) for v in values]
    return [format_value(v, kind) for v in values]


def figure(chart: Chart) -> go.Figure:
    """The plotly figure of a chart, in the report's palette and type."""
    labels = x_labels(chart.data.get_column(chart.x.key).to_list(), chart.x.kind)
    traces = []
    for i, series in enumerate(chart.series):
        raw = chart.data.get_column(series.key).to_list()
        common = {
            "x": labels,
            "y": axis_values(raw, series.kind),
            "name": series.label,
            "customdata": [format_value(v, series.kind) for v in raw],
            "hovertemplate": f"%{{x}}<br>{series.label}: %{{customdata}}<extra></extra>",
        }
        colour = PALETTE[i % len(PALETTE)]
        if chart.kind == "line":
            traces.append(
                go.Scatter(
                    **common, mode="lines+markers", line={"color": colour, "width": 2.4}, marker={"size": 6}
                )
            )
        else:
            traces.append(go.Bar(**common, marker={"color": colour, "line": {"width": 0}}))
    fig = go.Figure(traces)
    grid = "#e6e9ee"
    fig.update_layout(
        template="none",
        barmode="stack" if chart.kind == "stacked_bar" else "group",
        bargap=0.28,
        bargroupgap=0.06,
        paper_bgcolor="#ffffff",
        plot_bgcolor="#ffffff",
        font={"family": FONT, "size": 12, "color": "#434c5b"},
        margin={"l": 64, "r": 16, "t": 40 if len(chart.series) > 1 else 16, "b": 48},
        showlegend=len(chart.series) > 1,
        legend={
            "orientation": "h",
            "traceorder": "normal",
            "x": 0,
            "y": 1.02,
            "xanchor": "left",
            "yanchor": "bottom",
        },
        hoverlabel={"font": {"family": FONT}},
        xaxis={
            "type": "category",
            "showgrid": False,
            "linecolor": "#b9c0ca",
            "ticks": "",
            "automargin": True,
            "title": {"text": chart.x.label, "standoff": 8},
        },
        yaxis={
            "gridcolor": grid,
            "zeroline": True,
            "zerolinecolor": "#b9c0ca",
            "ticks": "",
            "automargin": True,
            "rangemode": "tozero",
            "title": {"text": chart.y_title, "standoff": 10},
            **Y_AXIS_FORMATS.get(chart.series[0].kind if chart.series else "number", {}),
        },
    )
    return fig


def _namespaced(svg: str, element_id: str) -> str:
    """Plotly names the ids inside an SVG after a random uid; naming them after the section
    keeps several charts in one document apart and makes the same chart give the same bytes."""
    found = re.search(r'id="defs-([0-9a-z]+)"', svg)
    if not found:
        return svg
    return re.sub(rf"(defs-|clip|legend){found.group(1)}", rf"\g<1>-{element_id}-", svg)


def _chromium_path() -> str | None:
    """Where kaleido will find Chromium: BROWSER_PATH if set, else the usual places."""
    return os.environ.get("BROWSER_PATH") or Chromium.find_browser(skip_local=False)


# A browser that started but failed its first figure is started again this many times in all.
WARM_UP_ATTEMPTS = 3


class ChartRenderer:
    """One kaleido (headless Chromium) session for the charts of a run.

    kaleido's sync server is one per process, so renderers share it: the first to open
    starts Chromium and the last to close stops it (a run inside a test session that
    already draws charts reuses the session's browser).

        with ChartRenderer() as charts:
            svg = charts.svg(chart, "revenue_by_hour")
    """

    _users_in_process = 0

    def __init__(self, start_timeout_seconds: float = 60.0):
        self.start_timeout_seconds = start_timeout_seconds
        self._open = False
        self._drawings: dict[str, str | bytes] = {}

    def __enter__(self) -> ChartRenderer:
        path = _chromium_path()
        if not path or not Path(path).is_file():
            raise ChartRendererError(
                "Charts are drawn by a headless Chromium, and none was found"
                + (f" at BROWSER_PATH={path!r}" if path else "")
                + ". Install it with `apt-get install -y chromium` (or point BROWSER_PATH at a Chromium "
                "or Chrome executable)."
            )
        if ChartRenderer._users_in_process == 0:
            kaleido.start_sync_server(mathjax=False)
        ChartRenderer._users_in_process += 1
        self._open = True
        try:
            if ChartRenderer._users_in_process == 1:
                self._warm_up(path)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._open:
            self._open = False
            ChartRenderer._users_in_process -= 1
            if ChartRenderer._users_in_process == 0:
                kaleido.stop_sync_server(silence_warnings=True)

    def _warm_up(self, path: str) -> None:
        """Start Chromium now with an empty figure, so a browser that cannot start fails here,
        clearly, rather than hanging the first chart (kaleido waits forever on a dead browser).

        On a busy machine kaleido may ask its page to draw before the page's own script has
        loaded ("kaleido_scopes is not defined"): the browser is then started again, up to
        WARM_UP_ATTEMPTS times."""
        for attempt in range(1, WARM_UP_ATTEMPTS + 1):
            outcome: list[BaseException | None] = []

            def draw(outcome: list[BaseException | None] = outcome) -> None:
                try:
                    kaleido.calc_fig_sync(go.Figure(), opts=SVG_OPTIONS)
                    outcome.append(None)
                except Exception as exc:  # handed to the caller's thread below
                    outcome.append(exc)

            worker = threading.Thread(target=draw, name="chart-renderer-warm-up", daemon=True)
            worker.start()
            worker.join(self.start_timeout_seconds)
            if outcome and outcome[0] is None:
                return
            if outcome and attempt < WARM_UP_ATTEMPTS:
                kaleido.stop_sync_server(silence_warnings=True)
                kaleido.start_sync_server(mathjax=False)
                continue
            reason = f": {outcome[0]}" if outcome else f" within {self.start_timeout_seconds:.0f} s"
            raise ChartRendererError(
                f"Chromium at {path} did not start for kaleido{reason}. Reinstall it with "
                "`apt-get install -y chromium`."
            )

    def svg(self, chart: Chart, element_id: str = "chart") -> str:
        """The chart as an inline SVG document; ids inside are prefixed by `element_id`."""
        return self._drawn(
            "svg", chart, element_id, lambda drawn: _namespaced(drawn.decode("utf-8"), element_id)
        )

    def png(self, chart: Chart, element_id: str = "chart") -> bytes:
        """The chart as a PNG image, 760 x 320 shown (drawn at twice that)."""
        return self._drawn("png", chart, element_id, lambda drawn: drawn)

    def _drawn(self, kind: str, chart: Chart, element_id: str, finish):
        if not self._open:
            raise ChartRendererError(
                f"ChartRenderer.{kind} needs an open renderer: use `with ChartRenderer()`"
            )
        fig = figure(chart)
        key = hashlib.sha256(f"{kind}\0{element_id}\0{fig.to_json()}".encode()).hexdigest()
        if key not in self._drawings:
            options = SVG_OPTIONS if kind == "svg" else PNG_OPTIONS
            drawn = kaleido.calc_fig_sync(fig, opts=options)
            if len(self._drawings) >= DRAWING_CACHE_SIZE:
                self._drawings.pop(next(iter(self._drawings)))
            self._drawings[key] = finish(drawn)
        return self._drawings[key]

    @staticmethod
    def interactive_html(chart: Chart, include_plotlyjs: bool, element_id: str = "chart") -> str:
        """The chart as a plotly <div> and script; with `include_plotlyjs`, plotly.js itself is
        inlined before it (once per page: later charts reuse it). Loads nothing from the network."""
        return pio.to_html(
            figure(chart),
            full_html=False,
            include_plotlyjs=include_plotlyjs,
            include_mathjax=False,
            div_id=f"chart-{element_id}",
            default_width="100%",
            default_height=WEB_HEIGHT,
            config={
                "displaylogo": False,
                "responsive": True,
                "modeBarButtonsToRemove": ["lasso2d", "select2d"],
            },
        )
