"""Business-day attribution: a night is one business day, on the DST nights too."""

import datetime as dt
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from backroom_reporting.metrics.business_time import (
    BusinessWindow,
    business_date,
    local_hour,
    with_business_date,
)

LONDON = ZoneInfo("Europe/London")
UTC = dt.UTC


def london(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=LONDON).astimezone(UTC)


def attribute(*instants: dt.datetime, cutoff=dt.time(6)) -> list[dt.date]:
    frame = pl.DataFrame({"at": list(instants)}, schema={"at": pl.Datetime("us", "UTC")})
    return frame.select(business_date(pl.col("at"), "Europe/London", cutoff))["at"].to_list()


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        # An ordinary Saturday night: 23:00 and 03:00 belong to Saturday, 06:00 starts Sunday.
        (london(2026, 11, 21, 23, 0), dt.date(2026, 11, 21)),
        (london(2026, 11, 22, 0, 0), dt.date(2026, 11, 21)),
        (london(2026, 11, 22, 3, 0), dt.date(2026, 11, 21)),
        (london(2026, 11, 22, 5, 59, 59), dt.date(2026, 11, 21)),
        (london(2026, 11, 22, 6, 0), dt.date(2026, 11, 22)),
        # Spring forward, Sunday 2026-03-29: clocks jump 01:00 GMT -> 02:00 BST.
        (dt.datetime(2026, 3, 29, 0, 59, tzinfo=UTC), dt.date(2026, 3, 28)),  # 00:59 GMT
        (dt.datetime(2026, 3, 29, 1, 0, tzinfo=UTC), dt.date(2026, 3, 28)),  # 02:00 BST
        (dt.datetime(2026, 3, 29, 4, 59, tzinfo=UTC), dt.date(2026, 3, 28)),  # 05:59 BST
        (dt.datetime(2026, 3, 29, 5, 0, tzinfo=UTC), dt.date(2026, 3, 29)),  # 06:00 BST
        # Fall back, Sunday 2026-10-25: 02:00 BST -> 01:00 GMT; 01:30 happens twice.
        (dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC), dt.date(2026, 10, 24)),  # 01:30 BST
        (dt.datetime(2026, 10, 25, 1, 30, tzinfo=UTC), dt.date(2026, 10, 24)),  # 01:30 GMT
        (dt.datetime(2026, 10, 25, 5, 59, tzinfo=UTC), dt.date(2026, 10, 24)),  # 05:59 GMT
        (dt.datetime(2026, 10, 25, 6, 0, tzinfo=UTC), dt.date(2026, 10, 25)),  # 06:00 GMT
        # Across midnight at New Year.
        (london(2027, 1, 1, 2, 0), dt.date(2026, 12, 31)),
    ],
)
def test_business_date_follows_the_wall_clock(moment, expected):
    # The expectation, independently: local wall clock minus six hours, by zoneinfo.
    local = moment.astimezone(LONDON).replace(tzinfo=None)
    assert (local - dt.timedelta(hours=6)).date() == expected
    assert attribute(moment) == [expected]


def test_a_different_cutoff_moves_the_boundary():
    assert attribute(london(2026, 11, 22, 4, 30), cutoff=dt.time(4)) == [dt.date(2026, 11, 22)]
    assert attribute(london(2026, 11, 22, 3, 59), cutoff=dt.time(4)) == [dt.date(2026, 11, 21)]


def test_local_hour_on_the_fall_back_night_repeats_one_am():
    frame = pl.DataFrame(
        {"at": [dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC), dt.datetime(2026, 10, 25, 1, 30, tzinfo=UTC)]},
        schema={"at": pl.Datetime("us", "UTC")},
    )
    assert frame.select(local_hour(pl.col("at")))["at"].to_list() == [1, 1]


def test_with_business_date_uses_each_venues_settings():
    rows = pl.DataFrame(
        {"venue_id": ["early", "late"], "at": [london(2026, 11, 22, 4, 30)] * 2},
        schema={"venue_id": pl.String, "at": pl.Datetime("us", "UTC")},
    )
    venues = pl.DataFrame(
        {
            "venue_id": ["early", "late"],
            "timezone": ["Europe/London"] * 2,
            "business_day_cutoff": ["04:00", "06:00"],
        }
    )
    out = with_business_date(rows, "at", venues).sort("venue_id")
    assert out["business_date"].to_list() == [dt.date(2026, 11, 22), dt.date(2026, 11, 21)]
    with pytest.raises(ValueError, match="no settings"):
        with_business_date(rows, "at", venues.head(1))


@pytest.mark.parametrize(
    ("day", "hours"), [(dt.date(2026, 3, 28), 23), (dt.date(2026, 10, 24), 25), (dt.date(2026, 11, 21), 24)]
)
def test_window_boundaries_are_local_six_am(day, hours):
    window = BusinessWindow(day, day)
    assert window.start == london(day.year, day.month, day.day, 6, 0)
    assert window.end - window.start == dt.timedelta(hours=hours)
    assert BusinessWindow.from_instants(window.start, window.end) == window


def test_window_refuses_to_run_backwards():
    with pytest.raises(ValueError, match="before it starts"):
        BusinessWindow(dt.date(2026, 1, 2), dt.date(2026, 1, 1))


def test_a_window_splits_into_consecutive_windows_that_cover_it_once():
    window = BusinessWindow(dt.date(2026, 1, 5), dt.date(2026, 3, 1))  # 56 nights, Monday to Sunday
    parts = window.split(25)
    assert [(c.first_day, c.last_day) for c in parts] == [
        (dt.date(2026, 1, 5), dt.date(2026, 1, 29)),
        (dt.date(2026, 1, 30), dt.date(2026, 2, 23)),
        (dt.date(2026, 2, 24), dt.date(2026, 3, 1)),
    ]
    assert [d for c in parts for d in c.days] == window.days
    weeks = window.split(7)
    assert len(weeks) == 8 and all(w.first_day.weekday() == 0 and len(w.days) == 7 for w in weeks)


@pytest.mark.parametrize(("venues", "nights"), [(1, 700), (25, 28), (30, 23), (2000, 1), (0, 700)])
def test_a_range_is_chunked_by_venue_nights(venues, nights):
    year = BusinessWindow(dt.date(2025, 11, 1), dt.date(2026, 10, 31))
    chunks = year.chunks(venues)
    assert [d for c in chunks for d in c.days] == year.days
    assert max(len(c.days) for c in chunks) == min(nights, len(year.days))
