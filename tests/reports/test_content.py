"""The prose of reports: movements judged by direction, and each recommendation rule."""

import datetime as dt

import polars as pl
import pytest

from backroom_reporting.rendering.content import Warnings, movements, recommendations
from backroom_reporting.rendering.model import KpiCard

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
) -> KpiCard:
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
NO_EVENTS = pl.DataFrame(
    schema={"brand": pl.String, "name": pl.String, "attendance_change_vs_4_week_avg": pl.Float64}
)


def advice(cards=(), daily=None, forecast=None, events=NO_EVENTS, vips=0, warnings=NO_WARNINGS):
    return [
        b.text
        for b in recommendations(
            list(cards), week() if daily is None else daily, forecast, events, vips, warnings
        )
    ]


def test_movements_are_good_or_bad_by_the_kpis_direction():
    bullets = movements(
        [
            card("daily_revenue", change=0.25),
            card("no_show_rate", change=0.40, lower_is_better=True, kind="percent", value=0.08),
            card("bookings", change=0.02),
        ],
        "vs last week",
    )
    tones = {b.text.split()[0]: b.tone for b in bullets}
    assert tones == {"No": "warning", "Daily": "good"}  # a 2% move is not worth a line


def test_nothing_to_say_is_said():
    assert advice([card()]) == ["No action needed: every KPI is on target and nothing unusual happened."]


@pytest.mark.parametrize(
    ("kwargs", "rule"),
    [
        ({"cards": [card(status="critical", value=200_000)]}, "(R1)"),
        ({"cards": [card(status="warning", trend="down")]}, "(R2)"),
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
            "(R3)",
        ),
        ({"daily": week(occupancy=0.3)}, "(R4)"),
        (
            {
                "warnings": Warnings(
                    anomalies=pl.DataFrame(
                        {"business_date": [MONDAY], "gross_revenue_pence": [9], "mean": [5.0], "z": [3.4]}
                    )
                )
            },
            "(R5)",
        ),
        ({"forecast": 2_000_000}, "(R6)"),  # against 3,200,000 taken in the last seven nights
        ({"forecast": 4_000_000}, "(R6)"),
        (
            {
                "events": pl.DataFrame(
                    {"brand": ["SHHH!"], "name": ["SHHH! night"], "attendance_change_vs_4_week_avg": [-0.25]}
                )
            },
            "(R7)",
        ),
        ({"warnings": Warnings(quarantined_rows=12)}, "(R8)"),
        ({"vips": 3}, "(R9)"),
    ],
)
def test_each_rule_fires_on_its_condition(kwargs, rule):
    said = advice(**kwargs)
    assert any(rule in text for text in said), said


def test_a_warning_kpi_getting_better_is_left_alone_and_urgent_advice_comes_first():
    said = advice(
        [
            card(status="warning", trend="up"),
            card("bookings", status="critical", value=2, target=10, kind="count"),
        ],
        vips=1,
    )
    assert "(R1)" in said[0] and "(R9)" in said[-1]
    assert not any("(R2)" in text for text in said)
