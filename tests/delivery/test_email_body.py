"""A report's email body: made when its subscription goes by email, kept in the report store and
recorded in the generation history; the plain-text rendition carries the report's figures."""

from __future__ import annotations

import dataclasses
import json
import re

from backroom_reporting.rendering.email_body import report_text
from backroom_reporting.subscriptions import service
from tests.design_section_5 import daily_figures
from tests.rendering.builders import CARDS, HOURLY, closed_report, daily_report
from tests.reports.conftest import reporting_world  # noqa: F401 (the shared warehouse of the report tests)
from tests.reports.test_report_assets import SATURDAY, venue  # noqa: F401


def test_a_subscription_by_email_gets_its_email_body_kept_with_its_report(venue):  # noqa: F811
    venue.render("sub-owner-daily")
    generation = venue.latest("sub-owner-daily")
    parts = json.loads(generation["email_parts"])
    html = venue.store.read(parts["html"]).decode("utf-8")
    text = venue.store.read(parts["text"]).decode("utf-8")

    cids = re.findall(r'<img src="cid:([^"]+)"', html)
    assert cids and sorted(cids) == sorted(image["cid"] for image in parts["images"])
    for image in parts["images"]:
        assert venue.store.read(image["path"]).startswith(b"\x89PNG\r\n\x1a\n")
        assert image["name"] == f"{image['cid'].split('@')[0]}.png"
    for tag in ("<style", "<link", "<script", "<svg"):
        assert tag not in html
    assert 'style="' in html

    # The night's takings as the SQL yardstick computes them from the booking system.
    expected = daily_figures(venue.source_url)[("backroom-leeds", SATURDAY)]
    takings = f"£{expected['gross_revenue_pence'] / 100:,.0f}"
    assert takings in html and takings in text


def test_a_subscription_without_email_keeps_no_email_body(venue):  # noqa: F811
    subscription = service.get_subscription(venue.db, "sub-finance-daily")
    service.store(venue.db, subscriptions=[dataclasses.replace(subscription, channels=("dashboard",))])
    venue.render("sub-finance-daily")
    assert venue.latest("sub-finance-daily")["email_parts"] is None


def test_the_text_rendition_carries_every_figure_of_the_report():
    text = report_text(daily_report())
    assert text.startswith("DAILY SUMMARY\nThe Backroom Leeds · Saturday 21 November 2026\n")
    check_ins = sum(v for v in HOURLY["check_ins"].to_list() if v is not None)
    bar = sum(HOURLY["bar_revenue_pence"].to_list())
    [totals] = [line for line in text.splitlines() if line.startswith("Total ")]
    assert totals.split()[1:3] == [f"{check_ins}", f"£{bar / 100:,.2f}"]
    for card in CARDS:
        assert f"- {card.name}: " in text
    assert "- Critical: The no-show rate of 12.3% is above its 8% target." in text
    assert "(The chart is in the HTML version of this email.)" in text


def test_a_night_without_trading_says_so_in_text():
    text = report_text(closed_report())
    assert "No trading." in text and "did not trade in this period" in text
