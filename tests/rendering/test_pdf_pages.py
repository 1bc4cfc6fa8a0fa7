"""A PDF read page by page: tables break where a reader can follow them, the running header
and footer say only what a person needs (venue, report, period, when, page).

Tables of many lengths, after preambles of many lengths, so each kind of page break (after
the header, before the last row, before the totals, before the closing note) happens in one
of them; each page is then read as the reader sees it, line by line from the top.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import polars as pl
import pypdf
import pytest

from backroom_reporting.rendering.html import render_html
from backroom_reporting.rendering.model import Column, Section
from backroom_reporting.rendering.pdf import render_pdf

from .builders import daily_report

MM = 72 / 25.4
TOP_MARGIN, BOTTOM_MARGIN = 25 * MM, 18 * MM  # report.css: @page margin
HEADER_LINE = "NAME NIGHT SALES"  # the table's header, set in capitals
TITLE = "Sales by Till"
CAPTION = "Every till, busiest first."
COLOPHON_START = "Daily Summary for The Backroom Leeds"


@dataclass
class Page:
    header: str  # the running header, in the top margin
    body: list[str]  # lines between the margins, top to bottom
    footer: str  # the bottom margin


def pages_of(pdf: bytes) -> list[Page]:
    pages = []
    for page in pypdf.PdfReader(io.BytesIO(pdf)).pages:
        height = float(page.mediabox.height)
        runs: dict[float, list[str]] = {}

        def visit(text, cm, tm, _font, _size, runs=runs):
            if text.strip():
                y = round(tm[5] * cm[3] + cm[5])  # baseline, in points from the page's foot
                runs.setdefault(y, []).append(" ".join(text.split()))

        page.extract_text(visitor_text=visit)
        lines = [(y, " ".join(parts)) for y, parts in sorted(runs.items(), reverse=True)]
        pages.append(
            Page(
                header=" ".join(t for y, t in lines if y > height - TOP_MARGIN),
                body=[t for y, t in lines if BOTTOM_MARGIN <= y <= height - TOP_MARGIN],
                footer=" ".join(t for y, t in lines if y < BOTTOM_MARGIN),
            )
        )
    return pages


def till_table(rows: int) -> Section:
    frame = pl.DataFrame(
        {
            "till": [f"Till {n:03d}" for n in range(1, rows + 1)],
            "night": ["Sat 21 Nov"] * rows,
            "sales_pence": [100 * n for n in range(1, rows + 1)],
        }
    )
    columns = (
        Column("till", "Name", "text"),
        Column("night", "Night", "text"),
        Column("sales_pence", "Sales", "money", "sum"),
    )
    return Section("tills", TITLE, "table", table=frame, columns=columns, totals=True, caption=CAPTION)


def render(rows: int, preamble: int, layouts_dir) -> list[Page]:
    sections = (
        Section("notes", "Notes", "summary", paragraphs=tuple(f"Note {n}." for n in range(preamble))),
        till_table(rows),
    )
    report = daily_report(sections=sections[0 if preamble else 1 :])
    return pages_of(render_pdf(render_html(report, "print", {}, layouts_dir)))


def is_row(line: str) -> bool:
    return line.startswith("Till ")


def is_total(line: str) -> bool:
    return line.startswith("Total £")


# Lengths around where the first page fills: one of each puts the header, the last row,
# the totals row or the closing note at the foot or the top of a page.
LONG_TABLES = [(rows, 0) for rows in range(22, 40)]
LATE_TABLES = [(6, preamble) for preamble in range(14, 30, 1)]


@pytest.fixture(scope="module")
def paginated(layouts_dir) -> dict[tuple[int, int], list[Page]]:
    return {case: render(*case, layouts_dir) for case in LONG_TABLES + LATE_TABLES}


def test_the_cases_cross_pages_at_every_point(paginated):
    """The sweep is worth its time only if the table really breaks across pages."""
    split = [case for case, pages in paginated.items() if sum(any(map(is_row, p.body)) for p in pages) > 1]
    moved = [case for case, pages in paginated.items() if not any(map(is_row, pages[0].body))]
    assert len(split) >= 10 and moved  # tables split over pages; late tables moved to the next


@pytest.mark.parametrize("case", LONG_TABLES + LATE_TABLES, ids="{0[0]} rows after {0[1]} notes".format)
def test_no_orphan_rows(paginated, case):
    rows, _ = case
    pages = paginated[case]
    seen = []
    for number, page in enumerate(pages, start=1):
        table = [line for line in page.body if is_row(line) or is_total(line) or line == HEADER_LINE]
        if not table:
            continue
        # Every page with rows repeats the header above them, and holds at least two of them.
        assert table[0] == HEADER_LINE, (number, page.body)
        data = [line for line in table if is_row(line)]
        assert len(data) >= 2, (number, table)
        # The totals row comes after at least the last two rows, on the same page.
        if any(map(is_total, table)):
            assert table[-1] == f"Total £{sum(range(1, rows + 1)):,}.00"
            assert len(data) >= 2 and table[-3:-1] == data[-2:], (number, table)
        seen += data
    assert seen == [f"Till {n:03d} Sat 21 Nov £{n:,}.00" for n in range(1, rows + 1)]


@pytest.mark.parametrize("case", LONG_TABLES + LATE_TABLES, ids="{0[0]} rows after {0[1]} notes".format)
def test_no_page_holds_only_a_caption_or_the_closing_note(paginated, case):
    pages = paginated[case]
    for number, page in enumerate(pages, start=1):
        # The closing note is the last thing in a report: first on a page, it is alone there.
        assert not page.body[0].startswith(COLOPHON_START), (number, "only the closing note")
        if CAPTION in page.body:  # the caption sits between its title and the table's first rows
            at = page.body.index(CAPTION)
            assert page.body[at - 1] == TITLE and page.body[at + 1] == HEADER_LINE
            assert is_row(page.body[at + 2]) and is_row(page.body[at + 3])
        assert page.body[-1] != TITLE, (number, "a title ends the page")
    assert any(line.startswith(COLOPHON_START) for line in pages[-1].body)


def test_running_header_and_footer_are_for_people(paginated, layouts_dir):
    pages = paginated[(39, 0)]
    assert len(pages) >= 2
    for number, page in enumerate(pages, start=1):
        assert page.header == (
            "THE BACKROOM LEEDS Daily Summary · Saturday 21 November 2026 "
            "Generated Sun 22 Nov 2026, 06:15 GMT"
        )
        assert page.footer == f"Page {number} of {len(pages)}"
    # Nor do internal identifiers show anywhere on the page: no template key or version hash.
    report = daily_report()
    charts = {s.key: "<svg></svg>" for s in report.sections if s.kind == "chart"}
    text = "\n".join(
        line
        for page in pages_of(render_pdf(render_html(report, "print", charts, layouts_dir)))
        for line in [page.header, page.footer, *page.body]
    )
    assert report.template_version not in text
    assert report.template_key not in text
