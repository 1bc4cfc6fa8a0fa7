"""Small, hand-built booking-system worlds with known answers, and ways to break them.

Times are written as London wall-clock moments so a reader can see which night each
fact belongs to; `night_of` states the business-day rule independently of the code.
"""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import polars as pl
import sqlalchemy as sa

from backroom_reporting.warehouse.database import Database
from backroom_reporting.warehouse.source_contract import CONTRACT, create_loose_source
from backroom_reporting.warehouse.types import table_schema

LONDON = ZoneInfo("Europe/London")
UTC = dt.UTC


def at(day: dt.date, clock: str) -> dt.datetime:
    """Local London time on the night of `day`: clocks before 12:00 are the next morning."""
    hour, minute = map(int, clock.split(":"))
    date = day + dt.timedelta(days=1) if hour < 12 else day
    return dt.datetime(date.year, date.month, date.day, hour, minute, tzinfo=LONDON).astimezone(UTC)


def night_of(moment: dt.datetime) -> dt.date:
    """The business day of a moment: London wall clock minus six hours."""
    return (moment.astimezone(LONDON).replace(tzinfo=None) - dt.timedelta(hours=6)).date()


def small_world(nights: list[dt.date]) -> dict[str, list[dict]]:
    """One venue, a few customers, and on each night a booking, tickets, scans, bar sales,
    feedback and shifts at times spread over the night, including the small hours."""
    ids = itertools.count(1)
    world: dict[str, list[dict]] = {name: [] for name in CONTRACT}
    world["venues"].append(
        dict(
            venue_id="leeds",
            name="The Backroom Leeds",
            city="Leeds",
            timezone="Europe/London",
            capacity=300,
            business_day_cutoff="06:00",
        )
    )
    for i in range(1, 4):
        world["customers"].append(
            dict(
                customer_id=f"c{i}",
                email=f"c{i}@example.com",
                phone=f"07700900{i:03d}",
                first_name=f"Cus{i}",
                last_name="Tomer",
                date_of_birth=dt.date(1995, i, 1),
                created_at=dt.datetime(2025, 1, i, tzinfo=UTC),
                marketing_consent=i % 2 == 0,
                is_vip=i == 3,
            )
        )
    world["venue_tables"].append(
        dict(
            table_id="t1",
            venue_id="leeds",
            name="Booth 1",
            area="Main Room",
            seats=8,
            minimum_spend_pence=20000,
        )
    )
    for sid, role in (("s-door", "door"), ("s-bar", "bar")):
        world["staff"].append(
            dict(
                staff_id=sid,
                venue_id="leeds",
                name=f"Staff {role}",
                role=role,
                email=f"{sid}@example.com",
                phone="07700900999",
                active=True,
            )
        )
    for day in nights:
        event = f"e-{day.isoformat()}"
        world["events"].append(
            dict(
                event_id=event,
                venue_id="leeds",
                brand="NOSTALGIA",
                name=f"NOSTALGIA {day}",
                starts_at=at(day, "21:00"),
                ends_at=at(day, "03:00"),
                capacity=300,
                ticket_price_pence=1200,
                status="completed",
            )
        )
        booking = f"b{next(ids)}"
        world["bookings"].append(
            dict(
                booking_id=booking,
                venue_id="leeds",
                customer_id="c1",
                event_id=event,
                table_id="t1",
                created_at=at(day, "21:00") - dt.timedelta(days=10),
                booking_start=at(day, "22:00"),
                party_size=6,
                status="completed",
                cancelled_at=None,
                deposit_pence=6000,
                special_occasion="birthday",
                source="website",
            )
        )
        world["payments"].append(
            dict(
                payment_id=f"p{next(ids)}",
                venue_id="leeds",
                booking_id=booking,
                customer_id="c1",
                kind="deposit",
                amount_pence=6000,
                status="succeeded",
                created_at=at(day, "23:30"),
            )
        )
        order = f"o{next(ids)}"
        world["ticket_sales"].append(
            dict(
                order_id=order,
                venue_id="leeds",
                event_id=event,
                customer_id="c2",
                quantity=2,
                gross_pence=2400,
                fee_pence=240,
                status="paid",
                purchased_at=at(day, "00:15"),
                refunded_at=None,
            )
        )
        for clock, direction, who in (
            ("22:00", "in", "c1"),
            ("00:30", "in", "c2"),
            ("02:45", "out", "c1"),
            ("05:59", "out", "c2"),
        ):
            world["check_ins"].append(
                dict(
                    check_in_id=f"ci{next(ids)}",
                    venue_id="leeds",
                    event_id=event,
                    booking_id=booking if who == "c1" else None,
                    order_id=order if who == "c2" else None,
                    customer_id=who,
                    direction=direction,
                    scanned_at=at(day, clock),
                    staff_id="s-door",
                )
            )
        for clock, pence, tab in (("22:30", 450, False), ("01:10", 1250, True), ("03:00", 800, False)):
            world["bar_transactions"].append(
                dict(
                    transaction_id=f"tx{next(ids)}",
                    venue_id="leeds",
                    staff_id="s-bar",
                    booking_id=booking if tab else None,
                    table_id="t1" if tab else None,
                    amount_pence=pence,
                    items=2,
                    occurred_at=at(day, clock),
                )
            )
        world["feedback"].append(
            dict(
                feedback_id=f"f{next(ids)}",
                venue_id="leeds",
                customer_id="c1",
                booking_id=booking,
                event_id=event,
                score=5,
                nps=9,
                submitted_at=at(day, "04:00"),
            )
        )
        world["staff_shifts"].append(
            dict(
                shift_id=f"sh{next(ids)}",
                venue_id="leeds",
                staff_id="s-door",
                starts_at=at(day, "20:00"),
                ends_at=at(day, "03:30"),
            )
        )
    return world


def write_source(url: str, world: dict[str, list[dict]]) -> None:
    """Create the booking system's tables (loose, as the generator does) and fill them."""
    db = Database(url)
    create_loose_source(db.engine)
    for name, rows in world.items():
        table = CONTRACT[name].table
        db.replace(table, pl.DataFrame(rows, schema=table_schema(table)))
    db.engine.dispose()


def insert_raw(url: str, table: str, rows: list[dict]) -> None:
    """Insert rows as an outside writer would: plain SQL, values as given (text on SQLite)."""
    engine = sa.create_engine(url)
    columns = [c.name for c in CONTRACT[table].table.columns]
    loose = sa.table(table, *(sa.column(c) for c in columns))
    with engine.begin() as conn:
        conn.execute(sa.insert(loose), [{c: row.get(c) for c in columns} for row in rows])
    engine.dispose()


def source_rows(url: str, table: str) -> list[dict]:
    """Every row of a source table, read with plain SQLAlchemy (no project code)."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(sa.text(f"SELECT * FROM {table}"))]
    engine.dispose()
    return rows
