"""The live night from hand-built raw rows: the night rolling at 06:00, occupancy and admissions up
to the moment asked about, takings so far, and last week's takings by the same time on London's
clock on both DST nights and the weeks after them."""

import datetime as dt
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from backroom_reporting.metrics.live_night import LiveFacts, Slot, live_night, open_night
from backroom_reporting.warehouse.tables.raw import RAW
from backroom_reporting.warehouse.types import table_schema
from tests.worlds import at, night_of

LONDON = ZoneInfo("Europe/London")
UTC = dt.UTC
SATURDAY = dt.date(2026, 11, 28)


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def raw(table: str, time_column: str, rows: list[dict]) -> pl.DataFrame:
    """Rows of a raw-layer table at Leeds, each on the night its time belongs to."""
    rows = [{"venue_id": "leeds", "business_date": night_of(r[time_column]), **r} for r in rows]
    return pl.DataFrame(rows, schema=table_schema(RAW[table]))


def scan(number: int, moment: dt.datetime, direction: str = "in") -> dict:
    return dict(
        check_in_id=f"ci-{number:04d}",
        event_id=None,
        booking_id=None,
        order_id=None,
        customer_id=None,
        direction=direction,
        scanned_at=moment,
        staff_id="door-1",
    )


def sale(moment: dt.datetime, pence: int, booking_id: str | None = None) -> dict:
    return dict(
        transaction_id=f"tx-{moment:%m%d%H%M%S}-{pence}",
        staff_id="bar-1",
        booking_id=booking_id,
        table_id="t1" if booking_id else None,
        amount_pence=pence,
        items=1,
        occurred_at=moment,
    )


def ticket(
    order: str, event_id: str, bought: dt.datetime, gross: int, fee: int, status: str = "paid"
) -> dict:
    return dict(
        order_id=order,
        event_id=event_id,
        customer_id=None,
        quantity=1,
        gross_pence=gross,
        fee_pence=fee,
        status=status,
        purchased_at=bought,
        refunded_at=None,
    )


def facts(scans=(), sales=(), tickets=(), event_nights=None) -> LiveFacts:
    return LiveFacts(
        check_ins=raw("check_ins", "scanned_at", list(scans)),
        bar_transactions=raw("bar_transactions", "occurred_at", list(sales)),
        ticket_sales=raw("ticket_sales", "purchased_at", list(tickets)),
        event_nights=pl.DataFrame(
            list((event_nights or {}).items()), schema={"event_id": pl.String, "night": pl.Date}, orient="row"
        ),
    )


@pytest.mark.parametrize(
    ("moment", "night", "hours"),
    [
        (dt.datetime(2026, 11, 29, 5, 59, 59, tzinfo=LONDON), SATURDAY, 24),
        (dt.datetime(2026, 11, 29, 6, 0, tzinfo=LONDON), dt.date(2026, 11, 29), 24),
        (dt.datetime(2026, 11, 28, 23, 0, tzinfo=LONDON), SATURDAY, 24),
        # The spring-forward night has 23 hours, the fall-back night 25; 05:59 is still the night.
        (dt.datetime(2026, 3, 29, 5, 59, tzinfo=LONDON), dt.date(2026, 3, 28), 23),
        (dt.datetime(2026, 10, 25, 5, 59, tzinfo=LONDON), dt.date(2026, 10, 24), 25),
    ],
)
def test_the_open_night_rolls_over_at_six_in_the_morning(moment, night, hours):
    window = open_night(moment)
    assert (window.first_day, window.last_day) == (night, night)
    assert window.start == dt.datetime.combine(night, dt.time(6), tzinfo=LONDON)
    assert window.end - window.start == dt.timedelta(hours=hours)


def test_occupancy_and_admissions_count_the_nights_scans_up_to_now():
    friday = SATURDAY - dt.timedelta(days=1)
    last_night = [scan(1, at(friday, "23:00")), scan(2, at(friday, "23:30")), scan(3, at(friday, "05:50"))]
    tonight = [
        (at(SATURDAY, "22:01"), "in"),
        (at(SATURDAY, "22:05"), "out"),
        (at(SATURDAY, "22:14"), "in"),
        (at(SATURDAY, "22:15"), "in"),
        (at(SATURDAY, "22:15"), "in"),
        (at(SATURDAY, "22:59"), "in"),
        (at(SATURDAY, "23:10"), "out"),
        (at(SATURDAY, "23:40"), "in"),  # after now: not yet
    ]
    scans = last_night + [scan(10 + i, moment, way) for i, (moment, way) in enumerate(tonight)]
    now = at(SATURDAY, "23:20")

    live = live_night(facts(scans), now)

    so_far = [(moment, way) for moment, way in tonight if moment <= now]
    assert live.night == SATURDAY
    # Friday's three still "inside" at 06:00 do not carry over: the night starts empty.
    assert live.occupancy == sum(1 if way == "in" else -1 for _, way in so_far) == 3
    assert live.admitted == sum(way == "in" for _, way in so_far) == 5
    assert [(s.clock, s.admitted) for s in live.admissions] == [
        ("22:00", 2),
        ("22:15", 2),
        ("22:30", 0),
        ("22:45", 1),
        ("23:00", 0),
        ("23:15", 0),
    ]
    assert live.admissions[0].starts_at == at(SATURDAY, "22:00")


def test_a_night_with_nobody_in_yet_is_empty():
    live = live_night(facts(), at(SATURDAY, "20:00"))
    assert (live.occupancy, live.admitted, live.admissions) == (0, 0, ())
    assert live.takings.total_pence == live.last_week.total_pence == 0
    assert live.change is None


def test_the_fall_back_nights_repeated_quarter_hours_are_counted_apart():
    night = dt.date(2026, 10, 24)
    first_time, second_time = utc(2026, 10, 25, 0, 10), utc(2026, 10, 25, 1, 10)  # 01:10 BST, 01:10 GMT
    live = live_night(facts([scan(1, first_time), scan(2, second_time)]), utc(2026, 10, 25, 1, 20))
    assert live.night == night
    assert live.admissions == tuple(
        Slot(utc(2026, 10, 25, 0, 0) + dt.timedelta(minutes=15 * i), clock, admitted)
        for i, (clock, admitted) in enumerate(
            [("01:00", 1), ("01:15", 0), ("01:30", 0), ("01:45", 0), ("01:00", 1), ("01:15", 0)]
        )
    )


def test_takings_so_far_follow_the_daily_definitions():
    week_before = SATURDAY - dt.timedelta(days=7)
    now = at(SATURDAY, "23:30")
    tonights_event, next_weeks_event, last_weeks_event = "ev-tonight", "ev-next", "ev-last"
    sales = [
        sale(at(SATURDAY, "21:00"), 1_250),
        sale(at(SATURDAY, "22:30"), 4_000),
        sale(at(SATURDAY, "22:45"), 15_000, booking_id="bk-1"),  # a table's tab
        sale(at(SATURDAY, "23:45"), 900),  # after now
        sale(at(week_before, "22:00"), 3_000),
        sale(at(week_before, "23:00"), 5_000, booking_id="bk-0"),
        sale(at(week_before, "23:31"), 7_000),  # after the same time last week
    ]
    tickets = [
        # A presale for tonight, bought three weeks ago, counts on tonight.
        ticket("o1", tonights_event, at(SATURDAY - dt.timedelta(days=21), "14:00"), 2_000, 150),
        ticket("o2", tonights_event, at(SATURDAY, "22:10"), 2_500, 200),
        # Bought tonight for next week: next week's revenue, not tonight's.
        ticket("o3", next_weeks_event, at(SATURDAY, "22:20"), 3_000, 250),
        # Bought tonight for an event raw_events does not hold: stays on the night bought.
        ticket("o4", "ev-deleted", at(SATURDAY, "22:30"), 1_000, 100),
        ticket("o5", tonights_event, at(SATURDAY, "22:40"), 2_500, 200, status="refunded"),
        ticket("o6", tonights_event, at(SATURDAY, "23:50"), 2_500, 200),  # after now
        ticket("o7", last_weeks_event, at(week_before - dt.timedelta(days=3), "12:00"), 1_800, 100),
        ticket("o8", last_weeks_event, at(week_before, "23:40"), 1_800, 100),  # after the time
    ]
    nights = {
        tonights_event: SATURDAY,
        next_weeks_event: SATURDAY + dt.timedelta(days=7),
        last_weeks_event: week_before,
    }

    live = live_night(facts(sales=sales, tickets=tickets, event_nights=nights), now)

    assert (live.takings.bar_pence, live.takings.table_pence) == (1_250 + 4_000, 15_000)
    assert live.takings.ticket_pence == (2_000 - 150) + (2_500 - 200) + (1_000 - 100)
    assert live.takings.total_pence == 5_250 + 15_000 + 5_050
    assert (live.last_week.bar_pence, live.last_week.table_pence) == (3_000, 5_000)
    assert live.last_week.ticket_pence == 1_800 - 100
    assert live.last_week_by == "23:30"
    assert live.change == pytest.approx((25_300 - 9_700) / 9_700)


def london(*args: int, fold: int = 0) -> dt.datetime:
    return dt.datetime(*args, tzinfo=LONDON, fold=fold).astimezone(UTC)


# (now, last week's sales as (when, pence), the pence of those that count by that time)
CLOCK_CHANGES = {
    # Tonight is the spring-forward night: 02:30 BST, 19.5 hours after 06:00 GMT. A week before,
    # by the clock, is 02:30 GMT: the sale at 02:00 counts, although by elapsed time (19.5 hours
    # after 06:00, 01:30 GMT) it would not.
    "spring-forward night": (
        london(2026, 3, 29, 2, 30),
        [(london(2026, 3, 22, 1, 45), 100), (london(2026, 3, 22, 2, 0), 20), (london(2026, 3, 22, 2, 45), 3)],
        120,
    ),
    # A week after it: at 01:30 the week before the clock never showed 01:30; everything
    # before the clocks went forward at 01:00 GMT counts, nothing after (02:05 BST).
    "the week after spring forward": (
        london(2026, 4, 5, 1, 30),
        [(utc(2026, 3, 29, 0, 20), 100), (utc(2026, 3, 29, 0, 45), 20), (utc(2026, 3, 29, 1, 5), 3)],
        120,
    ),
    # Tonight is the fall-back night: at 01:30 BST and again at 01:30 GMT the week before is
    # at 01:30 BST; by elapsed time the second would reach 02:30 BST and count the 02:00 sale.
    "fall-back night, first 01:30": (
        london(2026, 10, 25, 1, 30, fold=0),
        [
            (london(2026, 10, 18, 1, 15), 100),
            (london(2026, 10, 18, 1, 45), 20),
            (london(2026, 10, 18, 2, 0), 3),
        ],
        100,
    ),
    "fall-back night, second 01:30": (
        london(2026, 10, 25, 1, 30, fold=1),
        [
            (london(2026, 10, 18, 1, 15), 100),
            (london(2026, 10, 18, 1, 45), 20),
            (london(2026, 10, 18, 2, 0), 3),
        ],
        100,
    ),
    # A week after it: 01:30 showed twice the week before; the comparison runs to the second
    # time, so 01:45 BST and 01:20 GMT count and 01:45 GMT does not.
    "the week after fall back": (
        london(2026, 11, 1, 1, 30),
        [
            (london(2026, 10, 25, 1, 45, fold=0), 100),
            (london(2026, 10, 25, 1, 20, fold=1), 20),
            (london(2026, 10, 25, 1, 45, fold=1), 3),
        ],
        120,
    ),
}


@pytest.mark.parametrize(("now", "last_weeks_sales", "expected"), CLOCK_CHANGES.values(), ids=CLOCK_CHANGES)
def test_last_week_is_read_by_londons_clock_when_the_clocks_change(now, last_weeks_sales, expected):
    tonight = open_night(now).first_day
    assert {night_of(moment) for moment, _ in last_weeks_sales} == {tonight - dt.timedelta(days=7)}
    sales = [sale(moment, pence) for moment, pence in last_weeks_sales]
    live = live_night(facts(sales=sales), now)
    assert live.last_week.bar_pence == expected
    assert live.last_week_by == f"{now.astimezone(LONDON):%H:%M}"
