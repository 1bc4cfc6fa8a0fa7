"""The live night in headless Chromium, against the portal served on loopback: a signed-in manager
watches the door let people in and the page follows within 5 s, without reloading; a finance
account and a venue outside the account are refused. Nothing is asked of any other host."""

from __future__ import annotations

import time

import pytest

from backroom_reporting.portal import live
from tests.portal.tonight import LEEDS, NOW, SATURDAY, YORK, land_scans, saturday_night
from tests.reports.test_email_in_browser import CHROMIUM
from tests.worlds import at

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium binary on PATH (scripts/system-deps.sh)"
)


@pytest.fixture
def night(portal, monkeypatch) -> dict[str, str]:
    monkeypatch.setattr(live, "_now", lambda: NOW)
    return saturday_night(portal.db)


def test_the_page_follows_the_door_without_reloading(portal, night, chromium):
    from playwright.sync_api import expect

    page = chromium(night["manager"])
    loads = []
    page.on("load", lambda _: loads.append(page.url))
    page.goto(f"{portal.base}/live")
    expect(page.locator("#connection")).to_have_text("Live.")
    occupancy, admitted = page.locator("#occupancy"), page.locator("#admitted")
    assert (occupancy.inner_text(), admitted.inner_text()) == ("2", "3")
    assert page.locator("#admissions rect").count() == 11  # 21:00 to 23:30

    landed = time.monotonic()
    land_scans(portal.db, LEEDS, [(at(SATURDAY, "23:25"), "in"), (at(SATURDAY, "23:29"), "in")])
    expect(occupancy).to_have_text("4", timeout=5_000)
    assert time.monotonic() - landed < 5
    expect(admitted).to_have_text("5")
    assert page.locator("#admissions rect").last.locator("title").text_content() == "23:30: 0 let in"
    assert page.locator("#admissions rect").nth(-2).locator("title").text_content() == "23:15: 2 let in"
    assert loads == [f"{portal.base}/live"]  # one load: the figures came down the stream


def test_a_finance_account_is_refused(portal, night, chromium):
    page = chromium(night["finance"])
    answer = page.goto(f"{portal.base}/live")
    assert answer.status == 403
    assert "A finance account may not read live." in page.content()
    assert page.locator("#occupancy").count() == 0


def test_a_venue_outside_the_account_is_refused(portal, night, chromium):
    page = chromium(night["manager"])
    answer = page.goto(f"{portal.base}/live?venue={YORK}")
    assert answer.status == 403
    assert "This account does not cover venue backroom-york." in page.content()
    assert page.locator("#occupancy").count() == 0
