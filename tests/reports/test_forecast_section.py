"""The Weekly Summary's forecast: the forecast nights the venue is expected to open beside the
nights it traded, closed nights named rather than drawn at zero, and next week against this
week in words."""

import datetime as dt

import polars as pl
import sqlalchemy as sa

from backroom_reporting.rendering.build import forecast_with_actuals
from backroom_reporting.rendering.content import forecast_outlook
from tests.design_section_5 import daily_figures
from tests.reports.test_build import build, pounds

MONDAY, SUNDAY = dt.date(2026, 11, 16), dt.date(2026, 11, 22)
VENUE = "backroom-leeds"


def test_the_chart_puts_the_forecast_beside_the_nights_traded_and_leaves_out_closed_nights(reporting_world):
    world = reporting_world.databases
    revenue = {s.key: s for s in build(world.warehouse, "weekly_summary", MONDAY).sections}["revenue"]
    data = revenue.chart.data
    assert [s.label for s in revenue.chart.series] == ["Actual", "Forecast", "Low (80%)", "High (80%)"]

    figures = daily_figures(world.source_url)
    four_weeks = [SUNDAY - dt.timedelta(days=27 - i) for i in range(28)]
    traded = {
        d: figures[VENUE, d]["gross_revenue_pence"]
        for d in four_weeks
        if (VENUE, d) in figures
        and any(figures[VENUE, d][k] for k in ("check_ins", "bar_revenue_pence", "table_revenue_pence"))
    }
    actual = data.filter(pl.col("business_date") <= SUNDAY)
    assert dict(actual.select("business_date", "actual_pence").rows()) == traded
    assert actual["predicted_pence"].is_null().all()

    engine = sa.create_engine(world.warehouse_url)
    with engine.connect() as conn:
        made = conn.execute(
            sa.text(
                "SELECT forecast_date, horizon_days, expected_to_trade, predicted_pence "
                "FROM revenue_forecast WHERE venue_id = :venue AND week_start = :monday "
                "ORDER BY forecast_date"
            ),
            {"venue": VENUE, "monday": MONDAY.isoformat()},
        ).all()
    engine.dispose()
    open_nights = {dt.date.fromisoformat(str(d)): p for d, _, expected, p in made if expected}
    closed_nights = [dt.date.fromisoformat(str(d)) for d, _, expected, _ in made if not expected]
    ahead = data.filter(pl.col("business_date") > SUNDAY)
    assert dict(ahead.select("business_date", "predicted_pence").rows()) == open_nights
    assert ahead["actual_pence"].is_null().all()
    assert closed_nights and not set(closed_nights) & set(data["business_date"])  # no £0 points
    assert (ahead["predicted_pence"] > 0).all()

    next_week = sum(p for d, h, expected, p in made if expected and h <= 7)
    this_week = sum(
        figures[VENUE, d]["gross_revenue_pence"] for d in four_weeks[-7:] if (VENUE, d) in figures
    )
    words = revenue.paragraphs
    assert (
        words[0].startswith(f"Next week {pounds(next_week)} forecast")
        and f"this week {pounds(this_week)}" in words[0]
    )
    assert "Mondays" in words[1] and "Tuesdays" in words[1]


def test_christmas_day_closed_is_named_and_boxing_day_open_is_forecast():
    made_on = dt.date(2026, 11, 29)
    days = [made_on + dt.timedelta(days=h) for h in range(1, 29)]
    christmas, boxing_day = dt.date(2026, 12, 25), dt.date(2026, 12, 26)
    holidays = {
        christmas: "Christmas Day",
        boxing_day: "Boxing Day",
        dt.date(2026, 12, 28): "Boxing Day (observed)",
    }
    expected = [2 <= d.weekday() <= 5 and d != christmas for d in days]
    predicted = [(300_000 + 1_000 * i) if e else 0 for i, e in enumerate(expected)]
    forecast = pl.DataFrame(
        {
            "forecast_date": days,
            "horizon_days": list(range(1, 29)),
            "expected_to_trade": expected,
            "predicted_pence": predicted,
            **{
                k: predicted for k in ("lower_80_pence", "upper_80_pence", "lower_95_pence", "upper_95_pence")
            },
        }
    )
    words = forecast_outlook(forecast, 1_000_000, holidays)
    next_week = sum(p for p, e, h in zip(predicted, expected, range(1, 29), strict=True) if e and h <= 7)
    assert words[0] == (
        f"Next week {pounds(next_week)} forecast over 4 open nights, against this week £10,000 taken "
        f"(+{(next_week - 1_000_000) / 1_000_000:.0%})."
    )
    assert words[1] == (
        "Not plotted, as the venue is not expected to trade: Mondays, Tuesdays, Sundays and "
        "Christmas Day (Friday 25 December)."
    )
    boxing_day_forecast = predicted[days.index(boxing_day)]
    assert (
        words[2]
        == f"Bank holidays in the forecast: Boxing Day (Saturday 26 December) {pounds(boxing_day_forecast)}."
    )

    nights = forecast_with_actuals(
        pl.DataFrame(
            {
                "business_date": [made_on - dt.timedelta(days=1), made_on],  # Saturday traded, Sunday shut
                "gross_revenue_pence": [900_000, 20_000],  # Sunday: online ticket sales only
                "check_ins": [400, 0],
                "bar_revenue_pence": [700_000, 0],
                "table_revenue_pence": [100_000, 0],
            }
        ),
        forecast,
    )
    assert nights["business_date"].to_list() == [made_on - dt.timedelta(days=1)] + [
        d for d, e in zip(days, expected, strict=True) if e
    ]
    assert christmas not in nights["business_date"].to_list()
