"""The report email as a webmail client shows it: the .eml delivered to the outbox is parsed, its
charts put in place of their cid: references, and the HTML loaded in headless Chromium with
every network request refused. Nothing but the open pixel reaches for the network, every chart
shows, and the night's figures are on the page."""

from __future__ import annotations

import base64
import re
import shutil
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default

import pytest

from backroom_reporting.delivery import links
from tests.design_section_5 import daily_figures
from tests.reports.venue import SATURDAY

PORTAL = "https://reports.backroom-leeds.example"
CHROMIUM = shutil.which("chromium")
# What a sandboxed webmail renderer would not do either: no updates, syncing or telemetry.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium binary on PATH (scripts/system-deps.sh)"
)


def as_a_mail_client_shows_it(mail: EmailMessage) -> str:
    """The HTML part with each cid: reference replaced by its image part as a data: URI."""
    page = mail.get_body(preferencelist=("html",))
    images = {
        part["Content-ID"].strip("<>"): part
        for part in mail.walk()
        if part.get_content_maintype() == "image" and part["Content-ID"]
    }

    def inline(match: re.Match) -> str:
        part = images[match[1]]
        encoded = base64.b64encode(part.get_content()).decode()
        return f'src="data:{part.get_content_type()};base64,{encoded}"'

    return re.sub(r'src="cid:([^"]+)"', inline, page.get_content())


@pytest.fixture
def delivered(venue, monkeypatch) -> EmailMessage:
    """Priya's daily summary of Saturday, delivered to the outbox."""
    monkeypatch.setenv("BACKROOM_PORTAL_URL", PORTAL)
    venue.deliver("sub-manager-daily")
    [written] = venue.outbox.glob("*.eml")
    return BytesParser(policy=default).parsebytes(written.read_bytes())


def test_the_report_email_shows_whole_in_a_browser_without_reaching_out(delivered, venue, tmp_path):
    from playwright.sync_api import sync_playwright

    html = as_a_mail_client_shows_it(delivered)
    assert "cid:" not in html
    asked: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 800, "height": 1200})
        page.route("**/*", lambda route: (asked.append(route.request.url), route.abort()))
        page.set_content(html, wait_until="load")

        charts = page.eval_on_selector_all(
            "img[src^='data:']", "images => images.map(i => [i.alt, i.naturalWidth, i.naturalHeight])"
        )
        unwanted = page.eval_on_selector_all(
            "style, link[rel~=stylesheet], script, svg", "found => found.map(e => e.outerHTML.slice(0, 80))"
        )
        shown = page.inner_text("body")
        page.screenshot(path=tmp_path / "email.png", full_page=True)
        browser.close()

    # Only the open pixel reached for the network (links are followed only when clicked).
    [pixel] = asked
    assert pixel.startswith(f"{PORTAL}{links.PATHS['open']}")
    images = [part for part in delivered.walk() if part.get_content_maintype() == "image"]
    assert len(charts) == len(images) > 0
    assert all(width > 0 and height > 0 for _, width, height in charts), charts
    assert unwanted == []

    expected = daily_figures(venue.source_url)[("backroom-leeds", SATURDAY)]
    assert "Saturday 21 November 2026" in shown
    for figure in (
        f"gross revenue £{expected['gross_revenue_pence'] / 100:,.0f}",
        f"net £{expected['net_revenue_pence'] / 100:,.0f} after refunds",
        f"{expected['check_ins']} admissions",
        f"{expected['tables_used']} tables seated {expected['covers']} guests",
    ):
        assert figure in shown
