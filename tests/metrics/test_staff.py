"""Staff performance from hand-built raw rows, on both DST nights."""

import datetime as dt

import polars as pl
import pytest

from backroom_reporting.metrics.staff import staff_performance
from backroom_reporting.warehouse.tables.raw import RAW
from backroom_reporting.warehouse.types import table_schema
from tests.worlds import at, night_of

SPRING = dt.date(2026, 3, 28)  # 23-hour business day: clocks go forward at 01:00 GMT
AUTUMN = dt.date(2026, 10, 24)  # 25-hour business day: clocks go back at 02:00 BST


def raw(table: str, rows: list[dict]) -> pl.DataFrame:
    """Rows of a raw-layer table, each given the night its time belongs to."""
    time_column = {"staff_shifts": "starts_at", "bar_transactions": "occurred_at", "check_ins": "scanned_at"}
    if table in time_column:
        rows = [{**r, "venue_id": "leeds", "business_date": night_of(r[time_column[table]])} for r in rows]
    return pl.DataFrame(rows, schema=table_schema(RAW[table]))


def shift(staff_id: str, day: dt.date, start: str, end: str) -> dict:
    return dict(
        shift_id=f"{staff_id}-{day}-{start}",
        staff_id=staff_id,
        starts_at=at(day, start),
        ends_at=at(day, end),
    )


def sale(staff_id: str, day: dt.date, clock: str, pence: int) -> dict:
    return dict(
        transaction_id=f"{staff_id}-{day}-{clock}",
        staff_id=staff_id,
        booking_id=None,
        table_id=None,
        amount_pence=pence,
        items=1,
        occurred_at=at(day, clock),
    )


def scan(staff_id: str, day: dt.date, clock: str, direction: str) -> dict:
    return dict(
        check_in_id=f"{staff_id}-{day}-{clock}-{direction}",
        event_id=None,
        booking_id=None,
        order_id=None,
        customer_id=None,
        direction=direction,
        scanned_at=at(day, clock),
        staff_id=staff_id,
    )


STAFF = raw(
    "staff",
    [
        dict(
            staff_id=s,
            venue_id="leeds",
            name=n,
            role=r,
            email=f"{s}@example.com",
            phone="07700900000",
            active=True,
        )
        for s, n, r in (
            ("s-door", "Dee Door", "door"),
            ("s-bar", "Barry Bar", "bar"),
            ("s-cover", "Cora Cover", "bar"),
            ("s-manager", "Mo Manager", "manager"),
        )
    ],
)
SHIFTS = [
    shift("s-door", SPRING, "20:00", "03:30"),
    shift("s-bar", AUTUMN, "18:00", "21:00"),
    shift("s-bar", AUTUMN, "22:00", "03:00"),
    shift("s-manager", AUTUMN, "21:00", "04:00"),
]
SALES = [
    sale("s-bar", AUTUMN, "22:30", 450),
    sale("s-bar", AUTUMN, "01:30", 1250),  # the first 01:30 of the fall-back night
    sale("s-bar", AUTUMN, "05:59", 800),
    sale("s-cover", AUTUMN, "23:00", 600),  # rang up on someone else's login: no shift
    sale("s-bar", SPRING, "23:00", 999),  # on a night without a shift for them
]
SCANS = [
    scan("s-door", SPRING, "22:00", "in"),
    scan("s-door", SPRING, "02:30", "in"),  # 02:30 BST, after the clocks went forward
    scan("s-door", SPRING, "03:00", "out"),
]


def expected_rows() -> dict[tuple, dict]:
    rows: dict[tuple, dict] = {}

    def row(staff_id: str, moment: dt.datetime) -> dict:
        key = (night_of(moment), staff_id)
        return rows.setdefault(key, dict(shifts=0, hours=0.0, sales=0, transactions=0, entries=0))

    for s in SHIFTS:
        r = row(s["staff_id"], s["starts_at"])
        r["shifts"] += 1
        r["hours"] += (s["ends_at"] - s["starts_at"]).total_seconds() / 3600  # UTC instants: elapsed time
    for s in SALES:
        r = row(s["staff_id"], s["occurred_at"])
        r["sales"] += s["amount_pence"]
        r["transactions"] += 1
    for s in SCANS:
        if s["direction"] == "in":
            row(s["staff_id"], s["scanned_at"])["entries"] += 1
    return rows


def test_staff_days_match_the_rows():
    frame = staff_performance(
        raw("staff_shifts", SHIFTS), raw("bar_transactions", SALES), raw("check_ins", SCANS), STAFF
    )
    names = {r["staff_id"]: (r["name"], r["role"]) for r in STAFF.to_dicts()}
    actual = {(r["business_date"], r["staff_id"]): r for r in frame.to_dicts()}
    expected = expected_rows()
    assert actual.keys() == expected.keys()
    for key, e in expected.items():
        a = actual[key]
        assert a["venue_id"] == "leeds"
        assert (a["staff_name"], a["role"]) == names[key[1]]
        assert (a["shifts"], a["bar_sales_pence"], a["bar_transactions"], a["entries_processed"]) == (
            e["shifts"],
            e["sales"],
            e["transactions"],
            e["entries"],
        )
        assert a["hours_on_shift"] == pytest.approx(e["hours"])
        if e["hours"]:
            assert a["sales_per_hour_pence"] == pytest.approx(e["sales"] / e["hours"])
        else:
            assert a["sales_per_hour_pence"] is None


def test_hours_are_elapsed_time_across_the_clock_changes():
    frame = staff_performance(
        raw("staff_shifts", SHIFTS), raw("bar_transactions", SALES), raw("check_ins", SCANS), STAFF
    )
    by_key = {(r["business_date"], r["staff_id"]): r for r in frame.to_dicts()}
    # 20:00 GMT to 03:30 BST is 6.5 hours, not the 7.5 the wall clock suggests.
    assert by_key[(SPRING, "s-door")]["hours_on_shift"] == 6.5
    assert by_key[(SPRING, "s-door")]["entries_processed"] == 2
    # 18:00-21:00 BST and 22:00 BST to 03:00 GMT: 3 + 6 hours.
    assert by_key[(AUTUMN, "s-bar")]["hours_on_shift"] == 9.0
    assert by_key[(AUTUMN, "s-bar")]["sales_per_hour_pence"] == pytest.approx(2500 / 9)
    # Sales without a shift: no hours, so no rate.
    assert by_key[(AUTUMN, "s-cover")]["shifts"] == 0
    assert by_key[(AUTUMN, "s-cover")]["sales_per_hour_pence"] is None
    assert by_key[(SPRING, "s-bar")]["sales_per_hour_pence"] is None
    # A shift without sales: a rate of zero.
    assert by_key[(AUTUMN, "s-manager")]["sales_per_hour_pence"] == 0.0


def test_no_shifts_or_activity_gives_no_rows():
    empty = {t: raw(t, []) for t in ("staff_shifts", "bar_transactions", "check_ins")}
    frame = staff_performance(empty["staff_shifts"], empty["bar_transactions"], empty["check_ins"], STAFF)
    assert frame.height == 0
