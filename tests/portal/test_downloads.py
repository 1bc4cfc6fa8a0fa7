"""Signed downloads, a delivery's report page and the dashboard, over a real socket."""

from __future__ import annotations

import hashlib
import re
from html import unescape

from backroom_reporting.delivery import links
from tests.portal.conftest import NIGHTS


def hrefs(html: str) -> list[str]:
    return [unescape(h) for h in re.findall(r'href="([^"]+)"', html)]


def file_entry(portal, world, night, fmt: str) -> dict:
    """A download link's payload, as a channel makes it: the store path is the content's hash."""
    path = portal.store.relative_path(hashlib.sha256(world.files[night][fmt]).hexdigest(), fmt)
    return {
        "d": world.deliveries[night]["email"],
        "p": path,
        "n": f"daily_summary_backroom-leeds_{night}.{fmt}",
    }


def test_a_signed_download_is_the_file_under_its_readable_name(portal, world):
    night = NIGHTS[-1]
    payload = file_entry(portal, world, night, "pdf")
    answer = portal.http.get(portal.path(links.url("download", payload)))
    assert answer.status_code == 200
    assert answer.content == world.files[night]["pdf"]
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.headers["content-disposition"] == f'attachment; filename="{payload["n"]}"'

    csv = portal.http.get(portal.path(links.url("download", file_entry(portal, world, night, "csv"))))
    assert csv.content == world.files[night]["csv"]
    assert csv.headers["content-type"].startswith("text/csv")


def test_an_expired_download_link_is_refused_in_one_sentence(portal, world, monkeypatch):
    url = links.url("download", file_entry(portal, world, NIGHTS[-1], "pdf"))
    # Links work for this many days: with none, any link already signed has expired.
    monkeypatch.setenv("BACKROOM_DOWNLOAD_LINK_DAYS", "0")
    answer = portal.http.get(portal.path(url))
    assert answer.status_code == 403
    assert "This download link has expired" in answer.text
    assert "Ask the sender for a new link" in answer.text
    assert world.files[NIGHTS[-1]]["pdf"] not in answer.content


def test_a_forged_or_misused_download_link_is_refused(portal, world):
    payload = file_entry(portal, world, NIGHTS[-1], "pdf")
    good = links.token("download", payload)
    forged = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    other_secret = links.token("download", payload, secret="someone-else's-secret")
    made_for_a_report = links.token("report", payload)
    for token in (forged, other_secret, made_for_a_report):
        answer = portal.http.get(f"/d/{token}")
        assert answer.status_code == 403, token
        assert "not one we made" in answer.text

    # Signed, but not a report file: the payload is ours, the path still has to be the store's.
    outside = links.url("download", payload | {"p": "../../../etc/passwd"})
    answer = portal.http.get(portal.path(outside))
    assert answer.status_code == 403
    assert "does not point at a report file" in answer.text


def test_a_removed_file_says_so(portal, world):
    payload = file_entry(portal, world, NIGHTS[0], "pdf")
    portal.store.path_of(payload["p"]).unlink()
    answer = portal.http.get(portal.path(links.url("download", payload)))
    assert answer.status_code == 410
    assert "has been removed" in answer.text


def test_the_report_page_shows_title_period_figures_warnings_and_working_files(portal, world):
    night = NIGHTS[-1]
    answer = portal.http.get(portal.path(links.url("report", {"d": world.deliveries[night]["email"]})))
    assert answer.status_code == 200
    page = answer.text
    assert "<h1>Daily Summary</h1>" in page
    assert f"Period: {night}" in page
    # 812,346 pence is £8,123.46; 0.875 of bookings seated is 87.5%.
    assert "Revenue per night</th><td>£8,123.46</td><td>on_target" in page
    assert "Bookings seated</th><td>87.5%" in page
    assert "Door scans stopped at 01:10" in page
    downloads = [h for h in hrefs(page) if "/d/" in h]
    assert len(downloads) == 2
    got = {portal.http.get(portal.path(h)).content for h in downloads}
    assert got == set(world.files[night].values())


def test_the_dashboard_lists_each_report_once_newest_first_with_its_channels(portal, world):
    answer = portal.http.get(portal.path(links.dashboard_url(world.jo.recipient_id)))
    assert answer.status_code == 200
    page = answer.text
    newer, older = (page.index(f"Daily Summary, {night}") for night in reversed(NIGHTS))
    assert newer < older
    assert page.count("Delivered by email, dashboard") == 2
    downloads = [h for h in hrefs(page) if "/d/" in h]
    got = [portal.http.get(portal.path(h)).content for h in downloads]
    expected = [world.files[n][fmt] for n in reversed(NIGHTS) for fmt in ("pdf", "csv")]
    assert got == expected


def test_the_dashboard_needs_the_recipients_own_signed_link(portal, world):
    jos = f"/recipients/{world.jo.recipient_id}/reports"
    assert portal.http.get(jos).status_code == 403
    sams_link = links.dashboard_url(world.sam.recipient_id)
    answer = portal.http.get(jos, params={"t": sams_link.rsplit("t=", 1)[1]})
    assert answer.status_code == 403
    assert "made for someone else" in answer.text
    forged = portal.http.get(jos, params={"t": links.token("dashboard", {"r": "rcp-jo"}, secret="guess")})
    assert forged.status_code == 403
    assert "Daily Summary" not in forged.text
