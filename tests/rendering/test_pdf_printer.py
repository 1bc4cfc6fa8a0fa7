"""A run's PDFs printed ahead, beside it: the same bytes as printed in line, each page its own,
and a worker that dies costs nothing but time (its pages are printed in the run instead)."""

from __future__ import annotations

import io
import multiprocessing

import pypdf

from backroom_reporting.rendering.formats import print_variant
from backroom_reporting.rendering.pdf import PdfPrinter, render_pdf

from .builders import closed_report, daily_report, weekly_report


def first_page_text(pdf: bytes) -> str:
    return pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text()


def pages(chart_renderer, layouts_dir) -> list[str]:
    return [
        print_variant(r, chart_renderer, layouts_dir)
        for r in (daily_report(), weekly_report(), closed_report())
    ]


def test_pdfs_printed_ahead_are_the_bytes_printed_in_line(chart_renderer, layouts_dir):
    html = pages(chart_renderer, layouts_dir)
    with PdfPrinter(workers=1) as printer:
        for page in html:
            printer.print_ahead(page)
        assert multiprocessing.active_children(), "the printer started no worker process"
        printed = [printer.pdf(page) for page in reversed(html)][::-1]
    assert printed == [render_pdf(page) for page in html]
    # Each page came back as its own document, not a neighbour's.
    assert "Daily Summary" in first_page_text(printed[0])
    assert "Weekly Summary" in first_page_text(printed[1])
    assert len(set(printed)) == 3


def test_a_page_not_handed_ahead_is_printed_in_line(chart_renderer, layouts_dir):
    daily, weekly, _closed = pages(chart_renderer, layouts_dir)
    with PdfPrinter(workers=1) as printer:
        printer.print_ahead(daily)
        assert printer.pdf(weekly) == render_pdf(weekly)
        assert printer.pdf(daily) == render_pdf(daily)


def test_a_worker_that_dies_leaves_its_pages_printed_in_line(chart_renderer, layouts_dir):
    html = pages(chart_renderer, layouts_dir)
    with PdfPrinter(workers=1) as printer:
        for page in html:
            printer.print_ahead(page)
        workers = multiprocessing.active_children()
        assert workers
        for worker in workers:
            worker.kill()
            worker.join()
        assert [printer.pdf(page) for page in html] == [render_pdf(page) for page in html]
