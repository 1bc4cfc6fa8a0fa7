"""The live night over HTTP, served by uvicorn on SQLite and PostgreSQL: the page's figures, the
stream's events when a scan lands (and only then), its end with the session, and who may watch.
The app's clock is held at 23:30 on a Saturday, so the figures are the test's to compute."""

from __future__ import annotations

import datetime as dt
import json
import re
import time

import pytest
import sqlalchemy as sa

from backroom_reporting.portal import live, sessions
from backroom_reporting.privacy import audit
from backroom_reporting.warehouse.tables.raw import RAW, raw_loads
from tests.portal.tonight import (
    LEEDS,
    NOW,
    SATURDAY,
    YORK,
    cookie_header,
    land_scans,
    next_figures,
    saturday_night,
    stream_events,
)
from tests.worlds import at


@pytest.fixture
def night(portal, monkeypatch) -> dict[str, str]:
    monkeypatch.setattr(live, "_now", lambda: NOW)
    return saturday_night(portal.db)


def figures_on(page: str) -> dict:
    found = re.search(r'<script type="application/json" id="figures">(.*?)</script>', page, re.S)
    assert found, page
    return json.loads(found.group(1))


def test_the_page_shows_the_nights_figures_and_records_the_view(portal, night):
    answer = portal.http.get("/live", headers=cookie_header(night["manager"]))
    assert answer.status_code == 200, answer.text
    assert "The Backroom Leeds: the live night" in answer.text
    figures = figures_on(answer.text)

    takings, last_week = 1_250 + 15_000 + (2_000 - 150), 3_000
    assert figures["night"] == "Saturday 28 November 2026"
    assert (figures["occupancy"], figures["admitted"]) == ("2", "3")
    assert (figures["takings"], figures["bar"], figures["tables"], figures["tickets"]) == (
        "£181.00",
        "£12.50",
        "£150.00",
        "£18.50",
    )
    assert (figures["last_week"], figures["last_week_by"]) == ("£30.00", "23:30")
    assert figures["change"] == f"{(takings - last_week) / last_week:+.1%}" == "+503.3%"
    quarters = [f"{h:02d}:{m:02d}" for h in (21, 22, 23) for m in (0, 15, 30, 45)][:11]  # to 23:30
    assert figures["admissions"] == [[q, {"21:00": 2, "21:15": 1}.get(q, 0)] for q in quarters]

    manager = sessions.session_of(portal.db, night["manager"], dt.datetime.now(dt.UTC))[0]
    viewed = audit.entries(portal.db)[-1]
    assert (viewed.actor, viewed.action, viewed.subject, viewed.detail) == (
        manager.user_id,
        "view",
        "/live",
        {"venue_id": LEEDS},
    )
    assert audit.verify(portal.db) is None


def test_a_scan_landing_is_in_the_next_event(portal, night):
    with portal.http.stream(
        "GET", f"/live/stream?venue={LEEDS}", headers=cookie_header(night["manager"])
    ) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        events = stream_events(r)
        assert next_figures(events)["occupancy"] == "2"

        landed = time.monotonic()
        land_scans(portal.db, LEEDS, [(at(SATURDAY, "23:29"), "in")])
        figures = next_figures(events)
        assert time.monotonic() - landed < 5
        assert (figures["occupancy"], figures["admitted"]) == ("3", "4")
        assert figures["admissions"][-2:] == [["23:15", 1], ["23:30", 0]]

        land_scans(portal.db, LEEDS, [(at(SATURDAY, "23:29"), "out"), (at(SATURDAY, "23:30"), "out")])
        assert next_figures(events)["occupancy"] == "1"


def test_a_reload_with_as_many_rows_is_news_through_raw_loads(portal, night):
    """A load replaces the night's rows; a correction that keeps their number and the latest
    scan's time is seen by the load it recorded in raw_loads."""
    scans = RAW["check_ins"]
    with portal.http.stream("GET", "/live/stream", headers=cookie_header(night["manager"])) as r:
        events = stream_events(r)
        assert next_figures(events)["occupancy"] == "2"
        with portal.db.engine.begin() as conn:
            # The 21:30 scan was someone coming in, the door system says now.
            conn.execute(
                sa.update(scans)
                .where(
                    scans.c.venue_id == LEEDS, scans.c.direction == "out", scans.c.business_date == SATURDAY
                )
                .values(direction="in")
            )
            conn.execute(
                sa.insert(raw_loads).values(
                    source_table="check_ins",
                    business_date=SATURDAY,
                    loaded_at=dt.datetime.now(dt.UTC),
                    as_of=NOW,
                    final=False,
                    source_rows=4,
                    rows_loaded=4,
                    rows_quarantined=0,
                    fingerprint="0" * 64,
                )
            )
        assert next_figures(events)["occupancy"] == "4"


def test_the_stream_sends_nothing_new_but_a_heartbeat(portal, night, monkeypatch):
    monkeypatch.setattr(live, "POLL_EVERY", 0.05)
    monkeypatch.setattr(live, "HEARTBEAT_EVERY", 0.5)
    with portal.http.stream("GET", "/live/stream", headers=cookie_header(night["manager"])) as r:
        events = stream_events(r)
        next_figures(events)
        started = time.monotonic()
        # About ten reads of unchanged figures, then the heartbeat, then another.
        assert next(events) == ("comment", "still here")
        assert next(events) == ("comment", "still here")
        assert time.monotonic() - started >= 0.9


def test_the_stream_ends_when_the_session_does(portal, night):
    with portal.http.stream("GET", "/live/stream", headers=cookie_header(night["manager"])) as r:
        events = stream_events(r)
        next_figures(events)
        sessions.end_session(portal.db, night["manager"], dt.datetime.now(dt.UTC))
        assert next(e for e in events if e[0] != "comment") == (
            "ended",
            {"reason": "Your session has ended: please sign in again."},
        )
        assert list(events) == []


def test_the_stream_stops_when_the_browser_goes_away(portal, night, monkeypatch):
    polls = []
    looked = live._still_watching
    monkeypatch.setattr(live, "POLL_EVERY", 0.05)
    monkeypatch.setattr(live, "_still_watching", lambda *args: polls.append(1) or looked(*args))
    with portal.http.stream("GET", "/live/stream", headers=cookie_header(night["manager"])) as r:
        next_figures(stream_events(r))
    time.sleep(0.5)  # the poll under way, if any, finishes
    stopped_at = len(polls)
    time.sleep(1)
    assert stopped_at > 0 and len(polls) == stopped_at


@pytest.mark.parametrize(
    ("who", "path", "status", "says"),
    [
        ("finance", "/live", 403, "A finance account may not read live."),
        ("finance", "/live/stream", 403, "A finance account may not read live."),
        ("manager", f"/live?venue={YORK}", 403, "This account does not cover venue backroom-york."),
        ("manager", f"/live/stream?venue={YORK}", 403, "This account does not cover venue backroom-york."),
        (
            "admin",
            "/live?venue=backroom-nowhere",
            404,
            "There is no venue backroom-nowhere in the warehouse.",
        ),
        (None, "/live/stream", 401, "Please sign in."),
    ],
)
def test_who_may_watch_which_venue(portal, night, who, path, status, says):
    headers = cookie_header(night[who]) if who else {}
    answer = portal.http.get(path, headers=headers)
    assert answer.status_code == status
    assert says in answer.text
    assert not answer.headers["content-type"].startswith("text/event-stream")


def test_an_account_watches_its_first_venue_unless_it_asks(portal, night):
    events_account = portal.http.get("/live", headers=cookie_header(night["events"]))
    assert "The Backroom York: the live night" in events_account.text
    assert figures_on(events_account.text)["occupancy"] == "5"
    admin = portal.http.get(f"/live?venue={YORK}", headers=cookie_header(night["admin"]))
    assert "The Backroom York: the live night" in admin.text
    assert 'name="venue"' in admin.text  # an account of both venues may switch
