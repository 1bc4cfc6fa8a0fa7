"""Revenue forecast: each venue's gross revenue for the next 28 business days, with intervals.

The series is daily gross_revenue_pence from daily_aggregations; a business day without a
row is a closed day (0). A day the venue is not expected to trade (its weekday stopped
trading, or a bank holiday it did not trade on before) is forecast as 0 with a zero-width
interval and flagged, so a report shows it as closed. The trading days are modelled on
the log scale with statsmodels' UnobservedComponents: a local level (a random walk the
revenue drifts with) plus one fixed effect per kind of day (each weekday, and Sundays
before a bank-holiday Monday) and one for bank holidays (England and Wales) when the venue
traded on any, with the closed days missing. The level is carried forward unchanged, so
ordinary weeks ahead look alike: a trend fitted to a year of nights would extrapolate
noise. The point forecast is the median (exp of the log forecast) and the 80% and 95%
prediction intervals are exp of the log-scale intervals, so neither is ever negative.
With less than MIN_HISTORY_DAYS of history, or fewer than MIN_TRADING_DAYS trading days
in it, the forecast is seasonal-naive.

Every forecast learns from the trailing HISTORY_DAYS only, so its cost does not grow with
years of history. It is back-tested from rolling weekly origins against the seasonal-naive
baseline (the same weekday one week earlier, or the latest such day known at the origin):
the mean absolute percentage error over trading days at horizons 1-7 and 1-28. The
forecast at an origin is the one made at the end of that day: the one stored for it when
there is one (what was actually forecast then), else the one the same run makes for it
(weekly forecasts over a range share their fits), else it is fitted to the trailing window.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import statistics
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import polars as pl

from backroom_reporting.metrics.business_time import bank_holiday_sundays, bank_holidays
from backroom_reporting.metrics.daily import trading

HORIZON_DAYS = 28
SHORT_HORIZON_DAYS = 7
HISTORY_DAYS = 364  # the trailing year a forecast learns from: every weekday and bank holiday
MIN_HISTORY_DAYS = 56
MIN_TRADING_DAYS = 16
RECENT_OCCURRENCES = 8  # how many recent same weekdays decide whether a weekday trades
BACKTEST_ORIGINS = 8  # weekly origins, the latest HORIZON_DAYS before the last actual day
# The days up to made_on that a forecast and its back-test read.
READ_DAYS = HISTORY_DAYS + HORIZON_DAYS + 7 * (BACKTEST_ORIGINS - 1)
INTERVALS = {80: statistics.NormalDist().inv_cdf(0.9), 95: statistics.NormalDist().inv_cdf(0.975)}

MODEL = "local_level_log"
SEASONAL_NAIVE = "seasonal_naive"
BANK_HOLIDAY_SUNDAY = 7  # the day kind after the weekdays 0 (Monday) .. 6 (Sunday)


@dataclass(frozen=True)
class Series:
    """One venue's daily actuals, first_day..last_day with closed days filled in."""

    first_day: dt.date
    revenue: np.ndarray  # gross_revenue_pence per day
    traded: np.ndarray  # the doors or the bar were open (check-ins, bar or table revenue)

    @property
    def last_day(self) -> dt.date:
        return self.first_day + dt.timedelta(days=len(self.revenue) - 1)

    def until(self, day: dt.date) -> Series:
        """The actuals known at the end of `day`."""
        n = (day - self.first_day).days + 1
        return Series(self.first_day, self.revenue[:n], self.traded[:n])

    def known_at(self, day: dt.date) -> Series:
        """What a forecast made at the end of `day` learns from: the HISTORY_DAYS up to it."""
        first = max(self.first_day, day - dt.timedelta(days=HISTORY_DAYS - 1))
        start, end = (first - self.first_day).days, (day - self.first_day).days + 1
        return Series(first, self.revenue[start:end], self.traded[start:end])

    def day(self, i: int) -> dt.date:
        return self.first_day + dt.timedelta(days=i)

    @property
    def observed(self) -> np.ndarray:
        """Trading days with revenue: what the model learns from and is scored on."""
        return self.traded & (self.revenue > 0)


def venue_series(daily: pl.DataFrame, last_day: dt.date) -> dict[str, Series]:
    """daily_aggregations rows (venue_id, business_date, gross_revenue_pence, check_ins,
    bar_revenue_pence, table_revenue_pence) -> one Series per venue, from its first row to
    `last_day`."""
    series = {}
    for (venue_id,), rows in daily.sort("business_date").group_by("venue_id", maintain_order=True):
        first = rows["business_date"].min()
        days = pl.DataFrame({"business_date": pl.date_range(first, last_day, eager=True)})
        full = days.join(
            rows.select("business_date", "gross_revenue_pence", trading().alias("traded")),
            on="business_date",
            how="left",
        )
        series[venue_id] = Series(
            first,
            full["gross_revenue_pence"].fill_null(0).cast(pl.Float64).to_numpy(),
            full["traded"].fill_null(False).to_numpy(),
        )
    return dict(sorted(series.items()))


@dataclass(frozen=True)
class Holidays:
    """The bank holidays (England and Wales) around a forecast, by date with their names, and
    the bank-holiday Sundays (a Sunday before a bank-holiday Monday)."""

    names: dict[dt.date, str]
    sundays: frozenset[dt.date]

    @classmethod
    def between(cls, first: dt.date, last: dt.date) -> Holidays:
        return cls(bank_holidays(first, last), frozenset(bank_holiday_sundays(first, last)))

    def flags(self, days: list[dt.date]) -> np.ndarray:
        return np.array([d in self.names for d in days], dtype=bool)


def _day_kinds(days: list[dt.date], holidays: Holidays) -> np.ndarray:
    return np.array([BANK_HOLIDAY_SUNDAY if d in holidays.sundays else d.weekday() for d in days])


def expected_to_trade(series: Series, days: list[dt.date], holidays: Holidays) -> np.ndarray:
    """Whether the venue is expected to trade on each of `days` (after the series ends).

    An ordinary day: its weekday traded on at least half of its last RECENT_OCCURRENCES
    ordinary occurrences (bank holidays and bank-holiday Sundays excluded). A bank-holiday
    Sunday: the venue traded on at least half of the bank-holiday Sundays in the series,
    or, with none in the series, on the ordinary-Sunday rule. A bank holiday (Christmas
    Day, Good Friday, ...): the venue traded on at least half of that holiday's occurrences
    in the series that fell on a night it usually trades (a Christmas Day on a closed
    Sunday says nothing); with none, the rule of its kind of day.
    """
    history = [series.day(i) for i in range(len(series.revenue))]
    kinds = _day_kinds(history, holidays)
    ordinary = ~holidays.flags(history)

    def trades(seen: np.ndarray) -> bool | None:
        return bool(seen.mean() >= 0.5) if len(seen) else None

    weekday = {
        w: bool(trades(series.traded[(kinds == w) & ordinary][-RECENT_OCCURRENCES:])) for w in range(7)
    }
    bh_sunday = trades(series.traded[kinds == BANK_HOLIDAY_SUNDAY])

    def usually(d: dt.date) -> bool:
        if d in holidays.sundays:
            return weekday[6] if bh_sunday is None else bh_sunday
        return weekday[d.weekday()]

    names = np.array([holidays.names.get(d, "") for d in history])
    usual_night = np.array([usually(d) for d in history], dtype=bool)

    def expected(d: dt.date) -> bool:
        name = holidays.names.get(d)
        on_the_holiday = trades(series.traded[(names == name) & usual_night]) if name else None
        return usually(d) if on_the_holiday is None else on_the_holiday

    return np.array([expected(d) for d in days], dtype=bool)


def seasonal_naive(series: Series, days: list[dt.date]) -> np.ndarray:
    """The same weekday one week earlier, or the latest such day the series holds (0 before it)."""
    values = []
    for d in days:
        weeks_back = -(-(d - series.last_day).days // 7)
        i = (d - dt.timedelta(weeks=weeks_back) - series.first_day).days
        values.append(series.revenue[i] if i >= 0 else 0.0)
    return np.array(values)


@dataclass(frozen=True)
class Forecast:
    """One venue's forecast for the HORIZON_DAYS days after its series ends."""

    days: list[dt.date]
    expected: np.ndarray
    predicted: np.ndarray
    bounds: dict[int, tuple[np.ndarray, np.ndarray]]  # level -> (lower, upper); NaN when unknown
    method: str


def _log_normal(centre: np.ndarray, spread: np.ndarray) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    return {
        level: (np.exp(centre - z * spread), np.exp(centre + z * spread)) for level, z in INTERVALS.items()
    }


def _local_level(series: Series, days: list[dt.date], holidays: Holidays) -> tuple[np.ndarray, np.ndarray]:
    """Log-scale median and standard error for `days`."""
    from statsmodels.tools.sm_exceptions import ConvergenceWarning
    from statsmodels.tsa.statespace.structural import UnobservedComponents

    history = [series.day(i) for i in range(len(series.revenue))]
    kinds = _day_kinds(history, holidays)
    observed = series.observed
    learned = sorted(set(kinds[observed].tolist()))
    ahead = _day_kinds(days, holidays)
    if BANK_HOLIDAY_SUNDAY not in learned:
        ahead[ahead == BANK_HOLIDAY_SUNDAY] = 6
    on_holiday = holidays.flags(history)
    # One holiday effect for every bank holiday, learnt when the venue traded on any.
    holiday_effect = bool((observed & on_holiday).any())

    # One dummy per kind of day seen trading, less the first (the level is its baseline),
    # and the holiday dummy on top of the weekday's.
    def dummies(k: np.ndarray, holiday: np.ndarray) -> np.ndarray | None:
        columns = [k == kind for kind in learned[1:]] + ([holiday] if holiday_effect else [])
        return np.column_stack(columns).astype(float) if columns else None

    endog = np.where(observed, np.log(np.where(observed, series.revenue, 1.0)), np.nan)
    model = UnobservedComponents(
        endog, level="local level", exog=dummies(kinds, on_holiday), mle_regression=False
    )
    with warnings.catch_warnings():
        # A short or flat series may stop the optimiser early; the fit is still usable.
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted = model.fit(disp=False)
    ahead_forecast = fitted.get_forecast(len(days), exog=dummies(ahead, holidays.flags(days)))
    return ahead_forecast.predicted_mean, ahead_forecast.se_mean


def _naive_spread(series: Series, days: list[dt.date]) -> np.ndarray:
    """Log-scale spread of the seasonal-naive forecast: the standard deviation of the week-on-week
    log change between trading days, growing with the square root of the weeks ahead; NaN
    with fewer than two such changes."""
    observed, revenue = series.observed, series.revenue
    both = observed[7:] & observed[:-7]
    changes = np.log(revenue[7:][both]) - np.log(revenue[:-7][both])
    sigma = float(np.std(changes, ddof=1)) if len(changes) >= 2 else math.nan
    weeks = np.array([-(-(d - series.last_day).days // 7) for d in days])
    return sigma * np.sqrt(weeks)


def uses_model(series: Series) -> bool:
    return len(series.revenue) >= MIN_HISTORY_DAYS and int(series.observed.sum()) >= MIN_TRADING_DAYS


def days_after(day: dt.date) -> list[dt.date]:
    """The HORIZON_DAYS days a forecast made at the end of `day` covers."""
    return [day + dt.timedelta(days=h) for h in range(1, HORIZON_DAYS + 1)]


def forecast(series: Series, holidays: Holidays) -> Forecast:
    """The HORIZON_DAYS days after the series ends."""
    days = days_after(series.last_day)
    expected = expected_to_trade(series, days, holidays)
    if uses_model(series):
        centre, spread = _local_level(series, days, holidays)
        predicted, bounds, method = np.exp(centre), _log_normal(centre, spread), MODEL
    else:
        predicted = seasonal_naive(series, days)
        with np.errstate(divide="ignore"):
            centre = np.log(predicted)
        spread = np.where(predicted > 0, _naive_spread(series, days), math.nan)
        bounds, method = _log_normal(centre, spread), SEASONAL_NAIVE
    closed = ~expected
    predicted = np.where(closed, 0.0, predicted)
    bounds = {
        level: (np.where(closed, 0.0, lo), np.where(closed, 0.0, hi)) for level, (lo, hi) in bounds.items()
    }
    return Forecast(days, expected, predicted, bounds, method)


@dataclass(frozen=True)
class Backtest:
    """Rolling-origin errors of the forecast and of the seasonal-naive baseline (fractions)."""

    origins: int
    origins_stored: int  # of them, those scored on the stored forecast made at the origin
    mape_7_model: float | None
    mape_7_seasonal_naive: float | None
    mape_28_model: float | None
    mape_28_seasonal_naive: float | None
    errors: dict[str, list[float]]  # absolute percentage errors, for pooling across venues


def _mape(errors: list[float]) -> float | None:
    return float(np.mean(errors)) if errors else None


def origins_before(made_on: dt.date) -> list[dt.date]:
    """The weekly origins a back-test of the forecast made on `made_on` may use, the latest
    HORIZON_DAYS before it."""
    latest = made_on - dt.timedelta(days=HORIZON_DAYS)
    return [latest - dt.timedelta(weeks=k) for k in range(BACKTEST_ORIGINS)]


def backtest_origins(series: Series) -> list[dt.date]:
    """The origins before the series ends with at least MIN_HISTORY_DAYS of history and
    enough trading days for the model."""
    candidates = origins_before(series.last_day)
    return sorted(o for o in candidates if o >= series.first_day and uses_model(series.known_at(o)))


def stored_forecasts(rows: pl.DataFrame) -> dict[str, dict[dt.date, np.ndarray]]:
    """revenue_forecast rows (venue_id, made_on, forecast_date, predicted_pence) -> each
    venue's predicted pence by made_on. A forecast without exactly the HORIZON_DAYS days after
    its made_on (one made with another horizon) is left out, so its origin is fitted instead."""
    stored: dict[str, dict[dt.date, np.ndarray]] = {}
    for (venue_id, made_on), made in rows.sort("forecast_date").group_by(
        "venue_id", "made_on", maintain_order=True
    ):
        if made["forecast_date"].to_list() == days_after(made_on):
            predicted = made["predicted_pence"].cast(pl.Float64).to_numpy()
            stored.setdefault(venue_id, {})[made_on] = predicted
    return stored


def backtest(
    series: Series,
    made_at: Callable[[dt.date], Forecast],
    stored: Mapping[dt.date, np.ndarray] | None = None,
) -> Backtest:
    """The errors, against the actuals of `series`, of the forecasts made at its origins:
    `stored[origin]`, the predicted pence stored for the origin, else `made_at(origin)`, the
    forecast from the actuals known at the origin, rounded to whole pence as stored."""
    stored = stored or {}
    errors: dict[str, list[float]] = {
        "7_model": [],
        "7_seasonal_naive": [],
        "28_model": [],
        "28_seasonal_naive": [],
    }
    origins = backtest_origins(series)
    for origin in origins:
        made = stored[origin] if origin in stored else np.round(made_at(origin).predicted)
        baseline = seasonal_naive(series.known_at(origin), days_after(origin))
        first = (origin - series.first_day).days + 1
        actual = series.revenue[first : first + HORIZON_DAYS]
        scored = series.observed[first : first + HORIZON_DAYS]
        for h in np.flatnonzero(scored):
            for name, predicted in (("model", made), ("seasonal_naive", baseline)):
                error = float(abs(predicted[h] - actual[h]) / actual[h])
                errors[f"28_{name}"].append(error)
                if h < SHORT_HORIZON_DAYS:
                    errors[f"7_{name}"].append(error)
    return Backtest(
        origins=len(origins),
        origins_stored=sum(origin in stored for origin in origins),
        mape_7_model=_mape(errors["7_model"]),
        mape_7_seasonal_naive=_mape(errors["7_seasonal_naive"]),
        mape_28_model=_mape(errors["28_model"]),
        mape_28_seasonal_naive=_mape(errors["28_seasonal_naive"]),
        errors=errors,
    )


def _pence(values: np.ndarray) -> list[int | None]:
    return [None if math.isnan(v) else round(v) for v in values]


def forecast_rows(venue_id: str, made_on: dt.date, ahead: Forecast) -> pl.DataFrame:
    """revenue_forecast rows of one venue."""
    return pl.DataFrame(
        {
            "venue_id": venue_id,
            "forecast_date": ahead.days,
            "made_on": made_on,
            "horizon_days": list(range(1, len(ahead.days) + 1)),
            "expected_to_trade": ahead.expected.tolist(),
            "predicted_pence": _pence(ahead.predicted),
            "lower_80_pence": _pence(ahead.bounds[80][0]),
            "upper_80_pence": _pence(ahead.bounds[80][1]),
            "lower_95_pence": _pence(ahead.bounds[95][0]),
            "upper_95_pence": _pence(ahead.bounds[95][1]),
            "method": ahead.method,
        },
        schema_overrides={
            f"{side}_{level}_pence": pl.Int64 for side in ("lower", "upper") for level in INTERVALS
        },
    )


@dataclass(frozen=True)
class VenueForecast:
    rows: pl.DataFrame
    method: str
    history_days: int
    backtest: Backtest


def revenue_forecasts(
    daily: pl.DataFrame, made_ons: Iterable[dt.date], stored: pl.DataFrame | None = None
) -> dict[dt.date, dict[str, VenueForecast]]:
    """For each of `made_ons` and each venue with actuals in the HISTORY_DAYS up to it: the
    forecast rows for the HORIZON_DAYS days after it, and the back-test.

    daily: daily_aggregations rows of the READ_DAYS up to each of `made_ons`. stored:
    revenue_forecast rows made earlier (see `stored_forecasts`); the back-test scores the one
    made at an origin rather than fit it again. A forecast made at a given day is the same
    whichever forecast's back-test asks for it, so it is made once, and one of `made_ons`
    wins over its stored predecessor, which it replaces.
    """
    made_ons = sorted(set(made_ons))
    earlier = {} if stored is None else stored_forecasts(stored.filter(~pl.col("made_on").is_in(made_ons)))
    results: dict[dt.date, dict[str, VenueForecast]] = {made_on: {} for made_on in made_ons}
    if not made_ons:
        return results
    holidays = Holidays.between(
        made_ons[0] - dt.timedelta(days=READ_DAYS), made_ons[-1] + dt.timedelta(days=HORIZON_DAYS)
    )
    for venue_id, series in venue_series(daily, made_ons[-1]).items():

        @functools.cache
        def made_at(day: dt.date, series: Series = series) -> Forecast:
            return forecast(series.known_at(day), holidays)

        row_days = daily.filter(pl.col("venue_id") == venue_id)["business_date"]
        for made_on in made_ons:
            since = made_on - dt.timedelta(days=HISTORY_DAYS - 1)
            if not row_days.is_between(since, made_on).any():
                continue
            ahead = made_at(made_on)
            results[made_on][venue_id] = VenueForecast(
                rows=forecast_rows(venue_id, made_on, ahead),
                method=ahead.method,
                history_days=len(series.known_at(made_on).revenue),
                backtest=backtest(series.until(made_on), made_at, earlier.get(venue_id)),
            )
    return results
