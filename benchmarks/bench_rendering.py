"""Time rendering a realistic daily and weekly report into every format with one ChartRenderer.

    python benchmarks/bench_rendering.py [--repetitions 5]

Daily: 7 sections (summary, KPIs, two 30-row tables, three charts). Weekly: 7 sections
(summary, KPIs, five charts). Each repetition renders fresh figures (another seed), so every
chart is drawn, as in a real run. Prints seconds per stage (charts, html, pdf, xlsx, csv) and
in total per repetition, their medians, the renderer's start-up, file sizes and peak RSS.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import resource
import statistics
import time
from pathlib import Path

import polars as pl

from backroom_reporting.rendering.charts import ChartRenderer
from backroom_reporting.rendering.formats import STAGES, render
from backroom_reporting.rendering.model import FORMATS, Bullet, Chart, Column, KpiCard, Report, Section

LAYOUTS_DIR = Path(__file__).resolve().parents[1] / "report_layouts"
NIGHT = dt.date(2026, 11, 21)
WEEK = dt.date(2026, 11, 16)
HOURS = [21, 22, 23, 0, 1, 2, 3]
BRANDS = ("LA FIESTA", "SHHH!", "NOSTALGIA")


def peak_rss_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # kilobytes on Linux


def summary(rng: random.Random) -> Section:
    return Section(
        "summary",
        "Executive Summary",
        "summary",
        paragraphs=tuple(
            f"The night took £{rng.randint(9_000, 19_000):,} across bar, tables and tickets, with "
            f"{rng.randint(220, 300)} people through the door and the bar busiest after midnight."
            for _ in range(3)
        ),
        bullets=tuple(
            Bullet(text, tone)
            for text, tone in (
                ("Gross revenue was up on the same night last week.", "good"),
                ("The no-show rate is above its target.", "critical"),
                ("Some source rows were quarantined.", "warning"),
                ("Next Saturday is NOSTALGIA: staff the bar for a full house.", "info"),
            )
        ),
    )


def kpis(rng: random.Random) -> Section:
    kinds = [("money", 1_200_000), ("percent", 0.85), ("percent", 0.08), ("count", 280), ("score", 4.5)]
    cards = tuple(
        KpiCard(
            f"kpi_{i}",
            f"KPI number {i + 1}",
            kind,
            target * rng.uniform(0.7, 1.3),
            target,
            rng.choice(["on_target", "warning", "critical", None]),
            rng.choice(["up", "down", "flat"]),
            lower_is_better=i == 2,
            comparisons={"vs last week": rng.uniform(-0.3, 0.3), "vs last year": rng.uniform(-0.3, 0.3)},
        )
        for i, (kind, target) in enumerate(kinds * 2)
    )
    return Section("kpis", "Headline KPIs", "metrics", cards=cards[:8])


def customers_table(rng: random.Random) -> Section:
    rows = 30
    frame = pl.DataFrame(
        {
            "customer": [f"Guest {rng.randint(1000, 9999)}" for _ in range(rows)],
            "last_visit": [NIGHT - dt.timedelta(days=rng.randint(0, 60)) for _ in range(rows)],
            "visits": [rng.randint(1, 40) for _ in range(rows)],
            "spend_pence": [rng.randint(2_000, 400_000) for _ in range(rows)],
            "share": [rng.random() for _ in range(rows)],
            "satisfaction": [rng.choice([None, rng.uniform(2, 5)]) for _ in range(rows)],
        }
    )
    columns = (
        Column("customer", "Customer", "text"),
        Column("last_visit", "Last visit", "date"),
        Column("visits", "Visits", "count", "sum"),
        Column("spend_pence", "Spend", "money", "sum"),
        Column("share", "Share of spend", "percent", "sum"),
        Column("satisfaction", "Satisfaction", "score", "mean"),
    )
    return Section("top_customers", "Top Customers", "table", table=frame, columns=columns, totals=True)


def bookings_table(rng: random.Random) -> Section:
    rows = 30
    frame = pl.DataFrame(
        {
            "table_name": [f"Booth {i + 1}" for i in range(rows)],
            "arrival_hour": [rng.choice(HOURS) for _ in range(rows)],
            "party_size": [rng.randint(2, 12) for _ in range(rows)],
            "deposit_pence": [rng.choice([0, 2_500, 5_000, 10_000]) for _ in range(rows)],
            "tab_pence": [rng.randint(0, 150_000) for _ in range(rows)],
            "status": [rng.choice(["completed", "no_show", "cancelled"]) for _ in range(rows)],
        }
    )
    columns = (
        Column("table_name", "Table", "text"),
        Column("arrival_hour", "Arrival", "hour"),
        Column("party_size", "Party", "count", "sum"),
        Column("deposit_pence", "Deposit", "money", "sum"),
        Column("tab_pence", "Tab", "money", "sum"),
        Column("status", "Status", "text"),
    )
    return Section("bookings", "Table Bookings", "table", table=frame, columns=columns, totals=True)


def chart_section(key: str, title: str, chart: Chart) -> Section:
    return Section(key, title, "chart", chart=chart)


def hourly_frame(rng: random.Random) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "hour": HOURS,
            "bar_pence": [rng.randint(20_000, 450_000) for _ in HOURS],
            "table_pence": [rng.randint(0, 150_000) for _ in HOURS],
            "occupancy": [rng.random() for _ in HOURS],
        }
    )


def trend_frame(rng: random.Random, days: list[dt.date]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "day": days,
            "gross_pence": [rng.randint(300_000, 1_900_000) for _ in days],
            "occupancy": [rng.random() for _ in days],
            **{brand: [rng.randint(0, 300) for _ in days] for brand in BRANDS},
        }
    )


def report(key: str, title: str, kind: str, first: dt.date, last: dt.date, sections: tuple) -> Report:
    return Report(
        key,
        title,
        "bench0000000",
        "backroom-leeds",
        "The Backroom Leeds",
        kind,
        first,
        last,
        title,
        dt.datetime(2026, 11, 23, 6, 15, tzinfo=dt.UTC),
        {"venue_id": "backroom-leeds"},
        sections,
    )


def daily(seed: int) -> Report:
    rng = random.Random(seed)
    hourly = hourly_frame(rng)
    hour = Column("hour", "Hour", "hour")
    saturdays = [NIGHT - dt.timedelta(weeks=w) for w in range(7, -1, -1)]
    return report(
        "daily_summary",
        "Daily Summary",
        "business_day",
        NIGHT,
        NIGHT,
        (
            summary(rng),
            kpis(rng),
            customers_table(rng),
            bookings_table(rng),
            chart_section(
                "revenue_by_hour",
                "Revenue by Hour",
                Chart(
                    "stacked_bar",
                    hourly,
                    hour,
                    (Column("bar_pence", "Bar", "money"), Column("table_pence", "Tables", "money")),
                    "Revenue",
                ),
            ),
            chart_section(
                "occupancy_by_hour",
                "Occupancy by Hour",
                Chart("line", hourly, hour, (Column("occupancy", "Occupancy", "percent"),)),
            ),
            chart_section(
                "saturdays",
                "Last Eight Saturdays",
                Chart(
                    "bar",
                    trend_frame(rng, saturdays),
                    Column("day", "Night", "date"),
                    (Column("gross_pence", "Gross revenue", "money"),),
                ),
            ),
        ),
    )


def weekly(seed: int) -> Report:
    rng = random.Random(seed)
    days = [WEEK + dt.timedelta(days=d) for d in range(7)]
    week = trend_frame(rng, days)
    weeks = trend_frame(rng, [WEEK - dt.timedelta(weeks=w) for w in range(11, -1, -1)])
    hourly = hourly_frame(rng)
    day = Column("day", "Night", "date")
    brands = tuple(Column(b, b, "count") for b in BRANDS)
    return report(
        "weekly_summary",
        "Weekly Summary",
        "business_week",
        WEEK,
        WEEK + dt.timedelta(days=6),
        (
            summary(rng),
            kpis(rng),
            chart_section(
                "revenue_by_night",
                "Revenue by Night",
                Chart("bar", week, day, (Column("gross_pence", "Gross revenue", "money"),), "Revenue"),
            ),
            chart_section(
                "occupancy_by_night",
                "Occupancy by Night",
                Chart("line", week, day, (Column("occupancy", "Occupancy", "percent"),)),
            ),
            chart_section("tickets_by_brand", "Tickets by Brand", Chart("stacked_bar", week, day, brands)),
            chart_section(
                "twelve_weeks",
                "Twelve Weeks of Revenue",
                Chart(
                    "line", weeks, Column("day", "Week", "date"), (Column("gross_pence", "Gross", "money"),)
                ),
            ),
            chart_section(
                "saturday_hours",
                "Saturday Hour by Hour",
                Chart(
                    "stacked_bar",
                    hourly,
                    Column("hour", "Hour", "hour"),
                    (Column("bar_pence", "Bar", "money"), Column("table_pence", "Tables", "money")),
                ),
            ),
        ),
    )


def run(name: str, build, charts: ChartRenderer, repetitions: int) -> None:
    print(f"\n== {name}: {', '.join(FORMATS)}")
    print(f"  {'rep':<5}" + "".join(f"{s:>9}" for s in (*STAGES, "total")))
    totals: dict[str, list[float]] = {s: [] for s in (*STAGES, "total")}
    sizes: dict[str, int] = {}
    for rep in range(repetitions):
        started = time.perf_counter()
        files, seconds = render(build(rep), FORMATS, charts, LAYOUTS_DIR)
        seconds = {**seconds, "total": time.perf_counter() - started}
        sizes = {f.name.rsplit(".", 1)[1]: len(f.content) for f in files}
        for stage, value in seconds.items():
            totals[stage].append(value)
        print(f"  {rep + 1:<5}" + "".join(f"{seconds[s]:>9.3f}" for s in totals))
    print(f"  {'median':<5}" + "".join(f"{statistics.median(v):>9.3f}" for v in totals.values()))
    print("  sizes: " + ", ".join(f"{ext} {size / 1024:,.0f} KiB" for ext, size in sizes.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=5)
    args = parser.parse_args()
    started = time.perf_counter()
    with ChartRenderer() as charts:
        print(f"ChartRenderer start (Chromium): {time.perf_counter() - started:.2f} s")
        run("daily (7 sections, 3 charts, 2 x 30-row tables)", daily, charts, args.repetitions)
        run("weekly (7 sections, 5 charts)", weekly, charts, args.repetitions)
    print(f"\npeak RSS: python {peak_rss_mb(resource.RUSAGE_SELF):,.0f} MB, ", end="")
    print(f"Chromium and other children {peak_rss_mb(resource.RUSAGE_CHILDREN):,.0f} MB")


if __name__ == "__main__":
    main()
