"""Hand-made reports with known figures, for the rendering tests."""

from __future__ import annotations

import datetime as dt

import polars as pl

from backroom_reporting.rendering.model import Bullet, Chart, Column, KpiCard, Report, Section

GENERATED_AT = dt.datetime(2026, 11, 22, 6, 15, tzinfo=dt.UTC)  # 06:15 GMT in London
NIGHT = dt.date(2026, 11, 21)

HOURLY = pl.DataFrame(
    {
        "local_hour": [21, 22, 23, 0, 1, 2],
        "check_ins": [40, 85, 110, 30, 12, None],
        "bar_revenue_pence": [61_050, 198_517, 412_000, 333_000, 200_000, 30_000],  # Σ 1,234,567
        "table_revenue_pence": [0, 50_000, 120_000, 95_000, 40_050, 0],  # Σ 305,050
        "occupancy_rate": [0.1333, 0.4167, 0.7833, 0.8733, 0.62, None],
    }
)
HOURLY_COLUMNS = (
    Column("local_hour", "Hour", "hour"),
    Column("check_ins", "Check-ins", "count", "sum"),
    Column("bar_revenue_pence", "Bar revenue", "money", "sum"),
    Column("table_revenue_pence", "Table revenue", "money", "sum"),
    Column("occupancy_rate", "Occupancy", "percent", "mean"),
)
EVENTS = pl.DataFrame(
    {
        "event_name": ["LA FIESTA: Reggaeton Night", "SHHH! Late Lounge"],
        "business_date": [NIGHT, NIGHT],
        "tickets_sold": [212, 48],
        "ticket_revenue_pence": [254_400, 43_200],
        "avg_satisfaction": [4.21, 3.875],
    }
)
EVENT_COLUMNS = (
    Column("event_name", "Event", "text"),
    Column("business_date", "Night", "date"),
    Column("tickets_sold", "Tickets", "count", "sum"),
    Column("ticket_revenue_pence", "Ticket revenue", "money", "sum"),
    Column("avg_satisfaction", "Satisfaction", "score", "mean"),
)
TREND = pl.DataFrame(
    {
        "business_date": [NIGHT - dt.timedelta(days=7 * i) for i in range(3, -1, -1)],
        "occupancy_rate": [0.71, 0.8, None, 0.9567],
    }
)

CARDS = (
    KpiCard(
        "gross_revenue",
        "Gross revenue",
        "money",
        1_539_617,
        1_200_000,
        "on_target",
        "up",
        comparisons={"vs same night last week": 0.12, "vs last year": None},
        earlier={"vs same night last week": 1_374_658, "vs last year": None},
    ),
    KpiCard("occupancy_rate", "Peak occupancy", "percent", 0.9567, 0.9, "on_target", "flat"),
    KpiCard(
        "no_show_rate",
        "No-show rate",
        "percent",
        0.123,
        0.08,
        "critical",
        "up",
        lower_is_better=True,
        comparisons={"vs same night last week": 0.034},
        earlier={"vs same night last week": 0.119},
    ),
    KpiCard("avg_deposit", "Average deposit", "money", 4_550, 5_000, "warning", "down"),
    KpiCard("avg_satisfaction", "Satisfaction", "score", 4.21, None, None),
)


def summary_section() -> Section:
    return Section(
        "executive_summary",
        "Executive Summary",
        "summary",
        paragraphs=(
            "Saturday was LA FIESTA: 287 people came through the door and the night took £15,396.17.",
            "Tables were busy from 23:00 and the bar peaked an hour later.",
        ),
        bullets=(
            Bullet("Gross revenue was 12% up on the same night last week.", "good"),
            Bullet("The no-show rate of 12.3% is above its 8% target.", "critical"),
            Bullet("3 source rows were quarantined.", "warning"),
            Bullet("Next Saturday is NOSTALGIA.", "info"),
        ),
    )


def daily_report(**changes) -> Report:
    """A daily summary: prose, KPI cards, two tables, two charts and an empty table."""
    fields = {
        "template_key": "daily_summary",
        "title": "Daily Summary",
        "template_version": "a1b2c3d4e5f6",
        "venue_id": "backroom-leeds",
        "venue_name": "The Backroom Leeds",
        "period_kind": "business_day",
        "first_day": NIGHT,
        "last_day": NIGHT,
        "period_label": "Saturday 21 November 2026",
        "generated_at": GENERATED_AT,
        "filters": {"venue_id": "backroom-leeds", "brand": "LA FIESTA"},
        "sections": (
            summary_section(),
            Section("headline_kpis", "Headline KPIs", "metrics", cards=CARDS),
            Section("hourly", "Hour by Hour", "table", table=HOURLY, columns=HOURLY_COLUMNS, totals=True),
            Section("events", "Events Tonight", "table", table=EVENTS, columns=EVENT_COLUMNS),
            Section(
                "revenue_by_hour",
                "Revenue by Hour",
                "chart",
                chart=Chart("stacked_bar", HOURLY, HOURLY_COLUMNS[0], HOURLY_COLUMNS[2:4], "Revenue"),
            ),
            Section(
                "occupancy_trend",
                "Occupancy, Last Four Saturdays",
                "chart",
                chart=Chart(
                    "line",
                    TREND,
                    Column("business_date", "Night", "date"),
                    (Column("occupancy_rate", "Occupancy", "percent"),),
                ),
            ),
            Section(
                "staff",
                "Staff on Shift",
                "table",
                table=pl.DataFrame(schema={"staff_name": pl.String, "hours": pl.Float64}),
                columns=(Column("staff_name", "Name", "text"), Column("hours", "Hours", "number", "sum")),
                empty_note="No staff shifts were recorded for this night.",
            ),
        ),
    }
    return Report(**(fields | changes))


def closed_report() -> Report:
    """A night the venue did not trade: empty tables and charts, zero KPIs."""
    return daily_report(
        first_day=dt.date(2026, 11, 23),
        last_day=dt.date(2026, 11, 23),
        period_label="Monday 23 November 2026",
        trading=False,
        sections=(
            Section(
                "executive_summary",
                "Executive Summary",
                "summary",
                paragraphs=("The Backroom Leeds did not trade on Monday 23 November 2026.",),
            ),
            Section(
                "headline_kpis",
                "Headline KPIs",
                "metrics",
                cards=(KpiCard("gross_revenue", "Gross revenue", "money", 0, 1_200_000, "critical"),),
            ),
            Section(
                "hourly",
                "Hour by Hour",
                "table",
                table=HOURLY.clear(),
                columns=HOURLY_COLUMNS,
                totals=True,
                empty_note="The doors did not open.",
            ),
            Section("revenue_by_hour", "Revenue by Hour", "chart", empty_note="No sales to chart."),
        ),
    )


def single_table_report() -> Report:
    report = daily_report()
    return daily_report(
        sections=tuple(s for s in report.sections if s.key in {"executive_summary", "events"})
    )


def weekly_report() -> Report:
    """The daily summary's sections over a business week, so rows carry the period's first
    and last day where they have no night of their own."""
    return daily_report(
        template_key="weekly_summary",
        title="Weekly Summary",
        period_kind="business_week",
        first_day=NIGHT - dt.timedelta(days=5),
        last_day=NIGHT + dt.timedelta(days=1),
        period_label="Week of 16 November 2026",
    )
