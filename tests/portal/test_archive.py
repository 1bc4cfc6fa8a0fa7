"""The report archive over a real socket, on SQLite and PostgreSQL: what each person is shown,
the filters, a report's page and files, what is refused, and the access log."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape
from urllib.parse import unquote, urlsplit

import pytest
import sqlalchemy as sa

from backroom_reporting.portal import sessions
from backroom_reporting.privacy import audit
from backroom_reporting.warehouse.tables.portal import access_log
from tests.portal.archives import LEEDS, TITLES, YORK

PAGE = 50


def listed(answer) -> list[str]:
    return re.findall(r'<tr id="report-([^"]+)">', answer.text)


def every_page(portal, library, name: str, params: dict) -> list[str]:
    """The archive's rows from its first page to its last, following "Older reports"."""
    answer = portal.http.get("/archive", params=params, headers=library.as_(name))
    assert answer.status_code == 200, answer.text
    ids = listed(answer)
    while match := re.search(r'<a href="([^"]+)" rel="next">', answer.text):
        assert len(listed(answer)) == PAGE
        answer = portal.http.get(unescape(match.group(1)), headers=library.as_(name))
        assert answer.status_code == 200
        ids += listed(answer)
    return ids


def ids(reports) -> list[str]:
    return [r.generation_id for r in reports]


def test_a_manager_sees_only_their_venues_reports_newest_first_a_page_at_a_time(portal, library):
    expected = [r for r in library.reports if r.venue_id == LEEDS]
    assert len(expected) > PAGE  # the archive takes two pages
    first = portal.http.get("/archive", headers=library.as_("jo"))
    assert listed(first) == ids(expected[:PAGE])
    assert every_page(portal, library, "jo", {}) == ids(expected)
    shown = first.text
    newest = expected[0]
    assert f"{newest.venue}</td>" in shown and newest.period.label in shown
    assert "The Backroom York</td>" not in shown and "All venues</td>" not in shown
    assert library.failed not in shown


def test_an_account_for_every_venue_also_sees_the_group_reports(portal, library):
    assert every_page(portal, library, "ada", {}) == ids(library.reports)
    assert any(r.venue_id is None for r in library.reports)
    # Fay covers York only: no Leeds, no group.
    assert every_page(portal, library, "fay", {}) == ids(r for r in library.reports if r.venue_id == YORK)


@pytest.mark.parametrize(
    "params",
    [
        {"template": "weekly_summary"},
        {"template": "daily_summary", "from": "2026-11-01", "to": "2026-11-07"},
        {"kind": "business_week"},
        {"venue": LEEDS, "kind": "business_day", "from": "2026-11-25"},
        {"to": "2026-10-05"},
        {"venue": "group"},
        {"venue": YORK, "template": "weekly_summary", "from": "2026-11-10", "to": "2026-11-20"},
    ],
)
def test_the_filters_narrow_the_archive(portal, library, params):
    def wanted(r) -> bool:
        since = dt.date.fromisoformat(params.get("from", "1900-01-01"))
        until = dt.date.fromisoformat(params.get("to", "2999-12-31"))
        venue = params.get("venue")
        return (
            params.get("template", r.template_key) == r.template_key
            and params.get("kind", r.period.kind) == r.period.kind
            and (venue is None or (r.venue_id is None if venue == "group" else r.venue_id == venue))
            and r.period.last_day >= since
            and r.period.first_day <= until
        )

    expected = [r for r in library.reports if wanted(r)]
    assert expected, params
    assert every_page(portal, library, "ada", params) == ids(expected)
    jos = [r for r in expected if r.venue_id == LEEDS]
    if params.get("venue") in (YORK, "group"):
        answer = portal.http.get("/archive", params=params, headers=library.as_("jo"))
        assert answer.status_code == 400 and listed(answer) == []
        assert "is not one of your venues" in answer.text
    else:
        assert every_page(portal, library, "jo", params) == ids(jos)


@pytest.mark.parametrize(
    "param, value, reason",
    [
        ("template", "monthly_summary", "There is no report template &#39;monthly_summary&#39;"),
        ("venue", "backroom-hull", "&#39;backroom-hull&#39; is not one of your venues"),
        ("kind", "fortnight", "is not a kind of period"),
        ("from", "28/11/2026", "From &#39;28/11/2026&#39; is not a date"),
        ("after", "gen-daily_summary-backroom-york-2026-11-28", "That page of the archive is not there"),
    ],
)
def test_a_filter_it_cannot_apply_is_answered_in_words(portal, library, param, value, reason):
    answer = portal.http.get("/archive", params={param: value}, headers=library.as_("jo"))
    assert answer.status_code == 400
    assert reason in answer.text
    assert listed(answer) == []


SQL = ["' OR 1=1 --", "%", "_", ";", "backroom-leeds' OR '1'='1", "%' --", '"; DROP TABLE access_log; --']


@pytest.mark.parametrize("param", ["template", "venue", "kind", "from", "to", "after"])
def test_sql_meta_characters_in_a_filter_show_nothing_and_break_nothing(portal, library, param):
    for value in SQL:
        answer = portal.http.get("/archive", params={param: value}, headers=library.as_("jo"))
        assert answer.status_code == 400, (value, answer.text)
        assert listed(answer) == []
        # A known venue with more after it is not the venue.
        answer = portal.http.get("/archive", params={param: f"{LEEDS}{value}"}, headers=library.as_("jo"))
        assert answer.status_code == 400 and listed(answer) == []
    with portal.db.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(access_log)).scalar() == 0


def test_a_reports_page_shows_its_figures_warnings_frame_and_files(portal, library):
    report = next(r for r in library.seen_by("jo") if r.warnings and not r.files_removed)
    answer = portal.http.get(f"/archive/{report.generation_id}", headers=library.as_("jo"))
    assert answer.status_code == 200
    text = unescape(answer.text)
    assert f"<h1>{TITLES[report.template_key]}</h1>" in text
    assert f"{report.venue}, {report.period.label}." in text
    revenue = report.key_metrics["daily_revenue"]
    assert f"<td>£{revenue / 100:,.2f}</td><td>on_target</td>" in text
    assert f"<li>{report.warnings[0]}</li>" in text
    assert 'sandbox="allow-scripts"' in text
    assert f'src="/archive/{report.generation_id}/view"' in text
    for fmt in ("pdf", "html", "csv"):
        assert (
            f'<a href="/archive/{report.generation_id}/files/{fmt}" download>{report.human_name(fmt)}</a>'
            in text
        )

    frame = portal.http.get(f"/archive/{report.generation_id}/view", headers=library.as_("jo"))
    assert frame.status_code == 200
    assert frame.content == report.files["html"]
    policy = frame.headers["content-security-policy"]
    assert policy.startswith("sandbox allow-scripts;") and "allow-same-origin" not in policy
    assert "default-src 'none'" in policy and "frame-ancestors 'self'" in policy


def test_another_venues_report_is_not_found_as_if_it_did_not_exist(portal, library):
    yorks = next(r for r in library.reports if r.venue_id == YORK)
    group = next(r for r in library.reports if r.venue_id is None)
    nothing = portal.http.get("/archive/gen-nothing-like-it", headers=library.as_("jo"))
    assert nothing.status_code == 404
    for generation_id in (yorks.generation_id, group.generation_id, library.failed):
        for path in ("", "/view", "/files/pdf", "/files/html"):
            answer = portal.http.get(f"/archive/{generation_id}{path}", headers=library.as_("jo"))
            assert answer.status_code == 404, (generation_id, path)
            assert answer.text == nothing.text
            assert not any(content in answer.content for content in yorks.files.values())
    assert portal.http.get(f"/archive/{yorks.generation_id}", headers=library.as_("fay")).status_code == 200
    assert audit.entries(portal.db, access_log.c.actor == library.people["jo"].user_id) == []


def test_a_download_is_the_stored_file_under_a_human_name(portal, library):
    report = next(r for r in library.seen_by("jo") if not r.files_removed)
    for fmt, media in (("pdf", "application/pdf"), ("csv", "text/csv"), ("html", "text/html")):
        answer = portal.http.get(f"/archive/{report.generation_id}/files/{fmt}", headers=library.as_("jo"))
        assert answer.status_code == 200
        assert answer.content == report.files[fmt]
        assert answer.headers["content-type"].startswith(media)
        disposition = answer.headers["content-disposition"]
        assert disposition.startswith("attachment; ")  # never run as the portal's page
        name = report.human_name(fmt)
        assert "filename*=UTF-8''" in disposition
        assert unquote(disposition.split("filename*=UTF-8''")[1]) == name
        assert f'filename="{name.replace("–", "-")}"' in disposition


def test_a_removed_reports_files_are_gone(portal, library):
    removed = next(r for r in library.seen_by("jo") if r.files_removed)
    answer = portal.http.get(f"/archive/{removed.generation_id}/files/pdf", headers=library.as_("jo"))
    assert answer.status_code == 410
    assert "files have been removed" in answer.text
    page = portal.http.get(f"/archive/{removed.generation_id}", headers=library.as_("jo"))
    assert "past their retention" in page.text and "<iframe" not in page.text


@pytest.mark.parametrize(
    "path",
    [
        "/archive/{id}/files/..%2F..%2F..%2Fetc%2Fpasswd",
        "/archive/{id}/files/%2e%2e",
        "/archive/{id}/files/%2e%2e%2fpdf",
        "/archive/{id}/files/%2Fetc%2Fpasswd",
        "/archive/{id}/files/exe",
        "/archive/{id}/files/PDF",
        "/archive/{id}/files/pdf%00",
        "/archive/{id}/files/{path}",
        "/archive/..%2F{id}/files/pdf",
        "/archive/%2e%2e/files/pdf",
        "/archive/{id}%2F..%2F..%2Fx/files/pdf",
    ],
)
def test_a_path_in_the_url_never_reaches_the_store(portal, library, path):
    report = next(r for r in library.seen_by("jo") if not r.files_removed)
    store_path = portal.store.relative_path(
        __import__("hashlib").sha256(report.files["pdf"]).hexdigest(), "pdf"
    )
    url = path.format(id=report.generation_id, path=store_path.replace("/", "%2F"))
    answer = portal.http.get(url, headers=library.as_("jo"))
    assert answer.status_code == 404, (url, answer.status_code)
    assert report.files["pdf"] not in answer.content and b"root:" not in answer.content


def test_views_and_downloads_are_in_the_access_log(portal, library):
    jo = library.people["jo"]
    report = next(r for r in library.seen_by("jo") if not r.files_removed)
    portal.http.get(f"/archive/{report.generation_id}", headers=library.as_("jo"))
    portal.http.get(f"/archive/{report.generation_id}/files/pdf", headers=library.as_("jo"))
    portal.http.get(f"/archive/{report.generation_id}/files/exe", headers=library.as_("jo"))
    logged = [(e.actor, e.action, e.subject, e.detail) for e in audit.entries(portal.db)]
    assert logged == [
        (jo.user_id, "view", report.generation_id, {"page": "archive"}),
        (jo.user_id, "download", report.generation_id, {"format": "pdf"}),
    ]
    assert audit.verify(portal.db) is None


def test_staff_may_not_open_the_archive(portal, library):
    report = library.seen_by("jo")[0]
    for path in (
        "/archive",
        f"/archive/{report.generation_id}",
        f"/archive/{report.generation_id}/files/pdf",
    ):
        answer = portal.http.get(path, headers=library.as_("kim"))
        assert answer.status_code == 403, path
        assert "A staff account may not read reports." in answer.text
        assert report.generation_id not in answer.text.replace(path, "")


def test_without_a_current_session_the_archive_sends_the_person_to_sign_in(portal, library):
    ended = library.cookies["ada"]
    sessions.end_session(portal.db, ended, dt.datetime.now(dt.UTC))
    tampered = library.cookies["jo"][:-2] + ("AA" if not library.cookies["jo"].endswith("AA") else "BB")
    report = library.seen_by("jo")[0]
    for cookie in (None, tampered, ended):
        headers = {"Cookie": f"{sessions.COOKIE}={cookie}"} if cookie else {}
        for path in ("/archive?venue=backroom-leeds", f"/archive/{report.generation_id}/files/pdf"):
            answer = portal.http.get(path, headers=headers)
            assert answer.status_code == 303, (cookie, path)
            assert urlsplit(answer.headers["location"]).path == "/signin"
            assert report.files["pdf"] not in answer.content
