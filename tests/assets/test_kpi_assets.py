"""kpi_definitions, kpi_calculations and report_metrics_cache, materialised through Dagster
against real SQLite and PostgreSQL.

The upstream tables are written directly: a year and more of hand-built daily rows with
their weekly and monthly totals. Expected KPI values are computed here from those daily
rows, in plain Python, never with the project's own functions.
"""

import datetime as dt
import hashlib
import statistics

import dagster as dg
import polars as pl
import pytest
import yaml

from backroom_reporting.definitions import defs
from backroom_reporting.metrics.business_time import BusinessWindow
from backroom_reporting.metrics.kpis import CATALOGUE
from backroom_reporting.metrics.metrics_cache import live_entry
from backroom_reporting.warehouse.tables.aggregations import (
    SUMMARY_TOTALS,
    daily_aggregations,
    monthly_summary,
    weekly_summary,
)
from backroom_reporting.warehouse.tables.kpis import kpi_calculations, kpi_definitions, report_metrics_cache
from backroom_reporting.warehouse.types import table_schema

# Monday 23 March to Tuesday 31 March 2026: the spring-forward night (28th, 23 hours) inside,
# business week 23-29 March and the month of March end in it; the week of 30 March does not.
WINDOW = BusinessWindow(dt.date(2026, 3, 23), dt.date(2026, 3, 31))
HISTORY_START = dt.date(2025, 2, 1)
KPI_ASSETS = ["kpi_definitions", "kpi_calculations", "report_metrics_cache"]
CATALOGUE_KPIS = yaml.safe_load(CATALOGUE.read_bytes())["kpis"]
NO_BOOKINGS_NIGHT = dt.date(2026, 3, 26)  # open, but not one table booked


def leeds_day(i: int, day: dt.date) -> dict | None:
    """Open Wednesday to Saturday; closed days have online ticket sales only, and every
    other Monday nothing at all (no row)."""
    open_night = day.weekday() in (2, 3, 4, 5)
    if day.weekday() == 0 and i % 2 == 0:
        return None
    bar = 150_000 + (i * 7919) % 250_000 if open_night else 0
    table = 60_000 + (i * 104_729) % 120_000 if open_night else 0
    ticket = 15_000 + (i * 31) % 40_000
    refunds = (i * 13) % 5 * 1_000
    total = 4 + i % 11 if open_night and day != NO_BOOKINGS_NIGHT else 0
    cancelled, no_shows = min(total, i % 3), min(total, i % 3, i % 4)
    completed = total - cancelled - no_shows
    check_ins = 140 + (i * 37) % 180 if open_night else 0
    peak = min(300, check_ins * 4 // 5)
    visitors = 30 + i % 40 if open_night else 0
    new = min(visitors, visitors // 3 + i % 5)
    feedback = i % 6
    return dict(
        venue_id="leeds",
        business_date=day,
        bar_revenue_pence=bar,
        table_revenue_pence=table,
        ticket_revenue_pence=ticket,
        gross_revenue_pence=bar + table + ticket,
        deposits_pence=completed * 6_000,
        refunds_pence=refunds,
        net_revenue_pence=bar + table + ticket - refunds,
        ticket_sales_taken_pence=ticket,
        bookings_total=total,
        bookings_confirmed=total - cancelled,
        bookings_cancelled=cancelled,
        no_shows=no_shows,
        bookings_completed=completed,
        covers=completed * 5 + i % 4,
        no_show_rate=no_shows / (total - cancelled) if total - cancelled else None,
        check_ins=check_ins,
        check_outs=check_ins,
        peak_occupancy=peak,
        occupancy_rate=peak / 300,
        peak_hour=23 if open_night else None,
        new_customers=new,
        returning_customers=visitors - new,
        vip_customers=i % 6 if open_night else 0,
        birthdays=i % 2,
        anniversaries=0,
        avg_satisfaction=3.0 + (i % 21) / 10 if feedback else None,
        visitors=visitors,
        tickets_sold=ticket // 1_000,
        feedback_count=feedback,
        # Some nights a table sits a second party.
        tables_used=completed - (i % 3 if completed > 2 else 0),
        table_turnover=completed / (completed - (i % 3 if completed > 2 else 0)) if completed else None,
        spend_per_head_pence=(bar + table + ticket) / visitors if visitors else None,
        avg_party_size=(completed * 5 + i % 4) / completed if completed else None,
        avg_deposit_pence=6_000.0 if completed else None,
    )


def history() -> list[dict]:
    days = [HISTORY_START + dt.timedelta(days=i) for i in range((WINDOW.last_day - HISTORY_START).days + 1)]
    rows = [leeds_day(i, day) for i, day in enumerate(days)]
    # A second venue, open only in the window: nothing to compare with.
    york = [
        {**row, "venue_id": "york"}
        for row in rows
        if row and row["business_date"] >= WINDOW.first_day and row["check_ins"]
    ]
    return [r for r in rows if r] + york


def totals(days: list[dict], start_column: str, start: dt.date, end: dt.date) -> dict:
    """A weekly/monthly summary row: the daily totals, trading days and the means KPIs read."""
    trading = [d for d in days if d["check_ins"] or d["bar_revenue_pence"] or d["table_revenue_pence"]]
    feedback = sum(d["feedback_count"] for d in days)
    row = {c: sum(d[c] for d in days) for c in SUMMARY_TOTALS}
    return row | {
        "venue_id": days[0]["venue_id"],
        start_column: start,
        start_column.replace("start", "end"): end,
        "through_date": end,
        "trading_days": len(trading),
        "peak_occupancy": max(d["peak_occupancy"] for d in days),
        "avg_occupancy_rate": statistics.mean(d["occupancy_rate"] for d in trading) if trading else None,
        "avg_satisfaction": (
            sum(d["avg_satisfaction"] * d["feedback_count"] for d in days if d["feedback_count"]) / feedback
            if feedback
            else None
        ),
    }


def summaries(rows: list[dict], period: str) -> list[dict]:
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        day = row["business_date"]
        start = day - dt.timedelta(days=day.weekday()) if period == "week" else day.replace(day=1)
        groups.setdefault((row["venue_id"], start), []).append(row)
    out = []
    for (_, start), days in groups.items():
        if period == "week":
            end = start + dt.timedelta(days=6)
        else:
            end = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
        out.append(totals(days, f"{period}_start", start, end))
    return out


def frame(rows: list[dict], table) -> pl.DataFrame:
    schema = table_schema(table)
    return pl.DataFrame([{c: row.get(c) for c in schema} for row in rows], schema=schema)


def days_of(rows: list[dict], venue: str, first: dt.date, last: dt.date) -> list[dict]:
    return [r for r in rows if r["venue_id"] == venue and first <= r["business_date"] <= last]


def ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def trading_nights(days: list[dict]) -> int:
    return sum(1 for d in days if d["check_ins"] or d["bar_revenue_pence"] or d["table_revenue_pence"])


@pytest.fixture
def upstream(databases):
    rows = history()
    with databases.warehouse as warehouse:
        warehouse.replace(daily_aggregations, frame(rows, daily_aggregations))
        warehouse.replace(weekly_summary, frame(summaries(rows, "week"), weekly_summary))
        warehouse.replace(monthly_summary, frame(summaries(rows, "month"), monthly_summary))
    return rows


def read(databases, table) -> pl.DataFrame:
    """A table as it is now, through a connection of its own (the run wrote through another)."""
    with databases.warehouse as warehouse:
        return warehouse.read_table(table)


def calculated(databases) -> dict[tuple, dict]:
    rows = read(databases, kpi_calculations).to_dicts()
    return {(r["venue_id"], r["period_type"], r["period_start"], r["kpi_key"]): r for r in rows}


def status(value: float | None, kpi: dict) -> str | None:
    if value is None:
        return None
    sign = 1 if kpi["direction"] == "higher_better" else -1
    if sign * value <= sign * kpi["critical"]:
        return "critical"
    if sign * value <= sign * kpi["warning"]:
        return "warning"
    if sign * value >= sign * kpi["target"]:
        return "on_target"
    return "below_target"


def test_the_catalogue_is_loaded_one_row_per_kpi_with_its_version_and_hash(databases, materialise):
    [stage] = materialise(WINDOW, selection=["kpi_definitions"])
    stored = read(databases, kpi_definitions).sort("position")
    data = CATALOGUE.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    assert stored["kpi_key"].to_list() == [k["key"] for k in CATALOGUE_KPIS]
    assert set(stored["catalogue_hash"]) == {digest}
    assert set(stored["catalogue_version"]) == {yaml.safe_load(data)["version"]}
    for kpi, row in zip(CATALOGUE_KPIS, stored.iter_rows(named=True), strict=True):
        assert (row["target"], row["warning_threshold"], row["critical_threshold"]) == (
            kpi["target"],
            kpi["warning"],
            kpi["critical"],
        )
        assert row["cache_ttl_minutes"] == kpi.get("cache_ttl_minutes")
    # The asset's code version is the file's hash: editing the file makes it (and its readers) stale.
    node = defs.resolve_asset_graph().get(dg.AssetKey("kpi_definitions"))
    assert node.code_version == digest
    # Its data version is the hash too, so what reads it goes stale when the catalogue changes.
    [materialization] = stage.materializations
    assert materialization.tags["dagster/data_version"] == digest


def test_kpis_per_day_week_and_month_of_a_window(databases, upstream, materialise):
    rows = upstream
    # Rows outside the window, and a retired KPI's row inside it: only the latter may go.
    outside = dt.date(2026, 3, 22)
    kept = {
        "venue_id": "leeds",
        "period_type": "day",
        "period_start": outside,
        "kpi_key": "daily_revenue",
        "period_end": outside,
        "trailing_periods": 0,
        "catalogue_hash": "earlier",
        "computed_at": dt.datetime(2026, 3, 23, 6, tzinfo=dt.UTC),
    }
    retired = kept | {"period_start": WINDOW.first_day, "period_end": WINDOW.first_day, "kpi_key": "retired"}
    with databases.warehouse as warehouse:
        warehouse.replace(kpi_calculations, frame([kept, retired], kpi_calculations))

    results = materialise(WINDOW, selection=KPI_ASSETS)
    assert [f for r in results for f in r.check_failures] == []

    stored = calculated(databases)
    kpi = {k["key"]: k for k in CATALOGUE_KPIS}
    days_only = {k["key"] for k in CATALOGUE_KPIS if "day" in k["metric"] and k["metric"]["summary"] is None}
    venue_days = {(r["venue_id"], r["business_date"]) for r in rows if WINDOW.first_day <= r["business_date"]}
    expected_keys = (
        {(v, "day", d, k) for v, d in venue_days for k in kpi}
        | {(v, "week", dt.date(2026, 3, 23), k) for v in ("leeds", "york") for k in kpi if k not in days_only}
        | {(v, "month", dt.date(2026, 3, 1), k) for v in ("leeds", "york") for k in kpi if k not in days_only}
        | {("leeds", "day", outside, "daily_revenue")}
    )
    assert set(stored) == expected_keys
    assert stored["leeds", "day", outside, "daily_revenue"]["catalogue_hash"] == "earlier"

    # Saturday 28 March, the 23-hour night.
    saturday = dt.date(2026, 3, 28)
    night = days_of(rows, "leeds", saturday, saturday)[0]
    revenue = stored["leeds", "day", saturday, "daily_revenue"]

    def gross(day: dt.date) -> int:
        return days_of(rows, "leeds", day, day)[0]["gross_revenue_pence"]

    assert revenue["value"] == gross(saturday)
    assert revenue["value_week_ago"] == gross(dt.date(2026, 3, 21))
    assert revenue["value_month_ago"] == gross(dt.date(2026, 2, 28))
    assert revenue["value_year_ago"] == gross(dt.date(2025, 3, 29))
    week_ago = gross(dt.date(2026, 3, 21))
    assert revenue["change_week_ago"] == pytest.approx((gross(saturday) - week_ago) / week_ago)
    saturdays = [gross(saturday - dt.timedelta(weeks=k)) for k in range(1, 9)]
    assert revenue["trailing_periods"] == 8
    assert (revenue["trailing_min"], revenue["trailing_max"]) == (min(saturdays), max(saturdays))
    assert revenue["trailing_mean"] == pytest.approx(statistics.mean(saturdays))
    assert revenue["trailing_stddev"] == pytest.approx(statistics.stdev(saturdays))
    assert revenue["status"] == status(night["gross_revenue_pence"], kpi["daily_revenue"])
    assert revenue["expires_at"] is None  # real-time

    no_shows = stored["leeds", "day", saturday, "no_show_rate"]
    assert no_shows["value"] == pytest.approx(ratio(night["no_shows"], night["bookings_confirmed"]))
    assert no_shows["expires_at"] - no_shows["computed_at"] == dt.timedelta(
        minutes=kpi["no_show_rate"]["cache_ttl_minutes"]
    )

    # Open, with no bookings: rates over bookings have no value and no status.
    empty = stored["leeds", "day", NO_BOOKINGS_NIGHT, "no_show_rate"]
    assert (empty["value"], empty["status"]) == (None, None)
    assert stored["leeds", "day", NO_BOOKINGS_NIGHT, "daily_revenue"]["value"] is not None

    # Tuesday 24 March: closed, online sales only. Not judged against an open night's targets.
    tuesday = dt.date(2026, 3, 24)
    for key in ("daily_revenue", "net_revenue", "occupancy_rate", "spend_per_head", "bookings"):
        closed = stored["leeds", "day", tuesday, key]
        assert (closed["value"], closed["status"]) == (None, None), key

    # The week of 23 March, from its totals.
    week_days = days_of(rows, "leeds", dt.date(2026, 3, 23), dt.date(2026, 3, 29))
    week = stored["leeds", "week", dt.date(2026, 3, 23), "no_show_rate"]
    week_rate = ratio(sum(d["no_shows"] for d in week_days), sum(d["bookings_confirmed"] for d in week_days))
    daily_rates = [d["no_show_rate"] for d in week_days if d["no_show_rate"] is not None]
    assert week["value"] == pytest.approx(week_rate)
    assert week_rate != pytest.approx(statistics.mean(daily_rates))  # the design matters here
    assert week["period_end"] == dt.date(2026, 3, 29)
    assert week["status"] == status(week["value"], kpi["no_show_rate"])
    week_revenue = stored["leeds", "week", dt.date(2026, 3, 23), "daily_revenue"]
    assert week_revenue["value"] == pytest.approx(
        sum(d["gross_revenue_pence"] for d in week_days) / trading_nights(week_days)
    )
    year_ago_days = days_of(rows, "leeds", dt.date(2025, 3, 24), dt.date(2025, 3, 30))
    assert week_revenue["value_year_ago"] == pytest.approx(
        sum(d["gross_revenue_pence"] for d in year_ago_days) / trading_nights(year_ago_days)
    )
    previous = days_of(rows, "leeds", dt.date(2026, 3, 16), dt.date(2026, 3, 22))
    assert week_revenue["value_week_ago"] == pytest.approx(
        sum(d["gross_revenue_pence"] for d in previous) / trading_nights(previous)
    )

    # March, from its totals; February and March 2025 to compare with; no "week ago".
    month = stored["leeds", "month", dt.date(2026, 3, 1), "booking_conversion"]
    march = days_of(rows, "leeds", dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    february = days_of(rows, "leeds", dt.date(2026, 2, 1), dt.date(2026, 2, 28))
    march_2025 = days_of(rows, "leeds", dt.date(2025, 3, 1), dt.date(2025, 3, 31))

    def conversion(days):
        return ratio(sum(d["bookings_completed"] for d in days), sum(d["bookings_total"] for d in days))

    assert month["value"] == pytest.approx(conversion(march))
    assert month["value_month_ago"] == pytest.approx(conversion(february))
    assert month["value_year_ago"] == pytest.approx(conversion(march_2025))
    assert month["value_week_ago"] is None
    # History starts in February 2025: March 2025 .. February 2026 are the trailing twelve.
    assert month["trailing_periods"] == 12
    occupancy = stored["leeds", "month", dt.date(2026, 3, 1), "occupancy_rate"]
    assert occupancy["value"] == pytest.approx(
        statistics.mean(d["occupancy_rate"] for d in march if d["check_ins"])
    )

    # York opened in the window: values, but nothing to compare with.
    york = stored["york", "day", saturday, "daily_revenue"]
    assert york["value"] == night["gross_revenue_pence"]
    assert (york["value_week_ago"], york["trailing_periods"], york["trend"]) == (None, 0, None)

    # The scorecards: one per venue and period, expiring with the shortest cached TTL.
    entries = read(databases, report_metrics_cache)
    keys = {(v, "day", d) for v, d in venue_days} | {
        (v, p, s)
        for v in ("leeds", "york")
        for p, s in (("week", dt.date(2026, 3, 23)), ("month", dt.date(2026, 3, 1)))
    }
    assert set(entries["cache_key"]) == {f"kpi_scorecard/{v}/{p}/{s.isoformat()}" for v, p, s in keys}
    ttl = min(k["cache_ttl_minutes"] for k in CATALOGUE_KPIS if k["calculation"] == "cached")
    computed_at = entries["computed_at"][0]
    assert (entries["expires_at"] - entries["computed_at"]).unique().to_list() == [dt.timedelta(minutes=ttl)]
    with databases.warehouse as warehouse:
        scorecard = live_entry(warehouse, "kpi_scorecard/leeds/day/2026-03-28", computed_at)
        expired = live_entry(
            warehouse, "kpi_scorecard/leeds/day/2026-03-28", computed_at + dt.timedelta(minutes=ttl)
        )
    assert scorecard["kpis"]["no_show_rate"]["value"] == pytest.approx(no_shows["value"])
    assert "daily_revenue" not in scorecard["kpis"]  # real-time
    assert expired is None


def test_a_sunday_rewrites_its_day_and_its_week_and_nothing_else(databases, upstream, materialise):
    materialise(WINDOW, selection=KPI_ASSETS)
    before = calculated(databases)
    sunday = dt.date(2026, 3, 29)
    materialise(BusinessWindow(sunday, sunday), selection=["kpi_calculations", "report_metrics_cache"])
    after = calculated(databases)
    assert after.keys() == before.keys()
    rewritten = {k for k in after if after[k]["computed_at"] != before[k]["computed_at"]}
    assert rewritten == {
        k for k in after if (k[1], k[2]) in {("day", sunday), ("week", dt.date(2026, 3, 23))}
    }
    for key in rewritten:
        assert {c: v for c, v in after[key].items() if c not in ("computed_at", "expires_at")} == {
            c: v for c, v in before[key].items() if c not in ("computed_at", "expires_at")
        }
