"""/api/v1/: the figures as inserted, pages without gaps or repeats, and the role, scope and
venue rules, over SQLite and PostgreSQL (where each read runs as the caller's database role)."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest

from backroom_reporting.portal import sessions, tokens
from backroom_reporting.privacy import audit
from backroom_reporting.warehouse.tables.portal import access_log
from tests.portal.api_world import (
    ADDRESS,
    KPIS,
    LEEDS,
    NIGHTS,
    TITLES,
    VENUES,
    YORK,
    account,
    bearer,
    fill,
    token_of,
    walk,
)


@pytest.fixture
def figures(portal):
    return fill(portal.db)


def moment(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def test_daily_figures_are_the_rows_in_the_warehouse(portal, figures):
    admin = token_of(portal.db, account(portal.db, "admin"))
    first, last = NIGHTS[1], NIGHTS[4]
    answer = portal.http.get(
        "/api/v1/daily",
        headers=bearer(admin),
        params={"venue": LEEDS, "from": first.isoformat(), "to": last.isoformat()},
    )
    assert answer.status_code == 200, answer.text
    items = answer.json()["items"]
    expected = [r for r in figures.daily if r["venue_id"] == LEEDS and first <= r["business_date"] <= last]
    assert [i["business_date"] for i in items] == [r["business_date"].isoformat() for r in expected]
    assert sum(i["gross_revenue_pence"] for i in items) == sum(r["gross_revenue_pence"] for r in expected)
    for item, row in zip(items, expected, strict=True):
        assert item == row | {"business_date": row["business_date"].isoformat()}
        assert isinstance(item["net_revenue_pence"], int)  # money stays integer pence
    assert answer.json()["next"] is None


def test_pages_walk_every_row_once(portal, figures):
    admin = token_of(portal.db, account(portal.db, "admin"))
    kpis = walk(portal.http, "/api/v1/kpis", bearer(admin), limit=3)
    keys = [(k["venue_id"], k["period_type"], k["period_start"], k["kpi_key"]) for k in kpis]
    expected = sorted(
        (r["venue_id"], "day", r["period_start"].isoformat(), r["kpi_key"]) for r in figures.kpis
    )
    assert keys == expected  # in key order: none skipped, none twice
    assert len(keys) == len(VENUES) * len(NIGHTS) * len(KPIS)
    daily = walk(portal.http, "/api/v1/daily", bearer(admin), limit=4)
    assert [(d["venue_id"], d["business_date"]) for d in daily] == [
        (r["venue_id"], r["business_date"].isoformat()) for r in figures.daily
    ]
    reports = walk(portal.http, "/api/v1/reports", bearer(admin), limit=5)
    assert sorted(r["generation_id"] for r in reports) == sorted(r["generation_id"] for r in figures.reports)
    assert len({r["generation_id"] for r in reports}) == len(figures.reports)


def test_reports_carry_their_title_and_parsed_details_and_filter(portal, figures):
    admin = token_of(portal.db, account(portal.db, "admin"))
    params = {
        "venue": YORK,
        "template": "daily_summary",
        "from": NIGHTS[2].isoformat(),
        "to": NIGHTS[3].isoformat(),
    }
    items = portal.http.get("/api/v1/reports", headers=bearer(admin), params=params).json()["items"]
    expected = [
        r
        for r in figures.reports
        if r["venue_id"] == YORK and NIGHTS[2] <= r["period_first_day"] <= NIGHTS[3]
    ]
    assert [i["generation_id"] for i in items] == sorted(r["generation_id"] for r in expected)
    for item, row in zip(items, sorted(expected, key=lambda r: r["generation_id"]), strict=True):
        assert item["title"] == TITLES["daily_summary"]
        assert item["key_metrics"] == {"daily_revenue": 1000 + NIGHTS.index(row["period_first_day"])}
        assert item["files"][0] == json.loads(row["files"])[0]
        assert moment(item["generated_at"]) == row["generated_at"]
    other = {"template": "weekly_summary"}
    assert portal.http.get("/api/v1/reports", headers=bearer(admin), params=other).json()["items"] == []


def test_deliveries_name_no_address(portal, figures):
    manager = token_of(portal.db, account(portal.db, "manager", [LEEDS]))
    answer = portal.http.get("/api/v1/deliveries", headers=bearer(manager), params={"limit": 1000})
    assert answer.status_code == 200
    items = answer.json()["items"]
    leeds = [d for d, r in zip(figures.deliveries, figures.reports, strict=True) if r["venue_id"] == LEEDS]
    assert sorted(i["delivery_id"] for i in items) == sorted(d["delivery_id"] for d in leeds)
    assert {i["venue_id"] for i in items} == {LEEDS}
    assert ADDRESS not in answer.text and "address" not in items[0] and "detail" not in items[0]


def test_an_account_of_one_venue_reads_only_that_venue(portal, figures):
    manager = token_of(portal.db, account(portal.db, "manager", [LEEDS]))
    for path, rows in (("daily", figures.daily), ("kpis", figures.kpis), ("events", figures.events)):
        items = walk(portal.http, f"/api/v1/{path}", bearer(manager), limit=1000)
        assert {i["venue_id"] for i in items} == {LEEDS}, path
        assert len(items) == sum(1 for r in rows if r["venue_id"] == LEEDS), path
    # Group reports (no venue) are for accounts of every venue only.
    reports = walk(portal.http, "/api/v1/reports", bearer(manager))
    assert {r["venue_id"] for r in reports} == {LEEDS}
    for path in ("daily", "kpis", "events", "reports", "deliveries"):
        refused = portal.http.get(f"/api/v1/{path}", headers=bearer(manager), params={"venue": YORK})
        assert refused.status_code == 403, path
        assert refused.json()["detail"] == f"this account does not cover venue {YORK}"


def test_the_role_rules_hold_before_the_scopes(portal, figures):
    finance = token_of(portal.db, account(portal.db, "finance", [LEEDS]))
    refused = portal.http.get("/api/v1/events", headers=bearer(finance))
    assert refused.status_code == 403
    assert refused.json()["detail"] == "a finance account may not read events"
    assert "insufficient_scope" not in refused.headers.get("www-authenticate", "")
    assert portal.http.get("/api/v1/daily", headers=bearer(finance)).status_code == 200


def test_a_token_without_the_scope_is_refused_with_a_challenge(portal, figures):
    manager = account(portal.db, "manager")
    daily_only = token_of(portal.db, manager, "daily:read")
    refused = portal.http.get("/api/v1/kpis", headers=bearer(daily_only))
    assert refused.status_code == 403
    assert refused.headers["www-authenticate"] == (
        'Bearer realm="backroom", error="insufficient_scope", scope="kpis:read"'
    )
    assert "value" not in refused.text
    assert portal.http.get("/api/v1/daily", headers=bearer(daily_only)).status_code == 200


def test_a_signed_in_session_reads_what_its_role_allows(portal, figures):
    events = account(portal.db, "events", [YORK])
    cookie = sessions.open_session(portal.db, events.person, "password", dt.datetime.now(dt.UTC))
    portal.http.cookies.set(sessions.COOKIE, cookie)
    try:
        items = walk(portal.http, "/api/v1/events", {})
        assert {i["event_id"] for i in items} == {
            r["event_id"] for r in figures.events if r["venue_id"] == YORK
        }
        assert portal.http.get("/api/v1/daily").status_code == 403
    finally:
        portal.http.cookies.clear()
    nobody = portal.http.get("/api/v1/events")
    assert nobody.status_code == 401 and nobody.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "meta", ["' OR '1'='1", "backroom-leeds' --", '"; DROP TABLE daily_aggregations; --', "%", "_", "\\", "*"]
)
def test_sql_meta_characters_in_filters_find_nothing(portal, figures, meta):
    admin = token_of(portal.db, account(portal.db, "admin"))
    for path, name in (
        ("daily", "venue"),
        ("kpis", "kpi"),
        ("reports", "template"),
        ("deliveries", "template"),
    ):
        answer = portal.http.get(f"/api/v1/{path}", headers=bearer(admin), params={name: meta})
        assert answer.status_code == 200, (path, answer.text)
        assert answer.json()["items"] == [], path
    manager = token_of(portal.db, account(portal.db, "manager", [LEEDS]))
    assert (
        portal.http.get("/api/v1/daily", headers=bearer(manager), params={"venue": meta}).status_code == 403
    )
    everything = walk(portal.http, "/api/v1/daily", bearer(admin), limit=1000)
    assert len(everything) == len(figures.daily)  # the table is still there, whole


def test_bad_parameters_are_answered_in_plain_words(portal, figures):
    admin = token_of(portal.db, account(portal.db, "admin"))
    too_many = portal.http.get("/api/v1/daily", headers=bearer(admin), params={"limit": 1001})
    assert too_many.status_code == 422
    assert too_many.json() == {"detail": "limit: Input should be less than or equal to 1000"}
    not_a_date = portal.http.get("/api/v1/daily", headers=bearer(admin), params={"from": "yesterday"})
    assert not_a_date.status_code == 422 and not_a_date.json()["detail"].startswith("from: ")
    for name, value in (("venue", "leeds\x00"), ("template", "daily\n")):
        answer = portal.http.get(
            "/api/v1/daily" if name == "venue" else "/api/v1/reports",
            headers=bearer(admin),
            params={name: value},
        )
        assert answer.status_code == 422 and answer.json()["detail"].startswith(f"{name}: "), name
    # a well-formed cursor of /daily (venue, night) whose venue holds a NUL: none this API gave
    nul = base64.urlsafe_b64encode(json.dumps(["daily", "leeds\x00", "2026-11-01"]).encode()).decode()
    for cursor in ("nonsense", "W10=", "WyJrcGlzIiwieCJd", nul):  # not base64 JSON; []; of /kpis; a NUL
        answer = portal.http.get("/api/v1/daily", headers=bearer(admin), params={"cursor": cursor})
        assert answer.status_code == 400, cursor
        assert answer.json()["detail"] == "the cursor is not one this API gave: start again without it"


def test_every_call_is_in_the_access_log(portal, figures):
    finance = account(portal.db, "finance")
    token = token_of(portal.db, finance)
    (token_id,) = [t.token_id for t in tokens.all_tokens(portal.db)]
    assert (
        portal.http.get("/api/v1/daily", headers=bearer(token), params={"venue": "x' OR 1=1"}).status_code
        == 200
    )
    assert portal.http.get("/api/v1/events", headers=bearer(token)).status_code == 403
    logged = audit.entries(portal.db, access_log.c.action == "api_call")
    assert [(e.actor, e.subject, e.detail) for e in logged] == [
        (token_id, "/api/v1/daily", {"status": 200}),
        (token_id, "/api/v1/events", {"status": 403}),
    ]
    assert audit.verify(portal.db) is None
