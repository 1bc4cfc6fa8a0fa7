"""The KPI catalogue and the KPI maths, on hand-built period rows with known answers."""

import datetime as dt
import hashlib
import statistics

import polars as pl
import pytest
import yaml

from backroom_reporting.metrics import kpis
from backroom_reporting.metrics.kpis import DAY, MONTH, WEEK, KpiDefinitionError, parse_catalogue
from backroom_reporting.metrics.ratios import relative_change

COMPUTED_AT = dt.datetime(2026, 4, 1, 2, 0, tzinfo=dt.UTC)

REVENUE = dict(
    key="daily_revenue",
    name="Daily revenue",
    description="Gross revenue per trading night.",
    category="revenue",
    unit="pence",
    metric={"numerator": "gross_revenue_pence", "denominator": "trading_days"},
    target=600000,
    warning=400000,
    critical=250000,
    direction="higher_better",
    calculation="real_time",
)
NO_SHOWS = dict(
    key="no_show_rate",
    name="No-show rate",
    description="No-shows over confirmed bookings.",
    category="operations",
    unit="fraction",
    metric={"numerator": "no_shows", "denominator": "bookings_confirmed"},
    target=0.05,
    warning=0.1,
    critical=0.2,
    direction="lower_better",
    calculation="cached",
    cache_ttl_minutes=30,
)
OCCUPANCY = dict(
    key="occupancy_rate",
    name="Occupancy rate",
    description="Peak inside over capacity.",
    category="operations",
    unit="fraction",
    metric={"day": "occupancy_rate", "summary": "avg_occupancy_rate"},
    target=0.75,
    warning=0.4,
    critical=0.2,
    direction="higher_better",
    calculation="real_time",
    trading_days_only=True,
)
TURNOVER = dict(
    key="table_turnover",
    name="Table turnover",
    description="Completed bookings per table used.",
    category="operations",
    unit="turns",
    metric={"day": "table_turnover", "summary": None},
    target=1.2,
    warning=0.95,
    critical=0.8,
    direction="higher_better",
    calculation="cached",
    cache_ttl_minutes=60,
)


def catalogue_text(*entries: dict, version: int = 3) -> bytes:
    return yaml.safe_dump({"version": version, "kpis": list(entries)}, sort_keys=False).encode()


def definitions(*entries: dict) -> pl.DataFrame:
    return parse_catalogue(catalogue_text(*entries)).definitions


def rejection(*entries: dict) -> str:
    with pytest.raises(KpiDefinitionError) as caught:
        parse_catalogue(catalogue_text(*entries))
    return str(caught.value)


# ---- the catalogue --------------------------------------------------------------------


def test_the_packaged_catalogue_defines_every_kpi_the_venue_asked_for():
    data = kpis.CATALOGUE.read_bytes()
    catalogue = parse_catalogue(data)
    raw = yaml.safe_load(data)
    frame = catalogue.definitions
    assert catalogue.version == raw["version"]
    assert catalogue.content_hash == hashlib.sha256(data).hexdigest()
    assert frame["kpi_key"].to_list() == [k["key"] for k in raw["kpis"]]
    assert {
        "daily_revenue",
        "net_revenue",
        "spend_per_head",
        "bookings",
        "booking_conversion",
        "avg_party_size",
        "no_show_rate",
        "cancellation_rate",
        "occupancy_rate",
        "table_turnover",
        "new_customer_share",
        "vip_visits",
        "avg_satisfaction",
    } <= set(frame["kpi_key"])
    assert set(frame["category"]) == {"revenue", "bookings", "customers", "operations"}
    cached = frame.filter(pl.col("calculation") == "cached")
    assert cached["cache_ttl_minutes"].is_between(15, 60).all()
    assert frame.filter(pl.col("calculation") == "real_time")["cache_ttl_minutes"].is_null().all()
    revenue = frame.row(by_predicate=pl.col("kpi_key") == "daily_revenue", named=True)
    assert revenue["target"] == 600000  # £6,000 on an open night


def test_a_valid_catalogue_becomes_one_row_per_kpi_in_file_order():
    data = catalogue_text(REVENUE, NO_SHOWS, TURNOVER)
    frame = parse_catalogue(data).definitions
    assert frame["kpi_key"].to_list() == ["daily_revenue", "no_show_rate", "table_turnover"]
    assert frame["position"].to_list() == [1, 2, 3]
    no_shows = frame.row(1, named=True)
    assert (no_shows["target"], no_shows["warning_threshold"], no_shows["critical_threshold"]) == (
        0.05,
        0.1,
        0.2,
    )
    assert (no_shows["metric_numerator"], no_shows["metric_denominator"]) == (
        "no_shows",
        "bookings_confirmed",
    )
    assert no_shows["cache_ttl_minutes"] == 30 and no_shows["enabled"] and not no_shows["trading_days_only"]
    assert frame.row(2, named=True)["metric_summary_column"] is None
    assert set(frame["catalogue_version"]) == {3}
    assert set(frame["catalogue_hash"]) == {hashlib.sha256(data).hexdigest()}


def ratio_of(numerator: str, denominator: str) -> dict:
    return {"numerator": numerator, "denominator": denominator}


def columns(day: str, summary: str | None) -> dict:
    return {"day": day, "summary": summary}


@pytest.mark.parametrize(
    ("entry", "field", "words"),
    [
        ({**REVENUE, "category": "marketing"}, "category", "unknown category 'marketing'"),
        ({**REVENUE, "direction": "up"}, "direction", "unknown direction 'up'"),
        ({**REVENUE, "unit": "euros"}, "unit", "unknown unit 'euros'"),
        ({**REVENUE, "warning": 700000}, "warning", "must be below the target"),
        ({**REVENUE, "warning": 600000}, "warning", "must be below the target"),
        ({**REVENUE, "critical": 450000}, "critical", "must be below the warning"),
        ({**NO_SHOWS, "warning": 0.04}, "warning", "must be above the target"),
        ({**NO_SHOWS, "critical": 0.1}, "critical", "must be above the warning"),
        ({**NO_SHOWS, "critical": 1.5}, "critical", "outside 0..1"),
        (
            {**REVENUE, "metric": ratio_of("revenue", "trading_days")},
            "metric.numerator",
            "unknown metric 'revenue'",
        ),
        (
            {**REVENUE, "metric": ratio_of("no_shows", "no_show_rate")},
            "metric.denominator",
            "metric 'no_show_rate'",
        ),
        (
            {**OCCUPANCY, "metric": columns("occupancy", "avg_occupancy_rate")},
            "metric.day",
            "metric 'occupancy'",
        ),
        (
            {**OCCUPANCY, "metric": columns("occupancy_rate", "occupancy_rate")},
            "metric.summary",
            "'occupancy_rate'",
        ),
        ({**REVENUE, "metric": "gross_revenue_pence"}, "metric", "must be {numerator"),
        ({k: v for k, v in REVENUE.items() if k != "target"}, "target", "missing field"),
        ({**REVENUE, "treshold": 5}, "treshold", "unknown field"),
        ({**REVENUE, "target": "lots"}, "target", "must be a number"),
        ({**NO_SHOWS, "cache_ttl_minutes": None}, "cache_ttl_minutes", "a cached KPI needs"),
        ({**NO_SHOWS, "cache_ttl_minutes": 0}, "cache_ttl_minutes", "a cached KPI needs"),
        ({**REVENUE, "cache_ttl_minutes": 30}, "cache_ttl_minutes", "never cached"),
        ({**REVENUE, "enabled": "yes please"}, "enabled", "true or false"),
    ],
)
def test_a_mistake_is_reported_with_the_kpi_and_the_field(entry, field, words):
    message = rejection(NO_SHOWS if entry["key"] != "no_show_rate" else REVENUE, entry)
    line = next(line for line in message.splitlines() if f"field {field!r}" in line)
    assert f"KPI {entry['key']!r}" in line
    assert words in line


def test_a_duplicate_key_names_both_entries():
    message = rejection(REVENUE, NO_SHOWS, {**REVENUE, "name": "Revenue again"})
    assert "KPI 'daily_revenue': field 'key': duplicate key (also KPI #1)" in message


def test_every_mistake_is_listed_at_once():
    message = rejection({**REVENUE, "category": "sales"}, {**NO_SHOWS, "direction": "down"})
    assert "KPI 'daily_revenue': field 'category'" in message
    assert "KPI 'no_show_rate': field 'direction'" in message


def test_a_kpi_without_a_key_is_named_by_its_position():
    entry = {k: v for k, v in REVENUE.items() if k != "key"}
    assert "KPI #2: field 'key': missing field" in rejection(NO_SHOWS, entry)


def test_broken_yaml_and_a_bad_version_are_reported():
    with pytest.raises(KpiDefinitionError, match="not valid YAML"):
        parse_catalogue(b"kpis: [\n  - key: x\n")
    with pytest.raises(KpiDefinitionError, match="field 'version': must be a positive integer"):
        parse_catalogue(catalogue_text(REVENUE, version=0))


def test_the_shape_of_the_file_is_checked_field_by_field():
    def problems(document: dict) -> list[str]:
        with pytest.raises(KpiDefinitionError) as caught:
            parse_catalogue(yaml.safe_dump(document, sort_keys=False).encode())
        return str(caught.value).splitlines()[1:]

    assert problems({"version": 1, "kpis": [REVENUE, "revenue"], "owner": "Morgan"}) == [
        "  - KPI #2: field '-': must be a mapping of fields, not 'revenue'",
        "  - field 'owner': unknown field",
    ]
    assert problems({"version": True, "kpis": []}) == [
        "  - field 'version': must be a positive integer, not True",
        "  - field 'kpis': must have at least 1 item(s), not 0",
    ]
    assert problems({"version": 1, "kpis": [{**REVENUE, "key": "Daily Revenue", "name": " "}]}) == [
        "  - KPI 'Daily Revenue': field 'key': 'Daily Revenue' is not a snake_case identifier",
        "  - KPI 'Daily Revenue': field 'name': must be non-empty text",
    ]


# ---- values -------------------------------------------------------------------------------


def day_row(day: dt.date, **figures) -> dict:
    row = dict(
        venue_id="leeds",
        business_date=day,
        check_ins=0,
        bar_revenue_pence=0,
        table_revenue_pence=0,
        gross_revenue_pence=0,
        no_shows=0,
        bookings_confirmed=0,
        occupancy_rate=0.0,
        table_turnover=None,
    )
    return row | figures


def day_values(rows: list[dict], *entries: dict) -> pl.DataFrame:
    periods = kpis.day_periods(pl.DataFrame(rows, schema_overrides={"table_turnover": pl.Float64}))
    return kpis.kpi_values(periods, definitions(*entries), DAY)


def value_of(values: pl.DataFrame, key: str, start: dt.date):
    return values.filter((pl.col("kpi_key") == key) & (pl.col("period_start") == start))["value"].item()


def test_a_closed_night_is_not_judged_against_an_open_night_target():
    open_night, closed_day = dt.date(2026, 3, 28), dt.date(2026, 3, 29)
    rows = [
        day_row(
            open_night,
            check_ins=250,
            bar_revenue_pence=300000,
            gross_revenue_pence=450000,
            occupancy_rate=0.7,
        ),
        # Only online ticket sales: revenue, but nobody at the door or the bar.
        day_row(closed_day, gross_revenue_pence=25000, occupancy_rate=0.0),
    ]
    values = day_values(rows, REVENUE, OCCUPANCY)
    assert value_of(values, "daily_revenue", open_night) == 450000.0
    assert value_of(values, "occupancy_rate", open_night) == 0.7
    assert value_of(values, "daily_revenue", closed_day) is None
    assert value_of(values, "occupancy_rate", closed_day) is None


def test_bar_sales_alone_make_a_trading_night():
    day = dt.date(2026, 3, 25)
    values = day_values([day_row(day, table_revenue_pence=90000, gross_revenue_pence=90000)], REVENUE)
    assert value_of(values, "daily_revenue", day) == 90000.0


def test_a_week_is_judged_on_its_totals_not_on_a_mean_of_daily_rates():
    # Monday 1 no-show of 2 (50%), Friday 1 of 18: the week is 2 / 20 = 10%, not 28%.
    week = dict(
        venue_id="leeds",
        week_start=dt.date(2026, 3, 23),
        week_end=dt.date(2026, 3, 29),
        through_date=dt.date(2026, 3, 29),
        trading_days=4,
        gross_revenue_pence=2_000_000,
        no_shows=2,
        bookings_confirmed=20,
        avg_occupancy_rate=0.55,
    )
    to_date = {**week, "week_start": dt.date(2026, 3, 30), "week_end": dt.date(2026, 4, 5)}
    to_date["through_date"] = dt.date(2026, 4, 1)
    periods = kpis.summary_periods(pl.DataFrame([week, to_date]), WEEK)
    assert periods["period_start"].to_list() == [dt.date(2026, 3, 23)]  # a to-date week is not judged
    values = kpis.kpi_values(periods, definitions(REVENUE, NO_SHOWS, OCCUPANCY, TURNOVER), WEEK)
    start = dt.date(2026, 3, 23)
    assert value_of(values, "no_show_rate", start) == 2 / 20
    assert value_of(values, "daily_revenue", start) == 2_000_000 / 4
    assert value_of(values, "occupancy_rate", start) == 0.55
    # Table turnover is a days-only KPI: the summaries carry no turnover.
    assert "table_turnover" not in values["kpi_key"].to_list()


def test_zero_denominators_give_null_values_and_null_statuses():
    day = dt.date(2026, 3, 26)
    values = day_values(
        [day_row(day, check_ins=120, bar_revenue_pence=50000, gross_revenue_pence=50000)], NO_SHOWS
    )
    assert value_of(values, "no_show_rate", day) is None
    rows = kpis.kpi_calculations(values, [day], DAY, definitions(NO_SHOWS), COMPUTED_AT)
    assert rows["status"].to_list() == [None]
    assert rows["trend"].to_list() == [None]


def test_a_disabled_kpi_is_not_calculated():
    day = dt.date(2026, 3, 28)
    values = day_values([day_row(day, check_ins=10)], REVENUE, {**NO_SHOWS, "enabled": False})
    assert set(values["kpi_key"]) == {"daily_revenue"}


# ---- status, trend and change ------------------------------------------------------------


def judged(entry: dict, values: list[float | None]) -> list[str | None]:
    frame = pl.DataFrame({"value": values}, schema={"value": pl.Float64}).with_columns(
        pl.lit(float(entry["target"])).alias("target"),
        pl.lit(float(entry["warning"])).alias("warning"),
        pl.lit(float(entry["critical"])).alias("critical"),
        pl.lit(entry["direction"]).alias("direction"),
    )
    expression = kpis.status(
        pl.col("value"), pl.col("target"), pl.col("warning"), pl.col("critical"), pl.col("direction")
    )
    return frame.select(expression.alias("status"))["status"].to_list()


# The catalogue's rule, line by line: (line, status just on its better side, at it, just worse).
# A value at a line takes that line's status; the target's is on_target.
LINES = (
    ("target", "on_target", "on_target", "below_target"),
    ("warning", "below_target", "warning", "warning"),
    ("critical", "warning", "critical", "critical"),
)


def _around(entry: dict) -> list[tuple[float, str]]:
    """Each line's value and values just either side of it, with the status each earns."""
    better = 1 if entry["direction"] == "higher_better" else -1
    nudge = 1e-6 * max(abs(entry["target"]), 1)
    cases = []
    for field, better_side, at, worse_side in LINES:
        line = entry[field]
        cases += [(line + better * nudge, better_side), (line, at), (line - better * nudge, worse_side)]
    return cases


@pytest.mark.parametrize("entry", [REVENUE, NO_SHOWS, OCCUPANCY, TURNOVER], ids=lambda e: e["key"])
def test_a_status_at_and_either_side_of_every_threshold(entry):
    cases = _around(entry)
    assert judged(entry, [v for v, _ in cases]) == [s for _, s in cases]


@pytest.mark.parametrize("entry", [REVENUE, NO_SHOWS], ids=lambda e: e["key"])
def test_between_the_target_and_the_warning_line_is_below_target_not_on_target(entry):
    midway = (entry["target"] + entry["warning"]) / 2
    far_better = entry["target"] * (2 if entry["direction"] == "higher_better" else 0)
    assert judged(entry, [midway, far_better, None]) == ["below_target", "on_target", None]


def test_the_reported_demo_figures_are_below_target():
    # Spend per head £130.87 against £150 (warning £110); booking conversion 76.5% against 85%.
    spend = {**REVENUE, "target": 15000, "warning": 11000, "critical": 8000}
    conversion = {**NO_SHOWS, "target": 0.85, "warning": 0.75, "critical": 0.6, "direction": "higher_better"}
    assert judged(spend, [13087.0]) == ["below_target"]
    assert judged(conversion, [0.765]) == ["below_target"]


def test_rates_landing_exactly_on_a_threshold_take_its_status():
    # 2/20 and 4/20 are the thresholds 0.1 and 0.2 as the division produces them.
    days = [dt.date(2026, 3, 25), dt.date(2026, 3, 26), dt.date(2026, 3, 27)]
    rows = [
        day_row(days[0], no_shows=2, bookings_confirmed=20),
        day_row(days[1], no_shows=4, bookings_confirmed=20),
        day_row(days[2], check_ins=1, gross_revenue_pence=400000),
    ]
    frame = kpis.kpi_calculations(
        day_values(rows, NO_SHOWS, REVENUE), days, DAY, definitions(NO_SHOWS, REVENUE), COMPUTED_AT
    )
    status = {(r["kpi_key"], r["period_start"]): r["status"] for r in frame.iter_rows(named=True)}
    assert status["no_show_rate", days[0]] == "warning"
    assert status["no_show_rate", days[1]] == "critical"
    assert status["daily_revenue", days[2]] == "warning"


def test_trend_is_flat_within_five_percent_of_the_trailing_mean():
    frame = pl.DataFrame(
        {
            "value": [105.0, 105.01, 95.0, 94.99, 0.0, 1.0, 5.0, None],
            "mean": [100.0, 100.0, 100.0, 100.0, 0.0, 0.0, None, 100.0],
        }
    )
    trends = frame.select(kpis.trend(pl.col("value"), pl.col("mean")).alias("t"))["t"].to_list()
    assert trends == ["flat", "up", "flat", "down", "flat", "up", None, None]


def test_a_change_is_relative_to_the_earlier_value_and_null_from_nothing():
    frame = pl.DataFrame(
        {"value": [120.0, 80.0, -5.0, 5.0, None, 3.0], "earlier": [100.0, 100.0, -10.0, 0.0, 10.0, None]}
    )
    changes = frame.select(relative_change("value", "earlier").alias("c"))["c"].to_list()
    assert changes == pytest.approx([0.2, -0.2, 0.5, None, None, None])


# ---- comparisons and trailing statistics ----------------------------------------------


def revenue_history(days: list[dt.date], figure) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "kpi_key": "daily_revenue",
            "venue_id": "leeds",
            "period_start": days,
            "value": [figure(d) for d in days],
        },
        schema=kpis.VALUES_SCHEMA,
    )


def figure_of(day: dt.date) -> float:
    """A different value for every date, so a wrong offset cannot pass."""
    return float(day.toordinal() % 997 * 100 + day.day)


def test_a_day_compares_with_the_same_weekday_a_week_four_weeks_and_52_weeks_before():
    day = dt.date(2026, 10, 24)  # the 25-hour fall-back night, a Saturday
    history = [day - dt.timedelta(days=n) for n in range(0, 400)]
    rows = kpis.kpi_calculations(
        revenue_history(history, figure_of), [day], DAY, definitions(REVENUE), COMPUTED_AT
    )
    row = rows.row(0, named=True)
    assert row["value"] == figure_of(day)
    assert row["value_week_ago"] == figure_of(dt.date(2026, 10, 17))
    assert row["value_month_ago"] == figure_of(dt.date(2026, 9, 26))
    assert row["value_year_ago"] == figure_of(dt.date(2025, 10, 25))
    week_ago = figure_of(dt.date(2026, 10, 17))
    assert row["change_week_ago"] == pytest.approx((figure_of(day) - week_ago) / week_ago)
    saturdays = [figure_of(day - dt.timedelta(weeks=k)) for k in range(1, 9)]
    assert row["trailing_periods"] == 8
    assert row["trailing_min"] == min(saturdays)
    assert row["trailing_max"] == max(saturdays)
    assert row["trailing_mean"] == pytest.approx(statistics.mean(saturdays))
    assert row["trailing_stddev"] == pytest.approx(statistics.stdev(saturdays))
    assert (row["period_type"], row["period_end"]) == ("day", day)


def test_missing_history_compares_as_null_and_one_earlier_value_has_no_spread():
    day = dt.date(2026, 3, 28)
    history = [day, day - dt.timedelta(days=14)]
    rows = kpis.kpi_calculations(
        revenue_history(history, figure_of), [day], DAY, definitions(REVENUE), COMPUTED_AT
    )
    row = rows.row(0, named=True)
    assert (row["value_week_ago"], row["value_month_ago"], row["value_year_ago"]) == (None, None, None)
    assert (row["change_week_ago"], row["change_month_ago"], row["change_year_ago"]) == (None, None, None)
    assert row["trailing_periods"] == 1
    assert row["trailing_min"] == row["trailing_max"] == row["trailing_mean"] == figure_of(history[1])
    assert row["trailing_stddev"] is None


def test_a_null_value_in_the_trailing_window_is_not_counted():
    day = dt.date(2026, 3, 28)
    history = [day - dt.timedelta(weeks=k) for k in range(0, 9)]
    rows = kpis.kpi_calculations(
        revenue_history(history, lambda d: None if d == history[3] else 1000.0 * d.day),
        [day],
        DAY,
        definitions(REVENUE),
        COMPUTED_AT,
    )
    earlier = [1000.0 * d.day for d in history[1:] if d != history[3]]
    row = rows.row(0, named=True)
    assert row["trailing_periods"] == 7
    assert row["trailing_mean"] == pytest.approx(statistics.mean(earlier))


def test_a_week_compares_with_the_week_before_four_weeks_and_52_weeks_before():
    week = dt.date(2026, 3, 23)
    history = [week - dt.timedelta(weeks=k) for k in range(0, 60)]
    rows = kpis.kpi_calculations(
        revenue_history(history, figure_of), [week], WEEK, definitions(REVENUE), COMPUTED_AT
    )
    row = rows.row(0, named=True)
    assert row["value_week_ago"] == figure_of(dt.date(2026, 3, 16))
    assert row["value_month_ago"] == figure_of(dt.date(2026, 2, 23))
    assert row["value_year_ago"] == figure_of(dt.date(2025, 3, 24))
    assert row["trailing_periods"] == 8
    assert row["trailing_mean"] == pytest.approx(statistics.mean(figure_of(h) for h in history[1:9]))
    assert (row["period_type"], row["period_end"]) == ("week", dt.date(2026, 3, 29))


def test_a_month_compares_with_the_month_before_and_twelve_months_before_but_not_a_week():
    month = dt.date(2026, 1, 1)
    history = [dt.date(2024 + (m // 12), m % 12 + 1, 1) for m in range(0, 25)]  # Jan 2024 .. Jan 2026
    rows = kpis.kpi_calculations(
        revenue_history(history, figure_of), [month], MONTH, definitions(REVENUE), COMPUTED_AT
    )
    row = rows.row(0, named=True)
    assert (row["value_week_ago"], row["change_week_ago"]) == (None, None)
    assert row["value_month_ago"] == figure_of(dt.date(2025, 12, 1))
    assert row["value_year_ago"] == figure_of(dt.date(2025, 1, 1))
    previous_twelve = [figure_of(dt.date(2025, m, 1)) for m in range(1, 13)]
    assert row["trailing_periods"] == 12
    assert row["trailing_stddev"] == pytest.approx(statistics.stdev(previous_twelve))
    assert (row["period_type"], row["period_end"]) == ("month", dt.date(2026, 1, 31))


def test_cached_kpis_expire_after_their_ttl_and_real_time_ones_never():
    day = dt.date(2026, 3, 28)
    values = pl.concat(
        [
            revenue_history([day], figure_of),
            revenue_history([day], figure_of).with_columns(pl.lit("no_show_rate").alias("kpi_key")),
        ]
    )
    rows = kpis.kpi_calculations(values, [day], DAY, definitions(REVENUE, NO_SHOWS), COMPUTED_AT)
    expiry = dict(zip(rows["kpi_key"], rows["expires_at"], strict=True))
    assert expiry["daily_revenue"] is None
    assert expiry["no_show_rate"] == COMPUTED_AT + dt.timedelta(minutes=30)
    assert set(rows["computed_at"]) == {COMPUTED_AT}


# ---- which periods a window owns, and what it reads ---------------------------------------


def test_a_window_owns_the_weeks_and_months_that_end_in_it():
    # Monday 23 March (the spring-forward weekend inside) to Thursday 2 April.
    first, last = dt.date(2026, 3, 23), dt.date(2026, 4, 2)
    assert DAY.starts_ending_in(first, last) == [first + dt.timedelta(days=i) for i in range(11)]
    assert WEEK.starts_ending_in(first, last) == [dt.date(2026, 3, 23)]
    assert MONTH.starts_ending_in(first, last) == [dt.date(2026, 3, 1)]
    # Monday to Saturday: no Sunday, no week; nor a month end.
    assert WEEK.starts_ending_in(dt.date(2026, 3, 23), dt.date(2026, 3, 28)) == []
    assert MONTH.starts_ending_in(dt.date(2026, 3, 23), dt.date(2026, 3, 28)) == []
    # A Sunday alone closes its week; the last day of a month alone closes it.
    assert WEEK.starts_ending_in(dt.date(2026, 10, 25), dt.date(2026, 10, 25)) == [dt.date(2026, 10, 19)]
    assert MONTH.starts_ending_in(dt.date(2026, 2, 28), dt.date(2026, 2, 28)) == [dt.date(2026, 2, 1)]


def test_the_look_back_is_bounded_by_the_comparisons():
    day = dt.date(2026, 3, 28)
    assert DAY.history([day]) == [
        (dt.date(2025, 3, 29), dt.date(2025, 3, 29)),  # 364 days before
        (dt.date(2026, 1, 31), day),  # eight weeks of same weekdays
    ]
    week = dt.date(2026, 3, 23)
    assert WEEK.history([week, week + dt.timedelta(weeks=1)]) == [
        (dt.date(2025, 3, 24), dt.date(2025, 3, 31)),
        (dt.date(2026, 1, 26), dt.date(2026, 3, 30)),
    ]
    assert MONTH.history([dt.date(2026, 3, 1)]) == [(dt.date(2025, 3, 1), dt.date(2026, 3, 1))]
    # A window longer than the gap reads one range.
    assert DAY.history([dt.date(2025, 1, 1), dt.date(2026, 1, 1)]) == [
        (dt.date(2024, 1, 3), dt.date(2026, 1, 1))
    ]


# ---- the checks' findings ---------------------------------------------------------------


def test_missing_rows_and_misjudged_statuses_are_found():
    day = dt.date(2026, 3, 28)
    defs = definitions(REVENUE, NO_SHOWS, TURNOVER)
    values = day_values([day_row(day, check_ins=1, gross_revenue_pence=300000)], REVENUE, NO_SHOWS, TURNOVER)
    stored = kpis.kpi_calculations(values, [day], DAY, defs, COMPUTED_AT)
    periods = pl.DataFrame(
        [
            ("leeds", "day", day, day),
            ("york", "day", day, day),
            ("leeds", "week", dt.date(2026, 3, 23), dt.date(2026, 3, 29)),
        ],
        schema=["venue_id", "period_type", "period_start", "period_end"],
        orient="row",
    )
    missing = kpis.missing_calculations(stored, periods, defs)
    assert set(missing.select("venue_id", "period_type", "kpi_key").iter_rows()) == {
        ("york", "day", "daily_revenue"),
        ("york", "day", "no_show_rate"),
        ("york", "day", "table_turnover"),
        ("leeds", "week", "daily_revenue"),
        ("leeds", "week", "no_show_rate"),
    }
    assert kpis.misjudged(stored, defs).is_empty()
    tampered = stored.with_columns(
        pl.when(pl.col("kpi_key") == "daily_revenue")
        .then(pl.lit("on_target"))
        .otherwise("status")
        .alias("status")
    )
    wrong = kpis.misjudged(tampered, defs)
    assert wrong.select("kpi_key", "status", "expected_status").rows() == [
        ("daily_revenue", "on_target", "warning")
    ]
    # Thresholds moved since the rows were written: the stored statuses no longer hold.
    stricter = definitions({**REVENUE, "warning": 350000, "critical": 300000}, NO_SHOWS, TURNOVER)
    assert kpis.misjudged(stored, stricter)["expected_status"].to_list() == ["critical"]
    # A row stored before below_target existed: £3,000 against a £2,900 warning line and a
    # £6,000 target is below target, not on target, and the check says so.
    laxer = definitions({**REVENUE, "warning": 290000, "critical": 200000}, NO_SHOWS, TURNOVER)
    assert kpis.misjudged(stored, laxer).select("status", "expected_status").rows() == [
        ("warning", "below_target")
    ]
    assert kpis.misjudged(tampered, laxer).select("status", "expected_status").rows() == [
        ("on_target", "below_target")
    ]
