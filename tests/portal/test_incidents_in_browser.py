"""The on-call engineer's pages in headless Chromium, against the portal served on loopback: the
incident list opened from its signed link, an incident acknowledged and another resolved with
the buttons; an alert's link opened and acknowledged. Nothing is asked of any other host."""

from __future__ import annotations

import pytest

from backroom_reporting.alerting.incidents import get_incident
from backroom_reporting.delivery import links
from tests.reports.test_email_in_browser import CHROMIUM

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium binary on PATH (scripts/system-deps.sh)"
)

SAM = "Sam Okafor"


def test_the_list_acknowledges_and_resolves_with_its_buttons(portal, on_call, browser_page):
    page = browser_page
    page.goto(links.incidents_url(SAM))
    triggered, acknowledged = (
        page.locator(f"#incident-{n}") for n in (on_call.triggered, on_call.acknowledged)
    )
    assert triggered.locator(".status").inner_text() == "triggered"

    triggered.get_by_role("button", name="Acknowledge").click()
    page.wait_for_load_state()
    assert page.get_by_role("status").inner_text() == (
        f"Incident {on_call.triggered} acknowledged by {SAM}: escalation stopped."
    )
    assert triggered.locator(".status").inner_text() == f"acknowledged by {SAM}"
    assert triggered.get_by_role("button", name="Acknowledge").count() == 0

    acknowledged.get_by_role("button", name="Resolve").click()
    page.wait_for_load_state()
    assert page.get_by_role("status").inner_text() == f"Incident {on_call.acknowledged} resolved by {SAM}."
    assert acknowledged.locator(".status").inner_text() == f"resolved by {SAM}"
    assert acknowledged.get_by_role("button").count() == 0

    acked, resolved = (
        get_incident(portal.db, on_call.triggered),
        get_incident(portal.db, on_call.acknowledged),
    )
    assert (acked.status, acked.acknowledged_by, acked.acknowledged_via) == ("acknowledged", SAM, "web")
    assert (resolved.status, resolved.resolved_by, resolved.resolved_via) == ("resolved", SAM, "web")


def test_an_alerts_link_acknowledges_only_when_its_button_is_pressed(portal, on_call, browser_page):
    from playwright.sync_api import expect

    page = browser_page
    page.goto(links.url("incident", {"i": on_call.triggered, "p": SAM}))
    expect(page.locator("#status")).to_have_text("triggered")
    assert get_incident(portal.db, on_call.triggered).status == "triggered"

    page.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_role("status")).to_have_text(
        f"Incident {on_call.triggered} acknowledged by {SAM}: escalation stopped."
    )
    expect(page.locator("#status")).to_have_text("acknowledged")
    assert get_incident(portal.db, on_call.triggered).acknowledged_via == "link"
