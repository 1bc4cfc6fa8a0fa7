"""The report archive in headless Chromium, against the portal served on loopback: a signed-in
manager filters the archive, opens a report, sees its interactive HTML drawn in the sandboxed
frame (which cannot read the portal's cookies) and downloads its PDF under its human name."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.portal.archives import LEEDS
from tests.reports.test_email_in_browser import CHROMIUM

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium binary on PATH (scripts/system-deps.sh)"
)


def test_a_manager_filters_opens_and_downloads_a_report(portal, library, chromium):
    from playwright.sync_api import expect

    weekly = [r for r in library.seen_by("jo") if r.template_key == "weekly_summary"]
    report = weekly[0]
    page = chromium(library.cookies["jo"], accept_downloads=True)
    page.goto(portal.base + "/archive")
    expect(page.locator("#archive tbody tr")).to_have_count(50)

    page.get_by_label("Report").select_option("weekly_summary")
    page.get_by_label("Venue").select_option(LEEDS)
    page.get_by_role("button", name="Show").click()
    page.wait_for_load_state()
    rows = page.locator("#archive tbody tr")
    expect(rows).to_have_count(len(weekly))
    assert rows.evaluate_all("rows => rows.map(r => r.id)") == [f"report-{r.generation_id}" for r in weekly]

    page.locator(f"#report-{report.generation_id}").get_by_role("link").click()
    page.wait_for_load_state()
    expect(page.get_by_role("heading", level=1)).to_have_text("Weekly Summary")
    frame = page.frame_locator("#report")
    expect(frame.locator("#drawn")).to_have_text("Drawn by the report's script")
    expect(frame.locator("#cookies")).to_have_text("cookies: blocked")

    with page.expect_download() as downloading:
        page.get_by_role("link", name=report.human_name("pdf")).click()
    download = downloading.value
    assert download.suggested_filename == report.human_name("pdf")
    assert Path(download.path()).read_bytes() == report.files["pdf"]
