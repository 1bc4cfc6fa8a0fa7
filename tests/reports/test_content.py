"""The prose of reports: movements judged by direction and told in the KPI's units, lines
that agree with the cards, and each recommendation rule in plain words."""

import datetime as dt
import re

import polars as pl
import pytest

from backroom_reporting.rendering.build import kpi_cards
from backroom_reporting.rendering.content import (
    Warnings,
    executive_summary,
    movements,
    recommendations,
    standing,
)
from backroom_reporting.rendering.model import STATUS_LABELS, KpiCard

MONDAY = dt.date(2026, 11, 16)


def card(
    key="daily_revenue",
    status="on_target",
    trend="flat",
    value=700_000.0,
    target=600_000.0,
    change=None,
    lower_is_better=False,
    kind="money",
    earlier=None,
) -> KpiCard:
    if earlier is None and change is not None:
        earlier = value / (1 + change)
    return KpiCard(
        key,
        key.replace("_", " ").capitalize(),
        kind,
        value,
        target,
        status,
        trend,
        lower_is_better,
        {"vs last week": change},
        {"vs last week": earlier},
    )


def week(occupancy=0.7, gross=800_000) -> pl.DataFrame:
    days = [MONDAY + dt.timedelta(days=d) for d in (2, 3, 4, 5)]
    return pl.DataFrame(
        {
            "business_date": days,
            "check_ins": [300] * 4,
            "occupancy_rate": [occupancy] * 4,
            "gross_revenue_pence": [gross] * 4,
        }
    )


NO_WARNINGS = Warnings()
EVENT_SCHEMA = {
    "business_date": pl.Date,
    "brand": pl.String,
    "name": pl.String,
    "attendance": pl.Int64,
    "avg_attendance_previous_4_weeks": pl.Float64,
    "attendance_change_vs_4_week_avg": pl.Float64,
    "gross_revenue_pence": pl.Int64,
}
NO_EVENTS = pl.DataFrame(schema=EVENT_SCHEMA)


def event(brand: str, night: dt.date, attendance: int, average: float, gross: int) -> pl.DataFrame:
    row = (night, brand, f"{brand} — {night}", attendance, average, attendance / average - 1, gross)
    return pl.DataFrame([row], schema=EVENT_SCHEMA, orient="row")


def advised(cards=(), daily=None, forecast=None, events=NO_EVENTS, vips=0, warnings=NO_WARNINGS):
    return recommendations(list(cards), week() if daily is None else daily, forecast, events, vips, warnings)


def advice(*args, **kwargs):
    return [b.text for b in advised(*args, **kwargs)]


def test_movements_are_good_news_only_for_an_on_target_kpi_moving_the_right_way():
    bullets = movements(
        [
            card("daily_revenue", change=0.25),
            card("net_revenue", change=-0.25),
            card(
                "no_show_rate",
                "below_target",
                change=2.5,
                lower_is_better=True,
                kind="percent",
                value=0.07,
                earlier=0.02,
            ),
            card("bookings", change=0.02),
        ],
        "vs last week",
    )
    tones = {b.text.split()[0]: b.tone for b in bullets}
    # A 2% move is not worth a line; a fall of an on-target KPI is a note, not good news.
    assert tones == {"Daily": "good", "Net": "info", "No": "info"}


def test_a_rate_moves_in_points_and_small_rates_need_five_points_to_be_notable():
    small = card("no_show_rate", change=0.5, lower_is_better=True, kind="percent", value=0.03, earlier=0.02)
    big = KpiCard(
        "booking_conversion",
        "Bookings seated",
        "percent",
        0.765,
        0.85,
        "below_target",
        comparisons={"vs last week": 0.765 / 0.821 - 1},
        earlier={"vs last week": 0.821},
    )
    [bullet] = movements([small, big], "vs last week")  # +50% but one point: not notable
    assert bullet.text == "Bookings seated 76.5% (target 85.0%, below target): -5.6 points vs last week."


@pytest.mark.parametrize(
    ("kind", "value", "earlier", "said"),
    [
        ("money", 1_124_000.0, 1_003_600.0, "+£1,204 (+12%)"),
        ("money", 13_087.0, 14_587.0, "-£15.00 (-10%)"),
        ("count", 11.0, 8.0, "+3 (+38%)"),
        ("count", 2.75, 2.0, "+0.8 (+38%)"),
        ("percent", 0.12, 0.05, "+7.0 points"),
    ],
)
def test_a_change_is_told_in_the_kpis_units(kind, value, earlier, said):
    moved = card(kind=kind, value=value, earlier=earlier, change=value / earlier - 1)
    [bullet] = movements([moved], "vs last week")
    assert bullet.text.endswith(f": {said} vs last week.")


def test_counts_are_whole_numbers_and_averaged_counts_keep_one_decimal():
    definitions = pl.DataFrame(
        {
            "kpi_key": ["vip_visits", "bookings"],
            "name": ["VIP visits", "Table bookings"],
            "unit": ["people", "count"],
            "target": [4.0, 10.0],
            "direction": ["higher_better", "higher_better"],
            "enabled": [True, True],
            "position": [1, 2],
        }
    )
    figures = {
        "vip_visits": {"value": 11.0, "status": "on_target", "value_week_ago": 8.0, "change_week_ago": 0.375},
        "bookings": {"value": 9.4, "status": "below_target"},
    }
    vips, bookings = kpi_cards(figures, definitions, "week")
    assert (
        movements([vips], "vs last week")[0].text
        == "VIP visits 11 (target 4, on target): +3 (+38%) vs last week."
    )
    assert standing(bookings) == "Table bookings 9.4 (target 10, below target)"


NIGHT = {
    "gross_revenue_pence": 900_000,
    "net_revenue_pence": 890_000,
    "check_ins": 300,
    "bar_revenue_pence": 500_000,
    "table_revenue_pence": 100_000,
    "ticket_revenue_pence": 300_000,
    "peak_hour": None,
    "bookings_completed": 8,
    "covers": 40,
    "bookings_confirmed": 9,
    "no_shows": 1,
    "no_show_rate": 1 / 9,
    "birthdays": 0,
    "anniversaries": 0,
    "visitors": 100,
    "new_customers": 20,
}
# The tone (and so the chip: Good, Note, Warning, Critical) of a line about a KPI that fell.
TONE_OF_A_FALL = {"on_target": "info", "below_target": "info", "warning": "warning", "critical": "critical"}


@pytest.mark.parametrize("status", ["on_target", "below_target", "warning", "critical"])
def test_a_kpis_lines_in_the_summary_agree_with_its_card(status):
    label = "vs same night last week"
    spend = KpiCard(
        "spend_per_head",
        "Spend per head",
        "money",
        13_087.0,
        15_000.0,
        status,
        "down",
        comparisons={label: -0.2},
        earlier={label: 13_087.0 / 0.8},
    )
    _, bullets = executive_summary("The Backroom Leeds", MONDAY, NIGHT, None, [], [spend], NO_WARNINGS)
    about = [b for b in bullets if b.text.startswith("Spend per head")]
    assert about[0].text == (
        f"Spend per head £130.87 (target £150.00, {STATUS_LABELS[status].lower()}): -£32.72 (-20%) {label}."
    )
    assert len(about) == (2 if status in ("warning", "critical") else 1)
    assert all(f"{STATUS_LABELS[status].lower()})" in b.text for b in about)
    assert {b.tone for b in about} == {TONE_OF_A_FALL[status]}


def test_nothing_to_say_is_said():
    assert advice([card()]) == ["No action needed: every KPI is on target and nothing unusual happened."]


@pytest.mark.parametrize(
    ("kwargs", "rule"),
    [
        ({"cards": [card(status="critical", value=200_000)]}, "R1"),
        ({"cards": [card(status="warning", trend="down")]}, "R2"),
        (
            {
                "cards": [
                    card(
                        "no_show_rate",
                        status="warning",
                        trend="flat",
                        lower_is_better=True,
                        kind="percent",
                        value=0.12,
                    )
                ]
            },
            "R3",
        ),
        ({"daily": week(occupancy=0.3)}, "R4"),
        (
            {
                "warnings": Warnings(
                    anomalies=pl.DataFrame(
                        {"business_date": [MONDAY], "gross_revenue_pence": [9], "mean": [5.0], "z": [3.4]}
                    )
                )
            },
            "R5",
        ),
        ({"forecast": 2_000_000}, "R6"),  # against 3,200,000 taken in the last seven nights
        ({"forecast": 4_000_000}, "R6"),
        ({"events": event("SHHH!", MONDAY + dt.timedelta(days=3), 300, 400.0, 500_000)}, "R7"),
        ({"warnings": Warnings(quarantined_rows=12)}, "R8"),
        ({"vips": 3}, "R9"),
    ],
)
def test_each_rule_fires_on_its_condition_and_its_code_is_data_not_text(kwargs, rule):
    said = advised(**kwargs)
    assert rule in [b.rule for b in said], said
    assert not any(re.search(r"\bR\d\b", b.text) for b in said), said


def test_recommendations_name_the_night_and_the_figure():
    thursday = dt.date(2026, 11, 26)
    [faded] = advice(events=event("LA FIESTA", thursday, 412, 665.0, 412_000))
    assert faded == (
        "LA FIESTA on Thursday 26 November drew 412 people, 38% below its 4-week average of 665, "
        "and took £4,120: refresh the line-up or the promotion."
    )
    quiet = week(occupancy=0.3).filter(pl.col("business_date") == MONDAY + dt.timedelta(days=2))
    assert advice(daily=quiet) == [
        "Wednesday 18 November peaked at 30% of capacity: try a promotion or a themed night on Wednesdays."
    ]
    [critical] = advice([card("bookings", status="critical", value=2, target=10, kind="count")])
    assert critical == "Bookings 2 (target 10, critical): act on this first."


def test_a_warning_kpi_getting_better_is_left_alone_and_urgent_advice_comes_first():
    said = advised(
        [
            card(status="warning", trend="up"),
            card("bookings", status="critical", value=2, target=10, kind="count"),
        ],
        vips=1,
    )
    assert said[0].rule == "R1" and said[-1].rule == "R9"
    assert "R2" not in [b.rule for b in said]
