"""The print variant of a report's HTML as a PDF, through WeasyPrint."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from weasyprint import HTML
from weasyprint.urls import URLFetcher


def render_pdf(print_html: str) -> bytes:
    """A4 PDF bytes from the print variant (see html.render_html).

    The document is self-contained (stylesheet and charts inline), so the fetcher allows data:
    URLs only: nothing is fetched from disk or the network.
    """
    return HTML(string=print_html, url_fetcher=URLFetcher(allowed_protocols={"data"})).write_pdf()


class PdfPrinter:
    """Prints a run's PDFs: in line, or ahead in worker processes beside the run.

    WeasyPrint's layout is single-threaded Python and most of a report's render time. A run
    with several distinct PDFs hands them to the workers up front (`print_ahead`) and goes
    on drawing charts and writing the other formats on its own core; `pdf` then takes the
    printed bytes, or prints in line what was not handed ahead. The workers are spawned, not
    forked: the run holds threads (Dagster's, the chart session's) that a fork would copy
    mid-flight. Charts stay in the run's one Chromium; workers get finished HTML.
    """

    # Each worker holds about 100 MB and more while it lays out a long report: a run's pod is
    # sized for the run (1.5 GiB), and a container sees every core of its node.
    MOST_WORKERS = 2

    def __init__(self, workers: int | None = None):
        # One core stays with the run (and its Chromium) for everything that is not a PDF.
        cores = len(os.sched_getaffinity(0))
        self.workers = workers or max(1, min(cores - 1, self.MOST_WORKERS))
        self._pool: ProcessPoolExecutor | None = None
        self._ahead: dict[str, Future[bytes]] = {}

    def print_ahead(self, print_html: str) -> None:
        key = _key(print_html)
        if key in self._ahead:
            return
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))
        self._ahead[key] = self._pool.submit(render_pdf, print_html)

    def pdf(self, print_html: str) -> bytes:
        """The PDF of `print_html`: printed ahead if it was handed over, else printed now."""
        ahead = self._ahead.pop(_key(print_html), None)
        if ahead is not None:
            try:
                return ahead.result()
            except BrokenProcessPool:
                pass  # a worker died (not WeasyPrint refusing the page): print it here instead
        return render_pdf(print_html)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._ahead.clear()

    def __enter__(self) -> PdfPrinter:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()


def _key(print_html: str) -> str:
    return hashlib.sha256(print_html.encode("utf-8")).hexdigest()
