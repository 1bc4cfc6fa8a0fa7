"""Signing in and out in headless Chromium, against the portal served on loopback: the form
sends the person on to the home page, the nav names them, and its button signs them out."""

from __future__ import annotations

import datetime as dt

import pytest

from backroom_reporting.portal import accounts
from tests.reports.test_email_in_browser import CHROMIUM

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium binary on PATH (scripts/system-deps.sh)"
)

PASSWORD = "correct horse battery staple"


def test_the_form_signs_in_to_the_home_page_and_the_nav_signs_out(portal, browser_page):
    from playwright.sync_api import expect

    accounts.add(
        portal.db, "jo@example.com", "Jo Bloggs", "manager", dt.datetime.now(dt.UTC), password=PASSWORD
    )
    page = browser_page
    page.goto(portal.base + "/")
    assert page.url == portal.base + "/signin?next=%2F"

    page.get_by_label("Password").fill("a guess")
    page.locator("form[action='/signin']").get_by_label("Email").fill("jo@example.com")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("alert")).to_have_text("That email and password do not match an account.")

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Jo Bloggs")
    assert page.url == portal.base + "/"
    expect(page.locator("#signed-in-as")).to_have_text("Jo Bloggs")
    assert page.locator("#places a").evaluate_all("links => links.map(a => a.getAttribute('href'))") == [
        "/archive",
        "/live",
        "/incidents",
        "/api/docs",
    ]
    cookie = next(c for c in page.context.cookies() if c["name"] == "backroom_session")
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["path"]) == (True, "Lax", "/")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_have_text("You have signed out.")
    page.goto(portal.base + "/")
    assert page.url == portal.base + "/signin?next=%2F"
