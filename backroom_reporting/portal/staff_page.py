"""A staff member's performance page: their nights of the last weeks from staff_performance.

`/me` is a staff account's own page; `/staff/{staff_id}` is the same page for the managers
and admins covering the staff member's venue. A staff account may see only its own: asking
for anyone else's is refused without saying whether they exist. On PostgreSQL the rows are
read as the person's role, whose row-level security returns a staff account its own rows only.
Who looked at whose page goes in the access log.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from backroom_reporting.metrics.business_time import last_closed_business_day
from backroom_reporting.portal.archive import venue_names
from backroom_reporting.portal.pages import Refusal, page
from backroom_reporting.portal.people import Person
from backroom_reporting.portal.scoped import as_person
from backroom_reporting.portal.sessions import CurrentPerson
from backroom_reporting.portal.state import Warehouse
from backroom_reporting.privacy import audit
from backroom_reporting.rendering.formatting import format_count, format_date, format_money
from backroom_reporting.warehouse.database import Database
from backroom_reporting.warehouse.tables.customers import staff_performance

router = APIRouter()

WEEKS = 8
Weeks = Annotated[int, Query(ge=1, le=53, description="how many weeks back, to the last closed night")]


@dataclasses.dataclass(frozen=True)
class Totals:
    shifts: int
    hours_on_shift: float
    bar_sales_pence: int
    bar_transactions: int
    entries_processed: int

    @property
    def sales_per_hour_pence(self) -> float | None:
        return self.bar_sales_pence / self.hours_on_shift if self.hours_on_shift else None


def totals(rows: list[sa.RowMapping]) -> Totals:
    return Totals(
        shifts=sum(r["shifts"] for r in rows),
        hours_on_shift=sum(r["hours_on_shift"] for r in rows),
        bar_sales_pence=sum(r["bar_sales_pence"] for r in rows),
        bar_transactions=sum(r["bar_transactions"] for r in rows),
        entries_processed=sum(r["entries_processed"] for r in rows),
    )


def performance(
    conn: sa.Connection, person: Person, staff_id: str, first: dt.date, last: dt.date
) -> list[sa.RowMapping] | None:
    """The staff member's nights from `first` to `last`, newest first, at the venues the person
    covers (all of them on their own page); None when the person covers no night of theirs ever."""
    s = staff_performance
    where = [s.c.staff_id == staff_id]
    if person.staff_id != staff_id and person.venue_ids is not None:
        where.append(s.c.venue_id.in_(person.venue_ids))
    if (
        person.staff_id != staff_id
        and conn.execute(sa.select(s.c.staff_id).where(*where).limit(1)).first() is None
    ):
        return None
    query = (
        sa.select(s)
        .where(*where, s.c.business_date.between(first, last))
        .order_by(s.c.business_date.desc(), s.c.venue_id)
    )
    return list(conn.execute(query).mappings().all())


def staff_page_of(request: Request, db: Database, person: Person, staff_id: str, weeks: int) -> HTMLResponse:
    last = last_closed_business_day(dt.datetime.now(dt.UTC))
    first = last - dt.timedelta(weeks=weeks) + dt.timedelta(days=1)
    with as_person(db, person) as conn:
        rows = performance(conn, person, staff_id, first, last)
    if rows is None:
        raise Refusal("there is no staff member of that id at your venues", 404)
    # Venue names are not about anyone, and a staff role may not read raw_venues.
    with db.engine.connect() as conn:
        names = venue_names(conn)
    audit.record(db, person.user_id, "view", dt.datetime.now(dt.UTC), f"staff:{staff_id}", {"weeks": weeks})
    name = next((r["staff_name"] for r in rows if r["staff_name"]), None)
    if name is None:
        name = person.name if person.staff_id == staff_id else staff_id
    return page(
        request,
        "staff.html",
        name=name,
        own=person.staff_id == staff_id,
        rows=rows,
        totals=totals(rows),
        venues=names,
        first=first,
        last=last,
        weeks=weeks,
        money=format_money,
        count=format_count,
        date=format_date,
    )


@router.get("/me", name="my_page", response_class=HTMLResponse)
def my_page(request: Request, person: CurrentPerson, db: Warehouse, weeks: Weeks = WEEKS) -> HTMLResponse:
    """A staff account's own performance page."""
    if person.staff_id is None:
        raise Refusal("this account is not a staff member's, so it has no performance page", 404)
    return staff_page_of(request, db, person, person.staff_id, weeks)


@router.get("/staff/{staff_id}", name="staff_page", response_class=HTMLResponse)
def staff_page(
    request: Request, staff_id: str, person: CurrentPerson, db: Warehouse, weeks: Weeks = WEEKS
) -> HTMLResponse:
    """A staff member's page, for the managers and admins of their venue (and for themselves)."""
    if not person.may_see_staff(staff_id):
        raise Refusal("this account may see only its own performance page", 403)
    return staff_page_of(request, db, person, staff_id, weeks)
