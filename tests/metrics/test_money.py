"""Sums of money never wrap, and a sum too large for the warehouse is found."""

import datetime as dt

import polars as pl

from backroom_reporting.checks import aggregations as checks
from backroom_reporting.metrics.money import money_sum, out_of_range
from backroom_reporting.warehouse.tables.aggregations import DAILY_MONEY

DAY = dt.date(2026, 11, 28)


def test_two_huge_rounds_sum_exactly_instead_of_wrapping_negative():
    bar = pl.DataFrame({"amount_pence": [5 * 10**18, 5 * 10**18]}, schema={"amount_pence": pl.Int64})
    assert bar.select(pl.col("amount_pence").sum()).item() < 0  # what a plain 64-bit sum does
    assert bar.select(money_sum(pl.col("amount_pence"))).item() == 10**19


def test_a_sum_too_large_for_a_64_bit_column_is_found_with_its_night():
    frame = pl.DataFrame(
        {
            "venue_id": ["leeds", "leeds"],
            "business_date": [DAY, DAY + dt.timedelta(days=1)],
            "gross": [10**19, 2**63 - 1],
        },
        schema={"venue_id": pl.String, "business_date": pl.Date, "gross": pl.Int128},
    )
    found = out_of_range(frame, ["gross"], ["venue_id", "business_date"])
    assert found.rows() == [("leeds", DAY, str(10**19))]  # 2^63 - 1 itself still fits


def test_a_night_whose_takings_do_not_fit_keeps_its_previous_figures():
    # daily_aggregations publishes no night that fails a blocking check.
    daily = pl.DataFrame(
        {"venue_id": ["leeds"], "business_date": [DAY], **{c: [0] for c in DAILY_MONEY}},
        schema={"venue_id": pl.String, "business_date": pl.Date, **{c: pl.Int128 for c in DAILY_MONEY}},
    ).with_columns(pl.lit(10**19, pl.Int128).alias("bar_revenue_pence"))
    passing = pl.DataFrame(schema={"business_date": pl.Date})
    problems = {check.name: passing for check in checks.DAILY_CHECKS}
    problems[checks.MONEY_IN_RANGE] = checks.money_too_large(daily)
    assert checks.failed_blocking_checks(problems) == {DAY: [checks.MONEY_IN_RANGE]}
