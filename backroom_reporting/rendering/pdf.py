"""The print variant of a report's HTML as a PDF, through WeasyPrint."""

from __future__ import annotations

from weasyprint import HTML
from weasyprint.urls import URLFetcher


def render_pdf(print_html: str) -> bytes:
    """A4 PDF bytes from the print variant (see html.render_html).

    The document is self-contained (stylesheet and charts inline), so the fetcher allows data:
    URLs only: nothing is fetched from disk or the network.
    """
    return HTML(string=print_html, url_fetcher=URLFetcher(allowed_protocols={"data"})).write_pdf()
