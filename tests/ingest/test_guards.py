"""The load guards' thresholds, one by one, on figures worked out by hand."""

import datetime as dt

import polars as pl

from backroom_reporting.ingest.guards import accepted, night_trip, snapshot_trip, usual_counts

SATURDAY = dt.date(2026, 11, 21)


def test_a_snapshot_may_shrink_by_a_tenth_but_no_more():
    assert snapshot_trip("customers", 1_000, 900, 0, 0.01) is None
    trip = snapshot_trip("customers", 1_000, 899, 0, 0.01)
    assert trip.guard == "shrinking_snapshot"
    assert trip.sentence.startswith("customers would shrink from 1,000 to 899 rows (more than 10%)")


def test_an_empty_source_table_trips_only_where_rows_were_held():
    assert snapshot_trip("staff", 0, 0, 0, 0.01) is None  # a new venue: nothing to lose
    assert snapshot_trip("staff", 12, 0, 0, 0.01).guard == "empty_source"
    assert night_trip("check_ins", SATURDAY, 394, 0, 0, None, True, 0.01).guard == "empty_source"


def test_a_few_bad_rows_are_noise_and_a_high_rate_is_a_broken_source():
    # 3 of 50 is 6%, but three rows never stop a load.
    assert night_trip("feedback", SATURDAY, 50, 47, 3, None, False, 0.01) is None
    trip = night_trip("bookings", SATURDAY, 50, 46, 4, None, False, 0.01)
    assert trip.guard == "quarantine_rate"
    assert "4 of 50 rows failed the contract (8.0%, more than its limit of 1%)" in trip.sentence
    # 4 of 1,000 is within 1%.
    assert night_trip("bookings", SATURDAY, 1_000, 996, 4, None, False, 0.01) is None


def test_a_night_collapses_against_the_same_weekday_of_four_weeks():
    history = pl.DataFrame(
        {
            "business_date": [SATURDAY - dt.timedelta(weeks=w) for w in range(1, 5)]
            + [SATURDAY - dt.timedelta(days=1)],
            "rows_loaded": [400, 380, 420, 400, 5],  # Friday's 5 is another weekday
        }
    )
    usual = usual_counts(history, [SATURDAY, SATURDAY - dt.timedelta(days=1)])
    assert usual == {SATURDAY: 400.0}  # Friday has no four weeks of history
    assert night_trip("check_ins", SATURDAY, 394, 100, 0, usual[SATURDAY], False, 0.01) is None
    # One bank-holiday Sunday among closed ones does not make the next closed Sunday a collapse.
    sunday = SATURDAY + dt.timedelta(days=1)
    sundays = pl.DataFrame(
        {
            "business_date": [sunday - dt.timedelta(weeks=w) for w in range(1, 5)],
            "rows_loaded": [0, 0, 300, 0],
        }
    )
    assert usual_counts(sundays, [sunday]) == {sunday: 0}
    trip = night_trip("check_ins", SATURDAY, 394, 99, 0, usual[SATURDAY], False, 0.01)
    assert trip.guard == "collapsed_night"
    assert trip.sentence == (
        "check_ins on Saturday 21 November 2026 has 99 rows where the same night of the last 4 weeks "
        "usually had 400: the previous rows were kept. If the change is real, accept it with "
        "`backroom rebuild --from 2026-11-21 --accept-changes check_ins`."
    )
    # Quiet weekdays (usually fewer than 20 rows) are too small to judge.
    assert night_trip("check_ins", SATURDAY, 10, 0, 0, 12.0, False, 0.01) is None


def test_the_run_tag_accepts_named_tables_or_all():
    tags = {"backroom/accept_changes": "check_ins, customers"}
    assert accepted(tags, "customers") and not accepted(tags, "bookings")
    assert accepted({"backroom/accept_changes": "all"}, "bookings")
    assert not accepted({}, "bookings")
