"""A staff member's performance page over a real socket, on SQLite and PostgreSQL: their own
nights and totals, nobody else's, and what the managers of their venue see."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape

import sqlalchemy as sa

from backroom_reporting.portal.scoped import as_person
from backroom_reporting.privacy import audit
from backroom_reporting.warehouse.tables.customers import staff_performance
from tests.portal.archives import LEEDS, VENUES


def nights_shown(answer) -> list[tuple[str, str]]:
    """(night, venue) of each row of the page's night-by-night table."""
    table = answer.text.split('<table id="nights">')[1].split("</table>")[0]
    return [
        (unescape(night), unescape(venue))
        for night, venue in re.findall(r"<tr><td>([^<]+)</td><td>([^<]+)</td>", table)
    ]


def total(answer, name: str) -> str:
    return unescape(re.search(rf'<th scope="row">{name}</th><td>([^<]+)</td>', answer.text).group(1))


def expected(library, staff_id: str, weeks: int = 8, venues=None) -> list:
    first = library.last_closed - dt.timedelta(weeks=weeks) + dt.timedelta(days=1)
    nights = [
        n
        for n in library.nights
        if n.staff_id == staff_id
        and first <= n.business_date <= library.last_closed
        and (venues is None or n.venue_id in venues)
    ]
    return sorted(nights, key=lambda n: (n.business_date, n.venue_id), reverse=True)


def as_shown(nights) -> list[tuple[str, str]]:
    return [
        (f"{n.business_date:%a} {n.business_date.day} {n.business_date:%b %Y}", VENUES[n.venue_id])
        for n in nights
    ]


def test_a_staff_member_sees_their_own_nights_and_totals(portal, library):
    answer = portal.http.get("/me", headers=library.as_("kim"))
    assert answer.status_code == 200
    mine = expected(library, "s-kim")
    assert len(mine) < len([n for n in library.nights if n.staff_id == "s-kim"])  # older nights left out
    assert any(n.venue_id != LEEDS for n in mine)  # their York night too
    assert nights_shown(answer) == as_shown(mine)
    sales = sum(n.bar_sales_pence for n in mine)
    hours = sum(n.hours_on_shift for n in mine)
    assert total(answer, "Shifts") == str(len(mine))
    assert total(answer, "Hours on shift") == f"{hours:,.1f}"
    assert total(answer, "Bar sales") == f"£{sales / 100:,.2f}"
    assert total(answer, "Bar sales an hour") == f"£{sales / hours / 100:,.2f}"
    assert total(answer, "Entries processed") == f"{sum(n.entries_processed for n in mine):,}"
    assert "Lee Marsh" not in answer.text and "Ruth Dale" not in answer.text

    two_weeks = portal.http.get("/me", params={"weeks": 2}, headers=library.as_("kim"))
    assert nights_shown(two_weeks) == as_shown(expected(library, "s-kim", weeks=2))
    assert portal.http.get("/staff/s-kim", headers=library.as_("kim")).status_code == 200


def test_a_staff_member_may_not_see_anyone_elses_page(portal, library):
    refused = [
        portal.http.get(f"/staff/{who}", headers=library.as_("kim"))
        for who in ("s-lee", "s-ruth", "s-nobody")
    ]
    assert {a.status_code for a in refused} == {403}
    assert len({a.text for a in refused}) == 1  # nothing says who exists
    assert "Lee Marsh" not in refused[0].text
    for weeks in ("0", "54", "1 OR 1=1", "8;"):
        answer = portal.http.get("/me", params={"weeks": weeks}, headers=library.as_("kim"))
        assert answer.status_code == 422, weeks


def test_a_manager_sees_their_venues_staff_only(portal, library):
    kim = portal.http.get("/staff/s-kim", headers=library.as_("jo"))
    assert kim.status_code == 200
    # Kim's York night is not Jo's to see.
    assert nights_shown(kim) == as_shown(expected(library, "s-kim", venues={LEEDS}))
    lee = portal.http.get("/staff/s-lee", headers=library.as_("jo"))
    assert nights_shown(lee) == as_shown(expected(library, "s-lee"))
    assert "<h1>Lee Marsh</h1>" in lee.text
    ruth, nobody = (
        portal.http.get(f"/staff/{who}", headers=library.as_("jo")) for who in ("s-ruth", "s-nobody")
    )
    assert ruth.status_code == nobody.status_code == 404 and ruth.text == nobody.text
    everyone = portal.http.get("/staff/s-kim", headers=library.as_("ada"))
    assert nights_shown(everyone) == as_shown(expected(library, "s-kim"))
    # Finance reads no staff pages; a manager has no page of their own.
    assert portal.http.get("/staff/s-ruth", headers=library.as_("fay")).status_code == 403
    assert portal.http.get("/me", headers=library.as_("jo")).status_code == 404


def test_each_staff_page_looked_at_is_in_the_access_log(portal, library):
    portal.http.get("/me", headers=library.as_("kim"))
    portal.http.get("/staff/s-lee", headers=library.as_("kim"))
    portal.http.get("/staff/s-kim", params={"weeks": 4}, headers=library.as_("jo"))
    logged = [(e.actor, e.action, e.subject, e.detail) for e in audit.entries(portal.db)]
    assert logged == [
        (library.people["kim"].user_id, "view", "staff:s-kim", {"weeks": 8}),
        (library.people["jo"].user_id, "view", "staff:s-kim", {"weeks": 4}),
    ]


def test_the_database_itself_returns_a_staff_account_only_its_own_rows(portal, library):
    """On PostgreSQL the role's row-level security holds even for a query that asks for every row;
    SQLite has no roles, and there the page's own rules are all there is."""
    with as_person(portal.db, library.people["kim"]) as conn:
        staff_ids = set(conn.execute(sa.select(staff_performance.c.staff_id)).scalars())
    everyone = {n.staff_id for n in library.nights}
    assert staff_ids == ({"s-kim"} if portal.db.dialect == "postgresql" else everyone)
