"""The revenue forecast on synthetic series with a known weekly pattern (no database).

The venue trades Wednesday to Saturday and on Sundays before an English bank-holiday
Monday; the other days are closed (some with online ticket revenue, which is not
trading). Revenue is the weekday's level times log-normal noise.
"""

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest

from backroom_reporting.metrics.forecast import (
    HORIZON_DAYS,
    MODEL,
    SEASONAL_NAIVE,
    bank_holiday_sundays,
    revenue_forecasts,
)

# Bank-holiday Sundays of the synthetic years, from the published English bank holidays.
BANK_HOLIDAY_SUNDAYS = {
    dt.date(2025, 4, 20),  # Easter Monday 21 April
    dt.date(2025, 5, 4),
    dt.date(2025, 5, 25),
    dt.date(2025, 8, 24),
    dt.date(2026, 4, 5),  # Easter Monday 6 April
    dt.date(2026, 5, 3),
    dt.date(2026, 5, 24),
    dt.date(2026, 8, 30),
    dt.date(2026, 12, 27),  # Boxing Day's substitute, Monday 28 December
}
LEVEL = {2: 200_000, 3: 400_000, 4: 600_000, 5: 800_000}  # Wednesday .. Saturday, pence
BANK_HOLIDAY_SUNDAY_LEVEL = 500_000
NOISE = 0.1
MADE_ON = dt.date(2026, 5, 16)  # a Saturday; the horizon holds Sunday 24 May
FIRST_DAY = dt.date(2025, 5, 1)


def pattern(day: dt.date) -> int | None:
    """The typical revenue of a trading day, None on a closed day."""
    if day in BANK_HOLIDAY_SUNDAYS:
        return BANK_HOLIDAY_SUNDAY_LEVEL
    return LEVEL.get(day.weekday())


def synthetic(first: dt.date, last: dt.date, seed: int = 11) -> dict[dt.date, int]:
    """Gross revenue of each trading day (closed days are absent)."""
    rng = np.random.default_rng(seed)
    days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    noise = rng.lognormal(0.0, NOISE, len(days))
    return {d: round(pattern(d) * n) for d, n in zip(days, noise, strict=True) if pattern(d)}


def daily_rows(venue_id: str, actuals: dict[dt.date, int], first: dt.date, last: dt.date) -> pl.DataFrame:
    """daily_aggregations rows: trading days with bar revenue and scans; closed Sundays and
    Mondays with only online ticket revenue; closed Tuesdays with no row at all."""
    rows = []
    day = first
    while day <= last:
        if day in actuals:
            rows.append((venue_id, day, actuals[day], 150, actuals[day], 0))
        elif day.weekday() in (0, 6):
            rows.append((venue_id, day, 30_000, 0, 0, 0))
        day += dt.timedelta(days=1)
    return pl.DataFrame(
        rows,
        schema={
            "venue_id": pl.String,
            "business_date": pl.Date,
            "gross_revenue_pence": pl.Int64,
            "check_ins": pl.Int64,
            "bar_revenue_pence": pl.Int64,
            "table_revenue_pence": pl.Int64,
        },
        orient="row",
    )


@pytest.fixture(scope="module")
def year():
    """A year of history up to MADE_ON, the forecast from it, and the held-out 28 days."""
    actuals = synthetic(FIRST_DAY, MADE_ON + dt.timedelta(days=HORIZON_DAYS))
    history = {d: v for d, v in actuals.items() if d <= MADE_ON}
    result = revenue_forecasts(daily_rows("leeds", history, FIRST_DAY, MADE_ON), [MADE_ON])[MADE_ON]["leeds"]
    return history, actuals, result


def test_bank_holiday_sundays_are_the_sundays_before_english_bank_holiday_mondays():
    assert bank_holiday_sundays(dt.date(2025, 1, 1), dt.date(2026, 12, 31)) == BANK_HOLIDAY_SUNDAYS


def test_the_forecast_follows_the_weekly_pattern(year):
    _, _, result = year
    rows = result.rows
    assert result.method == MODEL
    assert rows["forecast_date"].to_list() == [MADE_ON + dt.timedelta(days=h) for h in range(1, 29)]
    assert rows["horizon_days"].to_list() == list(range(1, 29))
    assert set(rows["made_on"]) == {MADE_ON}
    for row in rows.to_dicts():
        typical = pattern(row["forecast_date"])
        if typical is None:
            continue
        assert row["expected_to_trade"], row
        assert row["predicted_pence"] == pytest.approx(typical, rel=0.12), row


def test_closed_weekdays_are_forecast_as_zero_with_no_width(year):
    _, _, result = year
    closed = result.rows.filter(
        pl.col("forecast_date").map_elements(pattern, return_dtype=pl.Int64).is_null()
    )
    assert closed.height == 28 - 4 * 4 - 1  # four trading nights a week and the bank-holiday Sunday
    assert not closed["expected_to_trade"].any()
    for column in ("predicted_pence", "lower_80_pence", "upper_80_pence", "lower_95_pence", "upper_95_pence"):
        assert (closed[column] == 0).all(), column
    sunday = result.rows.filter(pl.col("forecast_date") == dt.date(2026, 5, 24)).row(0, named=True)
    assert sunday["expected_to_trade"]
    assert sunday["predicted_pence"] == pytest.approx(BANK_HOLIDAY_SUNDAY_LEVEL, rel=0.2)


def test_intervals_hold_most_held_out_days_and_are_never_negative(year):
    _, actuals, result = year
    trading = result.rows.filter(pl.col("expected_to_trade"))
    held_out = [actuals[d] for d in trading["forecast_date"]]
    for level, share in ((80, 0.6), (95, 0.8)):
        lower, upper = trading[f"lower_{level}_pence"], trading[f"upper_{level}_pence"]
        inside = [lo <= v <= hi for lo, v, hi in zip(lower, held_out, upper, strict=True)]
        assert sum(inside) >= share * len(inside), level
    assert (trading["lower_95_pence"] <= trading["lower_80_pence"]).all()
    assert (trading["lower_80_pence"] <= trading["predicted_pence"]).all()
    assert (trading["predicted_pence"] <= trading["upper_80_pence"]).all()
    assert (trading["upper_80_pence"] <= trading["upper_95_pence"]).all()
    assert (result.rows["lower_95_pence"] >= 0).all()


def seasonal_naive_errors(history: dict[dt.date, int], last_day: dt.date) -> dict[int, list[float]]:
    """Absolute percentage errors of 'the same weekday one week earlier' from weekly origins
    28 days and more before the last day, on trading days, at horizons up to 7 and 28."""
    errors = {7: [], 28: []}
    for k in range(8):
        origin = last_day - dt.timedelta(days=28 + 7 * k)
        for h in range(1, 29):
            day = origin + dt.timedelta(days=h)
            if day not in history:
                continue
            weeks_back = math.ceil(h / 7)
            # What was known at the origin: a closed day made 30_000 (Sun/Mon) or nothing.
            before = day - dt.timedelta(weeks=weeks_back)
            known = history.get(before, 30_000 if before.weekday() in (0, 6) else 0)
            error = abs(known - history[day]) / history[day]
            errors[28].append(error)
            if h <= 7:
                errors[7].append(error)
    return errors


def test_the_backtest_scores_the_model_against_an_independent_seasonal_naive(year):
    history, _, result = year
    expected = seasonal_naive_errors(history, MADE_ON)
    backtest = result.backtest
    assert backtest.origins == 8
    assert backtest.mape_7_seasonal_naive == pytest.approx(np.mean(expected[7]))
    assert backtest.mape_28_seasonal_naive == pytest.approx(np.mean(expected[28]))
    assert len(backtest.errors["28_model"]) == len(expected[28])
    for mape in (backtest.mape_7_model, backtest.mape_28_model):
        assert math.isfinite(mape)
    # Noise of 10% a night: the model's error is near it, last week's night has about 1.4 times it.
    assert backtest.mape_28_model < backtest.mape_28_seasonal_naive
    assert backtest.mape_28_model < 0.12


def test_a_short_history_gets_a_seasonal_naive_forecast_and_no_backtest():
    first, last = dt.date(2026, 4, 8), dt.date(2026, 5, 16)  # five and a half weeks
    history = synthetic(first, last)
    result = revenue_forecasts(daily_rows("new", history, first, last), [last])[last]["new"]
    assert result.method == SEASONAL_NAIVE
    assert result.backtest.origins == 0
    assert result.backtest.mape_28_model is None and result.backtest.mape_7_seasonal_naive is None
    assert result.rows.height == HORIZON_DAYS
    for row in result.rows.to_dicts():
        day = row["forecast_date"]
        if pattern(day) is None or day in BANK_HOLIDAY_SUNDAYS:
            continue
        weeks_back = math.ceil((day - last).days / 7)
        assert row["predicted_pence"] == history[day - dt.timedelta(weeks=weeks_back)]
        assert row["lower_95_pence"] < row["predicted_pence"] < row["upper_95_pence"]


def test_a_weekday_that_stopped_trading_is_no_longer_expected():
    last = dt.date(2026, 5, 16)
    history = synthetic(dt.date(2025, 11, 1), last)
    # Wednesdays traded on only three of the last eight; Thursdays on four of them.
    wednesdays = sorted(d for d in history if d.weekday() == 2)[-8:]
    thursdays = sorted(d for d in history if d.weekday() == 3)[-8:]
    for d in wednesdays[:5] + thursdays[:4]:
        del history[d]
    rows = revenue_forecasts(daily_rows("leeds", history, dt.date(2025, 11, 1), last), [last])[last][
        "leeds"
    ].rows
    by_weekday = {
        wd: set(rows.filter(pl.col("forecast_date").dt.weekday() == wd + 1)["expected_to_trade"])
        for wd in (2, 3)
    }
    assert by_weekday == {2: {False}, 3: {True}}


def test_a_forecast_learns_from_the_trailing_year_only():
    history = synthetic(FIRST_DAY - dt.timedelta(days=400), MADE_ON)
    rows = daily_rows("leeds", history, FIRST_DAY - dt.timedelta(days=400), MADE_ON)
    # Actuals older than the trailing year, however wild, change nothing.
    since = MADE_ON - dt.timedelta(days=363)
    wild = rows.with_columns(
        pl.when(pl.col("business_date") < since)
        .then(pl.col("gross_revenue_pence") * 50)
        .otherwise(pl.col("gross_revenue_pence"))
        .alias("gross_revenue_pence")
    )
    calm, stormy = (revenue_forecasts(r, [MADE_ON])[MADE_ON]["leeds"] for r in (rows, wild))
    assert calm.rows.equals(stormy.rows)
    assert calm.backtest.mape_28_seasonal_naive == stormy.backtest.mape_28_seasonal_naive
    assert calm.history_days == 364


def test_the_backtest_scores_the_forecasts_made_at_its_origins_and_weeks_share_them(year):
    history, _, result = year
    rows = daily_rows("leeds", history, FIRST_DAY, MADE_ON)
    origins = [MADE_ON - dt.timedelta(days=28 + 7 * k) for k in range(8)]
    # Eight weekly forecasts at once are the eight made one at a time.
    together = revenue_forecasts(rows, [*origins, MADE_ON])
    assert together[MADE_ON]["leeds"].rows.equals(result.rows)
    assert together[MADE_ON]["leeds"].backtest == result.backtest
    errors, rounding = [], []
    for origin in origins:
        alone = revenue_forecasts(rows.filter(pl.col("business_date") <= origin), [origin])[origin]["leeds"]
        assert together[origin]["leeds"].rows.equals(alone.rows)
        for row in alone.rows.iter_rows(named=True):
            actual = history.get(row["forecast_date"])
            if actual:
                errors.append(abs(row["predicted_pence"] - actual) / actual)
                rounding.append(0.5 / actual)
    # Predictions are rounded to whole pence in the rows: each error may move by half a penny.
    assert result.backtest.mape_28_model == pytest.approx(np.mean(errors), abs=np.mean(rounding))


def stored_forecast(made_on: dt.date, predicted_pence: int, days: int = HORIZON_DAYS) -> pl.DataFrame:
    """revenue_forecast rows of leeds's forecast made on `made_on`: a flat `predicted_pence`."""
    dates = [made_on + dt.timedelta(days=h) for h in range(1, days + 1)]
    return pl.DataFrame(
        {"venue_id": "leeds", "made_on": made_on, "forecast_date": dates, "predicted_pence": predicted_pence}
    )


def test_the_backtest_scores_the_forecasts_stored_at_its_origins_and_fits_only_the_missing(year):
    history, _, result = year
    rows = daily_rows("leeds", history, FIRST_DAY, MADE_ON)
    origins = [MADE_ON - dt.timedelta(days=28 + 7 * k) for k in range(8)]
    # Every origin but the latest made a flat forecast, deliberately unlike the model's.
    flat = {origin: 300_000 + 50_000 * k for k, origin in enumerate(origins) if k}
    stored = pl.concat([stored_forecast(origin, pence) for origin, pence in flat.items()])
    reused = revenue_forecasts(rows, [MADE_ON], stored)[MADE_ON]["leeds"]
    assert reused.rows.equals(result.rows)
    assert (reused.backtest.origins, reused.backtest.origins_stored) == (8, 7)
    # The latest origin has none stored: it is fitted, as a forecast made there alone would be.
    fitted = revenue_forecasts(rows.filter(pl.col("business_date") <= origins[0]), [origins[0]])
    predicted = {
        origins[0]: dict(
            fitted[origins[0]]["leeds"].rows.select("forecast_date", "predicted_pence").iter_rows()
        )
    }
    predicted |= {
        origin: {origin + dt.timedelta(days=h): pence for h in range(1, 29)} for origin, pence in flat.items()
    }
    errors = [
        abs(by_day[day] - history[day]) / history[day]
        for by_day in predicted.values()
        for day in by_day
        if day in history
    ]
    assert reused.backtest.mape_28_model == pytest.approx(np.mean(errors), rel=1e-12)
    assert reused.backtest.mape_28_seasonal_naive == result.backtest.mape_28_seasonal_naive


def test_weeks_run_one_by_one_or_together_score_the_same_forecasts(year):
    history, _, result = year
    rows = daily_rows("leeds", history, FIRST_DAY, MADE_ON)
    origin = MADE_ON - dt.timedelta(days=28)
    # The origin's week run before, storing its forecast: the same errors as with none stored.
    week = revenue_forecasts(rows.filter(pl.col("business_date") <= origin), [origin])[origin]["leeds"]
    one_by_one = revenue_forecasts(rows, [MADE_ON], week.rows)[MADE_ON]["leeds"].backtest
    assert one_by_one.origins_stored == 1 and one_by_one.errors == result.backtest.errors
    # A run that makes the origin's week again scores its own forecast, not the one it replaces.
    together = revenue_forecasts(rows, [origin, MADE_ON], stored_forecast(origin, 1))[MADE_ON]["leeds"]
    assert together.backtest == result.backtest
    # A forecast stored over another horizon is not the origin's: it is fitted again.
    other_horizon = revenue_forecasts(rows, [MADE_ON], stored_forecast(origin, 1, days=14))[MADE_ON]["leeds"]
    assert other_horizon.backtest == result.backtest


# Bank holidays of England and Wales on nights the synthetic venue trades (Wednesday to Saturday).
TRADING_BANK_HOLIDAYS = {
    dt.date(2025, 12, 26),  # Boxing Day, a Friday
    dt.date(2026, 1, 1),  # New Year's Day, a Thursday
    dt.date(2026, 4, 3),  # Good Friday
}
CHRISTMAS_2025 = dt.date(2025, 12, 25)  # a Thursday
CHRISTMAS_2026, BOXING_DAY_2026 = dt.date(2026, 12, 25), dt.date(2026, 12, 26)  # Friday, Saturday
HOLIDAY_UPLIFT = 1.8
LAST_SUNDAY_OF_NOVEMBER = dt.date(2026, 11, 29)  # the horizon runs to Sunday 27 December


@pytest.fixture(scope="module")
def christmas():
    """A year up to the end of November 2026 in which the venue stayed shut on Christmas Day
    2025 and took HOLIDAY_UPLIFT times its usual on the other bank holidays it opened on."""
    first = LAST_SUNDAY_OF_NOVEMBER - dt.timedelta(days=363)
    history = synthetic(first, LAST_SUNDAY_OF_NOVEMBER, seed=5)
    del history[CHRISTMAS_2025]
    for day in TRADING_BANK_HOLIDAYS:
        history[day] = round(history[day] * HOLIDAY_UPLIFT)
    rows = daily_rows("leeds", history, first, LAST_SUNDAY_OF_NOVEMBER)
    result = revenue_forecasts(rows, [LAST_SUNDAY_OF_NOVEMBER])[LAST_SUNDAY_OF_NOVEMBER]["leeds"]
    return history, {r["forecast_date"]: r for r in result.rows.iter_rows(named=True)}


def test_christmas_day_is_closed_when_the_venue_did_not_trade_on_the_last_one(christmas):
    _, forecast = christmas
    assert not forecast[CHRISTMAS_2026]["expected_to_trade"]
    assert forecast[CHRISTMAS_2026]["predicted_pence"] == 0
    # The Friday before trades as usual, and so does Boxing Day, which the venue opened on.
    assert forecast[dt.date(2026, 12, 18)]["expected_to_trade"]
    assert forecast[BOXING_DAY_2026]["expected_to_trade"]


def test_a_bank_holiday_carries_the_effect_learnt_from_past_bank_holidays(christmas):
    history, forecast = christmas
    # The uplift the history shows: each trading bank holiday against its weekday's usual.
    uplift = math.exp(np.mean([math.log(history[d] / LEVEL[d.weekday()]) for d in TRADING_BANK_HOLIDAYS]))
    boxing_day = forecast[BOXING_DAY_2026]["predicted_pence"]
    assert boxing_day == pytest.approx(LEVEL[5] * uplift, rel=0.2)
    ordinary_saturday = forecast[dt.date(2026, 12, 19)]["predicted_pence"]
    assert ordinary_saturday == pytest.approx(LEVEL[5], rel=0.12)
    assert boxing_day > 1.4 * ordinary_saturday


def test_a_bank_holiday_with_no_past_occurrence_follows_its_weekday():
    first = dt.date(2026, 1, 10)  # after the last Christmas: none in the history
    history = synthetic(first, LAST_SUNDAY_OF_NOVEMBER)
    rows = daily_rows("leeds", history, first, LAST_SUNDAY_OF_NOVEMBER)
    result = revenue_forecasts(rows, [LAST_SUNDAY_OF_NOVEMBER])[LAST_SUNDAY_OF_NOVEMBER]["leeds"]
    forecast = {r["forecast_date"]: r for r in result.rows.iter_rows(named=True)}
    assert forecast[CHRISTMAS_2026]["expected_to_trade"]  # a Friday, and Fridays trade
    # Good Friday, the one bank holiday it traded on, took an ordinary Friday's: no uplift.
    assert forecast[CHRISTMAS_2026]["predicted_pence"] == pytest.approx(LEVEL[4], rel=0.15)
