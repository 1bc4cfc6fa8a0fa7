"""Render a Report into the formats it is asked for, timing each stage.

pdf   WeasyPrint from the print variant of the HTML (static SVG charts)
html  the web variant: one self-contained file with interactive charts
xlsx  a workbook, one Excel table per section, real number formats, native charts
csv   one CSV per section, zipped when there are several
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from backroom_reporting.rendering.charts import ChartRenderer
from backroom_reporting.rendering.csv_export import render_csv
from backroom_reporting.rendering.excel import render_xlsx
from backroom_reporting.rendering.html import render_html
from backroom_reporting.rendering.model import FORMATS, Format, RenderedFile, Report, Section
from backroom_reporting.rendering.pdf import render_pdf

MEDIA_TYPES = {
    "pdf": "application/pdf",
    "html": "text/html; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "zip": "application/zip",
}
STAGES = ("charts", "html", "pdf", "xlsx", "csv")


def chart_sections(report: Report) -> list[Section]:
    return [s for s in report.sections if s.kind == "chart" and s.chart is not None]


def static_charts(report: Report, charts: ChartRenderer) -> dict[str, str]:
    """Inline SVG per chart section, for the print variant."""
    return {s.key: charts.svg(s.chart, s.key) for s in chart_sections(report)}


def interactive_charts(report: Report, charts: ChartRenderer) -> dict[str, str]:
    """Plotly HTML per chart section, plotly.js inlined with the first chart only."""
    return {
        s.key: charts.interactive_html(s.chart, include_plotlyjs=i == 0, element_id=s.key)
        for i, s in enumerate(chart_sections(report))
    }


def print_variant(report: Report, charts: ChartRenderer, layouts_dir: Path | str | None = None) -> str:
    """The HTML WeasyPrint makes the PDF from: the print variant, with static SVG charts."""
    return render_html(report, "print", static_charts(report, charts), layouts_dir)


def render(
    report: Report,
    formats: Iterable[Format],
    charts: ChartRenderer,
    layouts_dir: Path | str | None = None,
    print_pdf: Callable[[str], bytes] = render_pdf,
) -> tuple[list[RenderedFile], dict[str, float]]:
    """The report's files in the order asked, and the seconds spent per stage (all of STAGES);
    `print_pdf` turns the print variant into the PDF (a run's PdfPrinter may have it ready)."""
    wanted = list(dict.fromkeys(formats))
    unknown = [f for f in wanted if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown report format(s) {', '.join(unknown)}; known: {', '.join(FORMATS)}")
    seconds = dict.fromkeys(STAGES, 0.0)

    @contextmanager
    def timed(stage: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        seconds[stage] += time.perf_counter() - started

    stem = report.file_stem
    files: dict[str, RenderedFile] = {}
    if "pdf" in wanted:
        with timed("charts"):
            svgs = static_charts(report, charts)
        with timed("html"):
            print_html = render_html(report, "print", svgs, layouts_dir)
        with timed("pdf"):
            files["pdf"] = RenderedFile("pdf", f"{stem}.pdf", print_pdf(print_html), MEDIA_TYPES["pdf"])
    if "html" in wanted:
        with timed("charts"):
            interactive = interactive_charts(report, charts)
        with timed("html"):
            web = render_html(report, "web", interactive, layouts_dir).encode("utf-8")
        files["html"] = RenderedFile("html", f"{stem}.html", web, MEDIA_TYPES["html"])
    if "xlsx" in wanted:
        with timed("xlsx"):
            files["xlsx"] = RenderedFile("xlsx", f"{stem}.xlsx", render_xlsx(report), MEDIA_TYPES["xlsx"])
    if "csv" in wanted:
        with timed("csv"):
            extension, content = render_csv(report)
        files["csv"] = RenderedFile("csv", f"{stem}.{extension}", content, MEDIA_TYPES[extension])
    return [files[f] for f in wanted], seconds
