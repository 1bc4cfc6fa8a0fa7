"""Event figures on small hand-built frames with known answers (no database).

Times are London wall-clock moments on the night of a date (tests.worlds.at): clocks
before 12:00 are the next morning.
"""

import datetime as dt

import polars as pl
import pytest

from backroom_reporting.metrics.events import (
    COMPARED,
    compared_nights,
    comparisons,
    event_performance,
    staff_hours,
)
from tests.worlds import at, night_of

SATURDAY = dt.date(2026, 3, 21)
DST_SATURDAY = dt.date(2026, 3, 28)  # clocks go forward at 01:00 GMT: 21:00-03:00 is 5 hours
UTC_TIME = pl.Datetime("us", "UTC")


def event(event_id: str, night: dt.date, **changes) -> dict:
    return {
        "event_id": event_id,
        "venue_id": "leeds",
        "brand": "NOSTALGIA",
        "name": f"NOSTALGIA {night}",
        "status": "completed",
        "starts_at": at(night, "21:00"),
        "ends_at": at(night, "03:00"),
        "capacity": 200,
        **changes,
    }


def frame(rows: list[dict], schema: dict) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=schema, orient="row")


def scans(*rows: tuple) -> pl.DataFrame:
    """(check_in_id, venue_id, direction, scanned_at) -> scans with their business day."""
    return frame(
        [(i, v, night_of(t), d, t) for i, v, d, t in rows],
        {
            "check_in_id": pl.String,
            "venue_id": pl.String,
            "business_date": pl.Date,
            "direction": pl.String,
            "scanned_at": UTC_TIME,
        },
    )


def bar(*rows: tuple) -> pl.DataFrame:
    """(venue_id, occurred_at, amount_pence, booking_id), with each sale's business night."""
    return frame(
        [(v, night_of(t), t, a, b) for v, t, a, b in rows],
        {
            "venue_id": pl.String,
            "business_date": pl.Date,
            "occurred_at": UTC_TIME,
            "amount_pence": pl.Int64,
            "booking_id": pl.String,
        },
    )


def orders(*rows: tuple) -> pl.DataFrame:
    """(event_id, quantity, gross_pence, fee_pence, status)"""
    return frame(
        list(rows),
        {
            "event_id": pl.String,
            "quantity": pl.Int64,
            "gross_pence": pl.Int64,
            "fee_pence": pl.Int64,
            "status": pl.String,
        },
    )


def feedback(*rows: tuple) -> pl.DataFrame:
    return frame(list(rows), {"event_id": pl.String, "score": pl.Int64})


def shifts(*rows: tuple) -> pl.DataFrame:
    """(shift_id, venue_id, role, starts_at, ends_at)"""
    return frame(
        list(rows),
        {
            "shift_id": pl.String,
            "venue_id": pl.String,
            "role": pl.String,
            "starts_at": UTC_TIME,
            "ends_at": UTC_TIME,
        },
    )


def bookings(*rows: tuple) -> pl.DataFrame:
    return frame(list(rows), {"event_id": pl.String, "status": pl.String})


def performance(events: list[dict], **facts) -> dict[str, dict]:
    empty = {
        "scans": scans(),
        "bar_transactions": bar(),
        "orders": orders(),
        "feedback": feedback(),
        "shifts": shifts(),
        "bookings": bookings(),
    }
    rows = event_performance(pl.DataFrame(events), **{**empty, **facts})
    return {r["event_id"]: r for r in rows.to_dicts()}


def test_a_night_spanning_midnight_counts_what_falls_in_its_half_open_window():
    night = SATURDAY
    [row] = performance(
        [event("e1", night)],
        scans=scans(
            ("c01", "leeds", "in", at(night, "20:30")),  # already inside when the event starts
            ("c02", "leeds", "in", at(night, "21:00")),  # at starts_at: inside the window
            ("c03", "leeds", "in", at(night, "23:00")),
            ("c04", "leeds", "out", at(night, "00:30")),
            ("c05", "leeds", "in", at(night, "02:59")),
            ("c06", "leeds", "in", at(night, "03:00")),  # at ends_at: outside
            ("c07", "york", "in", at(night, "22:00")),  # another venue
        ),
        bar_transactions=bar(
            ("leeds", at(night, "20:59"), 500, None),
            ("leeds", at(night, "21:00"), 700, None),
            ("leeds", at(night, "01:10"), 1250, "b1"),
            ("leeds", at(night, "02:59"), 300, None),
            ("leeds", at(night, "03:00"), 800, None),
            ("york", at(night, "23:00"), 9999, None),
        ),
        orders=orders(
            ("e1", 3, 3600, 360, "paid"),
            ("e1", 1, 1200, 120, "refunded"),
            ("e1", 1, 1200, 120, "paid"),
            ("other", 5, 6000, 600, "paid"),
        ),
        feedback=feedback(("e1", 4), ("e1", 5), ("other", 1)),
        shifts=shifts(
            ("sh1", "leeds", "door", at(night, "20:00"), at(night, "03:30")),
            ("sh2", "leeds", "bar", at(night, "22:00"), at(night, "02:00")),
            ("sh3", "york", "door", at(night, "20:00"), at(night, "03:30")),
        ),
        bookings=bookings(("e1", "completed"), ("e1", "no_show"), ("e1", "cancelled"), ("e1", "confirmed")),
    ).values()
    assert row["business_date"] == night
    assert row["attendance"] == 3  # 21:00, 23:00 and 02:59
    # Running count over the night: 1, 2, 3, 2, 3, 4 (03:00, outside), so 3 inside the window.
    assert row["peak_occupancy"] == 3
    assert row["occupancy_rate"] == pytest.approx(3 / 200)
    assert row["tickets_sold"] == 4
    assert row["ticket_revenue_pence"] == (3600 - 360) + (1200 - 120)
    # The bar and table sales of the whole night at its venue, before and after the window too:
    # the night's only event takes all of its revenue.
    assert (row["bar_revenue_pence"], row["table_revenue_pence"]) == (500 + 700 + 300 + 800, 1250)
    assert row["gross_revenue_pence"] == 2300 + 1250 + 4320
    assert (row["feedback_count"], row["avg_satisfaction"]) == (2, 4.5)
    assert (row["staff_hours"], row["door_staff_hours"]) == (pytest.approx(10.0), pytest.approx(6.0))
    assert row["revenue_per_staff_hour_pence"] == pytest.approx(7870 / 10)
    assert row["entries_per_door_staff_hour"] == pytest.approx(3 / 6)
    assert (row["bookings"], row["bookings_confirmed"], row["no_shows"]) == (4, 3, 1)
    assert row["no_show_rate"] == pytest.approx(1 / 3)


def test_the_spring_forward_night_is_five_hours_long():
    night = DST_SATURDAY
    [row] = performance(
        [event("e1", night)],
        scans=scans(("c1", "leeds", "in", at(night, "02:30")), ("c2", "leeds", "in", at(night, "02:59"))),
        shifts=shifts(("sh1", "leeds", "door", at(night, "20:00"), at(night, "03:30"))),
    ).values()
    assert row["door_staff_hours"] == pytest.approx(5.0)
    assert row["attendance"] == 2
    assert row["entries_per_door_staff_hour"] == pytest.approx(2 / 5)


def test_without_activity_the_rates_are_null():
    [row] = performance([event("e1", SATURDAY)]).values()
    assert (row["attendance"], row["peak_occupancy"], row["gross_revenue_pence"]) == (0, 0, 0)
    assert row["occupancy_rate"] == 0.0
    for rate in (
        "avg_satisfaction",
        "revenue_per_staff_hour_pence",
        "entries_per_door_staff_hour",
        "no_show_rate",
    ):
        assert row[rate] is None, rate
    assert (row["staff_hours"], row["feedback_count"]) == (0.0, 0)


def test_a_cancelled_event_keeps_its_row_with_zero_activity():
    night = SATURDAY
    [row] = performance(
        [event("e1", night, status="cancelled")],
        scans=scans(("c1", "leeds", "in", at(night, "22:00"))),
        bar_transactions=bar(("leeds", at(night, "22:00"), 900, None)),
        orders=orders(("e1", 2, 2400, 240, "paid")),
        feedback=feedback(("e1", 1)),
        shifts=shifts(("sh1", "leeds", "door", at(night, "20:00"), at(night, "03:30"))),
        bookings=bookings(("e1", "no_show")),
    ).values()
    assert row["status"] == "cancelled"
    for column in ("attendance", "peak_occupancy", "tickets_sold", "gross_revenue_pence", "feedback_count"):
        assert row[column] == 0, column
    assert (row["staff_hours"], row["bookings"], row["no_shows"]) == (0.0, 0, 0)
    assert row["avg_satisfaction"] is None and row["no_show_rate"] is None


def test_a_shift_across_two_utc_days_is_counted_once_for_two_overlapping_events():
    night = SATURDAY
    early = event("early", night, ends_at=at(night, "23:00"))
    late = event("late", night, starts_at=at(night, "22:00"), ends_at=at(night, "04:00"))
    hours = staff_hours(
        pl.DataFrame([early, late]),
        shifts(("sh1", "leeds", "events", at(night, "18:00"), at(night, "05:00"))),
    )
    assert dict(hours.select("event_id", "staff_hours").iter_rows()) == {
        "early": pytest.approx(2.0),
        "late": pytest.approx(6.0),
    }


def figures(event_id: str, night: dt.date, attendance: int, gross: int, **changes) -> dict:
    base = event(event_id, night, **changes)
    return {c: base.get(c) for c in COMPARED} | {"attendance": attendance, "gross_revenue_pence": gross}


def compare(current: list[dict], earlier: list[dict]) -> dict[str, dict]:
    rows = comparisons(pl.DataFrame(current), pl.DataFrame(earlier + current))
    return {r["event_id"]: r for r in rows.to_dicts()}


def test_an_event_is_compared_with_its_brands_previous_event_and_four_week_average():
    saturday = dt.date(2026, 3, 28)
    earlier = [
        figures("six_weeks_ago", saturday - dt.timedelta(weeks=6), 50, 5000),
        figures("three_weeks_ago", saturday - dt.timedelta(weeks=3), 100, 10000),
        figures("last_week_cancelled", saturday - dt.timedelta(weeks=1), 0, 0, status="cancelled"),
        figures("two_weeks_ago", saturday - dt.timedelta(weeks=2), 200, 30000),
        figures("other_brand", saturday - dt.timedelta(days=1), 999, 99999, brand="SHHH!"),
        figures("other_venue", saturday - dt.timedelta(days=1), 999, 99999, venue_id="york"),
    ]
    row = compare([figures("now", saturday, 300, 40000)], earlier)["now"]
    assert row["previous_event_id"] == "two_weeks_ago"  # the cancelled night is no baseline
    assert row["attendance_change_vs_previous"] == pytest.approx((300 - 200) / 200)
    assert row["gross_revenue_change_vs_previous"] == pytest.approx((40000 - 30000) / 30000)
    assert row["events_previous_4_weeks"] == 2  # six weeks ago is outside the 28 days
    assert row["avg_attendance_previous_4_weeks"] == pytest.approx(150.0)
    assert row["avg_gross_revenue_previous_4_weeks_pence"] == pytest.approx(20000.0)
    assert row["attendance_change_vs_4_week_avg"] == pytest.approx((300 - 150) / 150)
    assert row["gross_revenue_change_vs_4_week_avg"] == pytest.approx((40000 - 20000) / 20000)


def test_a_brands_first_event_and_one_after_a_long_gap_have_no_comparisons():
    saturday = dt.date(2026, 3, 28)
    rows = compare(
        [figures("first", saturday, 300, 40000)],
        [figures("nine_weeks_ago", saturday - dt.timedelta(weeks=9), 100, 1000)],
    )
    row = rows["first"]
    assert row["previous_event_id"] is None and row["events_previous_4_weeks"] == 0
    for column in (
        "attendance_change_vs_previous",
        "gross_revenue_change_vs_previous",
        "avg_attendance_previous_4_weeks",
        "avg_gross_revenue_previous_4_weeks_pence",
        "attendance_change_vs_4_week_avg",
        "gross_revenue_change_vs_4_week_avg",
    ):
        assert row[column] is None, column


def test_changes_are_null_against_an_empty_night_and_for_a_cancelled_event():
    saturday = dt.date(2026, 3, 28)
    empty_before = figures("empty", saturday - dt.timedelta(weeks=1), 0, 0)
    rows = compare(
        [
            figures("after_empty", saturday, 120, 500),
            figures("cancelled", saturday + dt.timedelta(weeks=1), 0, 0, status="cancelled"),
        ],
        [empty_before],
    )
    assert rows["after_empty"]["previous_event_id"] == "empty"
    assert rows["after_empty"]["attendance_change_vs_previous"] is None
    assert rows["after_empty"]["gross_revenue_change_vs_4_week_avg"] is None
    cancelled = rows["cancelled"]
    assert cancelled["previous_event_id"] == "after_empty" and cancelled["events_previous_4_weeks"] == 2
    assert cancelled["attendance_change_vs_previous"] is None
    assert cancelled["gross_revenue_change_vs_4_week_avg"] is None


def test_only_the_nights_of_the_brands_own_earlier_events_are_read():
    week_before, fortnight_before = SATURDAY - dt.timedelta(days=7), SATURDAY - dt.timedelta(days=14)
    tonight = [
        event("tonight", SATURDAY),
        event("fiesta-tonight", SATURDAY, venue_id="york", brand="LA FIESTA"),
    ]
    earlier = [
        event("last-week", week_before),
        # A private hire that night shares its bar sales with NOSTALGIA: kept with it.
        event("hire", week_before, brand="PRIVATE", starts_at=at(week_before, "18:00")),
        # Ran past 06:00: its entries are on the next business day too.
        event("late", fortnight_before, ends_at=at(fortnight_before, "07:00")),
        event("cancelled", SATURDAY - dt.timedelta(days=21), status="cancelled"),
        event("friday", SATURDAY - dt.timedelta(days=1), brand="SHHH!"),
        event("york-nostalgia", week_before, venue_id="york"),
        event("york-fiesta", fortnight_before - dt.timedelta(days=2), venue_id="york", brand="LA FIESTA"),
    ]
    kept, days = compared_nights(pl.DataFrame(tonight), pl.DataFrame(earlier))
    assert sorted(kept["event_id"]) == ["hire", "last-week", "late", "york-fiesta"]
    assert days == sorted(
        [
            fortnight_before - dt.timedelta(days=2),
            fortnight_before,
            fortnight_before + dt.timedelta(days=1),
            week_before,
        ]
    )
