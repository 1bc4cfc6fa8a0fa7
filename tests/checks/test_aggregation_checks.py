"""The daily checks find the rows of bad aggregates, none in good ones, and judge each night
on its own rows."""

import datetime as dt

import dagster as dg
import polars as pl

from backroom_reporting.checks import aggregations as checks
from backroom_reporting.metrics.business_time import BusinessWindow

DAY = dt.date(2026, 11, 21)  # a Saturday


def daily(**overrides) -> pl.DataFrame:
    row = {
        "venue_id": "leeds",
        "business_date": DAY,
        "bar_revenue_pence": 1000,
        "table_revenue_pence": 500,
        "ticket_revenue_pence": 200,
        "gross_revenue_pence": 1700,
        "deposits_pence": 0,
        "refunds_pence": 0,
        "net_revenue_pence": 1700,
        "ticket_sales_taken_pence": 150,  # tickets bought that night; the 200 were for it
        "check_ins": 3,
        "check_outs": 3,
        "tickets_sold": 1,
        "bookings_total": 1,
        "peak_occupancy": 2,
    }
    return pl.DataFrame([{**row, **overrides}])


def hourly(**overrides) -> pl.DataFrame:
    row = {
        "venue_id": "leeds",
        "business_date": DAY,
        "check_ins": 3,
        "check_outs": 3,
        "bar_revenue_pence": 1000,
        "table_revenue_pence": 500,
        "ticket_revenue_pence": 150,  # bought in the hours: the night's cash view
        "tickets_sold": 1,
        "bookings_arriving": 1,
    }
    return pl.DataFrame([{**row, **overrides}])


def test_negative_money_fails_but_negative_net_revenue_is_allowed():
    assert checks.negative_money(daily()).is_empty()
    assert checks.negative_money(daily(net_revenue_pence=-300)).is_empty()
    assert checks.negative_money(daily(refunds_pence=-1))["business_date"].to_list() == [DAY]


def test_occupancy_above_capacity_plus_margin_fails():
    capacities = pl.DataFrame({"venue_id": ["leeds"], "capacity": [300]})
    assert checks.over_capacity(daily(peak_occupancy=330), capacities).is_empty()  # exactly +10%
    assert checks.over_capacity(daily(peak_occupancy=331), capacities).height == 1


def test_hours_that_do_not_add_up_fail():
    assert checks.hours_not_adding_up(daily(), hourly()).is_empty()
    assert checks.hours_not_adding_up(daily(), hourly(bar_revenue_pence=999)).height == 1
    assert checks.hours_not_adding_up(daily(), hourly(bookings_arriving=2)).height == 1
    assert checks.hours_not_adding_up(daily(), hourly(ticket_revenue_pence=200)).height == 1
    # The night's tickets are counted by the night they are for, not by the hour bought.
    assert checks.hours_not_adding_up(daily(), hourly(tickets_sold=7)).is_empty()
    assert checks.hours_not_adding_up(daily(), hourly().head(0)).height == 1  # hours missing altogether


def test_an_open_night_missing_hours_or_a_source_fails():
    hours = pl.concat([hourly()] * 24)
    expected = pl.DataFrame({"business_date": [DAY], "hours": [24]})
    feeds = pl.DataFrame(
        {"venue_id": ["leeds"], "business_date": [DAY], "bar_sales": [10], "staff_shifts": [8]}
    )
    assert checks.incomplete_nights(daily(), hours, expected, feeds).is_empty()
    assert checks.incomplete_nights(daily(), hours.head(23), expected, feeds).height == 1
    assert checks.incomplete_nights(daily(), hours, expected, feeds.with_columns(staff_shifts=0)).height == 1
    assert checks.incomplete_nights(daily(check_ins=0), hours, expected, feeds).height == 1
    # A closed day with only presales is not an open night.
    closed = daily(check_ins=0, bar_revenue_pence=0, table_revenue_pence=0)
    assert checks.incomplete_nights(closed, hours.head(0), expected, feeds.head(0)).is_empty()


def test_deposits_that_do_not_match_their_booking_are_found_on_the_night_of_the_last_payment():
    deposits = pl.DataFrame(
        {
            "booking_id": ["b1", "b1", "b2", "b3"],
            "amount_pence": [3000, 3000, 4000, 5000],
            "business_date": [DAY, DAY + dt.timedelta(days=1), DAY, DAY],
        }
    )
    bookings = pl.DataFrame({"booking_id": ["b1", "b2"], "deposit_pence": [6000, 5000]})
    wrong = checks.unreconciled_deposits(deposits, bookings)
    # b2 paid 40 of 50; b1 paid in two parts; b3's booking is not loaded yet.
    assert wrong.select("booking_id", "business_date").rows() == [("b2", DAY)]


def test_revenue_far_from_the_same_weekday_is_found():
    past = [DAY - dt.timedelta(weeks=w) for w in range(1, 9)]
    history = pl.DataFrame(
        {
            "venue_id": "leeds",
            "business_date": past,
            "gross_revenue_pence": [500_000 + 10_000 * (w % 3) for w in range(8)],
            "check_ins": 300,
            "bar_revenue_pence": 1,
            "table_revenue_pence": 0,
        }
    )
    mean = history["gross_revenue_pence"].mean()
    std = history["gross_revenue_pence"].std()
    normal = daily(gross_revenue_pence=int(mean + 2 * std))
    odd = daily(gross_revenue_pence=int(mean + 4 * std))
    assert checks.revenue_anomalies(normal, history).is_empty()
    assert checks.revenue_anomalies(odd, history).height == 1
    # Closed days are not judged, and three comparable weeks are too few to judge.
    assert checks.revenue_anomalies(
        odd.with_columns(check_ins=0, bar_revenue_pence=0, table_revenue_pence=0), history
    ).is_empty()
    assert checks.revenue_anomalies(odd, history.head(3)).is_empty()


def test_each_night_is_judged_on_its_own_rows_with_its_severity():
    window = BusinessWindow(DAY, DAY + dt.timedelta(days=1))
    problems = {c.name: pl.DataFrame(schema={"business_date": pl.Date}) for c in checks.DAILY_CHECKS}
    problems[checks.MONEY_NON_NEGATIVE] = daily(refunds_pence=-1)
    problems[checks.REVENUE_ANOMALY] = daily().with_columns(business_date=pl.lit(window.last_day))
    results = checks.nightly_results(window, problems)
    first = {r.check_name: r for r in results[DAY]}
    second = {r.check_name: r for r in results[window.last_day]}
    assert not first[checks.MONEY_NON_NEGATIVE].passed
    assert first[checks.MONEY_NON_NEGATIVE].severity == dg.AssetCheckSeverity.ERROR
    assert "Saturday 21 November 2026" in first[checks.MONEY_NON_NEGATIVE].description
    assert first[checks.REVENUE_ANOMALY].passed and second[checks.MONEY_NON_NEGATIVE].passed
    assert not second[checks.REVENUE_ANOMALY].passed
    assert second[checks.REVENUE_ANOMALY].severity == dg.AssetCheckSeverity.WARN
    assert checks.failed_blocking_checks(problems) == {DAY: [checks.MONEY_NON_NEGATIVE]}
