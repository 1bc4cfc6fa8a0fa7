"""The prose of a report, written from the data: executive summary, weekly overview, and
recommendations from explicit rules (docs/reports.md lists them).

Pure functions over frames and KPI cards; no database, no Dagster.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from backroom_reporting.metrics.daily import trading
from backroom_reporting.rendering.formatting import (
    MISSING,
    format_change,
    format_kpi_change,
    format_money,
    format_value,
)
from backroom_reporting.rendering.model import STATUS_LABELS, Bullet, Column, KpiCard, Tone

# A KPI's movement is worth a line in the summary at this relative change or more; a rate's
# at this many percentage points (a no-show rate from 2% to 3% is +50% but one point).
NOTABLE_CHANGE = 0.10
NOTABLE_POINTS = 0.05
# The tone of a line about a KPI follows its status, so the line and the card never disagree.
STATUS_TONES: dict[str | None, Tone] = {
    "on_target": "good",
    "below_target": "info",
    "warning": "warning",
    "critical": "critical",
    None: "info",
}
# Rules R6 and R7: a forecast or an event brand this far from its yardstick is worth acting on.
FORECAST_SHIFT = 0.15
EVENT_DROP = 0.20


def pounds(pence: float | None) -> str:
    """Whole pounds, as prose rounds them: £12,485."""
    return format_money(pence, whole=True)


def percent(fraction: float | None) -> str:
    """A whole percentage, as prose rounds it: 75%."""
    return MISSING if fraction is None else f"{fraction:.0%}"


def show(card: KpiCard, value: float | None) -> str:
    return format_value(value, card.kind, short=True)


def day_name(day: dt.date) -> str:
    return f"{day:%A} {day.day} {day:%B}"


@dataclass(frozen=True)
class Warnings:
    """Data-quality facts about the period, for the summary's warnings."""

    quarantined_rows: int = 0
    anomalies: pl.DataFrame | None = None  # business_date, gross_revenue_pence, mean, z


def warning_bullets(warnings: Warnings) -> list[Bullet]:
    bullets = []
    if warnings.quarantined_rows:
        bullets.append(
            Bullet(
                f"{warnings.quarantined_rows:,} source rows for this period were quarantined and are not "
                "in these figures (table raw_quarantine has the reasons).",
                "warning",
            )
        )
    if warnings.anomalies is not None:
        bullets += [
            Bullet(f"Unusual revenue {_anomaly(row)}.", "warning")
            for row in warnings.anomalies.iter_rows(named=True)
        ]
    return bullets


def _anomaly(row: dict) -> str:
    where = f"at {row['venue_name']} " if row.get("venue_name") else ""
    return (
        f"{where}on {day_name(row['business_date'])}: {pounds(row['gross_revenue_pence'])} against a usual "
        f"{pounds(row['mean'])} for that night ({row['z']:+.1f} standard deviations)"
    )


def standing(card: KpiCard) -> str:
    """The KPI's value with its target and status, as every line about it opens:
    "Spend per head £130.87 (target £150.00, below target)"."""
    target = f"target {show(card, card.target)}, " if card.target is not None else ""
    return f"{card.name} {show(card, card.value)} ({target}{STATUS_LABELS[card.status].lower()})"


def kpi_change(card: KpiCard, comparison: str) -> str:
    """The card's change against `comparison` in the KPI's units (points, £ and %, counts)."""
    return format_kpi_change(card.value, card.earlier.get(comparison), card.kind)


def _notability(card: KpiCard, comparison: str) -> float | None:
    """How far past its notable line a movement is (1.0 = at it): points for rates, else relative."""
    if card.kind == "percent":
        earlier = card.earlier.get(comparison)
        if card.value is None or earlier is None:
            return None
        return abs(card.value - earlier) / NOTABLE_POINTS
    change = card.comparisons.get(comparison)
    return None if change is None else abs(change) / NOTABLE_CHANGE


def movements(cards: list[KpiCard], comparison: str, limit: int = 3) -> list[Bullet]:
    """The KPIs that moved most against `comparison`. A line's tone is its KPI's status (as on
    its card), and an on-target KPI that moved the wrong way is a note, not good news."""
    moved = [(n, card) for card in cards if (n := _notability(card, comparison)) is not None and n >= 1]
    bullets = []
    for _, card in sorted(moved, key=lambda m: (-m[0], m[1].key))[:limit]:
        rose = (
            card.value > card.earlier[comparison]
            if card.kind == "percent"
            else card.comparisons[comparison] > 0
        )
        welcome = rose != card.lower_is_better
        tone = STATUS_TONES[card.status]
        if tone == "good" and not welcome:
            tone = "info"
        bullets.append(Bullet(f"{standing(card)}: {kpi_change(card, comparison)} {comparison}.", tone))
    return bullets


def _status_bullets(cards: list[KpiCard]) -> list[Bullet]:
    return [
        Bullet(f"{standing(card)}.", STATUS_TONES[card.status])
        for card in cards
        if card.status in ("warning", "critical")
    ]


def executive_summary(
    venue: str,
    day: dt.date,
    night: dict | None,
    same_night_last_week: dict | None,
    event_names: list[str],
    cards: list[KpiCard],
    warnings: Warnings,
) -> tuple[list[str], list[Bullet]]:
    """The daily report's opening: headline figures, the biggest movements against the same
    night last week, KPIs off target, and data warnings."""
    if night is None or not _traded(night):
        return [f"{venue} did not trade on {day_name(day)} {day.year}."], warning_bullets(warnings)
    what = " and ".join(event_names) if event_names else "bar and tables only"
    gross = night["gross_revenue_pence"]
    against = " (the same night last week did not trade)"
    if same_night_last_week and _traded(same_night_last_week) and same_night_last_week["gross_revenue_pence"]:
        change = gross / same_night_last_week["gross_revenue_pence"] - 1
        against = f" ({format_change(change)} on the same night last week)"
    peak = ""
    if night["peak_hour"] is not None:
        rate = (
            f", {percent(night['occupancy_rate'])} of capacity" if night["occupancy_rate"] is not None else ""
        )
        peak = f", peaking at {night['peak_occupancy']:,} inside at {night['peak_hour']:02d}:00{rate}"
    paragraphs = [
        f"{day_name(day)}, {what}: gross revenue {pounds(gross)}{against} (bar "
        f"{pounds(night['bar_revenue_pence'])}, tables {pounds(night['table_revenue_pence'])} and the "
        f"night's tickets {pounds(night['ticket_revenue_pence'])}), net {pounds(night['net_revenue_pence'])} "
        f"after refunds. {night['check_ins']:,} admissions{peak}.",
        f"{plural(night['bookings_completed'], 'table')} seated {plural(night['covers'], 'guest')}"
        f"{_no_shows(night)}; {plural(night['birthdays'], 'birthday')} and "
        f"{plural(night['anniversaries'], 'anniversary', 'anniversaries')}. "
        f"{night['visitors']:,} known customers visited, {night['new_customers']:,} of them for the "
        f"first time{_satisfaction(night)}.",
    ]
    bullets = movements(cards, "vs same night last week") + _status_bullets(cards) + warning_bullets(warnings)
    return paragraphs, bullets


def chart_total(kind: str, frame: pl.DataFrame, series: tuple[Column, ...]) -> str:
    """What a stacked chart of money adds up to: "In all: Bar £1,200.00 + Tables £300.00 =
    £1,500.00." Empty for other charts (a forecast and its range do not add up)."""
    if kind != "stacked_bar" or any(c.kind != "money" for c in series):
        return ""
    totals = {c.label: int(frame[c.key].fill_null(0).sum()) for c in series}
    parts = " + ".join(f"{label} {format_money(total)}" for label, total in totals.items())
    return f"In all: {parts} = {format_money(sum(totals.values()))}."


def plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else many or one + 's'}"


def _traded(row: dict) -> bool:
    return bool(row["check_ins"] or row["bar_revenue_pence"] or row["table_revenue_pence"])


def _no_shows(row: dict) -> str:
    if not row["bookings_confirmed"]:
        return ""
    return (
        f", with {plural(row['no_shows'], 'no-show')} ({percent(row['no_show_rate'])} of confirmed bookings)"
    )


def _satisfaction(row: dict) -> str:
    if row.get("avg_satisfaction") is None:
        return ""
    return (
        f"; feedback averaged {row['avg_satisfaction']:.1f} out of 5 from {row['feedback_count']:,} responses"
    )


def weekly_overview(
    venue: str,
    week_start: dt.date,
    week: dict | None,
    busiest: dict | None,
    events: int,
    events_gross_pence: int,
    cards: list[KpiCard],
    warnings: Warnings,
) -> tuple[list[str], list[Bullet]]:
    """The weekly report's opening: the week's totals against the week before, what its
    events took and what the nights without one took (so the events table reconciles with
    the week), its best night, KPIs off target and data warnings."""
    label = f"the week of {day_name(week_start)} {week_start.year}"
    if week is None or not week["trading_days"]:
        return [f"{venue} did not trade in {label}."], warning_bullets(warnings)
    change = week["gross_revenue_pence_change"]
    versus = f" ({format_change(change)} on the week before)" if change is not None else ""
    paragraphs = [
        f"In {label} {venue} traded on {week['trading_days']} nights and took "
        f"{pounds(week['gross_revenue_pence'])} gross{versus}, {pounds(week['net_revenue_pence'])} net of "
        f"refunds: {pounds(week['avg_daily_gross_revenue_pence'])} a trading night. "
        f"{week['check_ins']:,} admissions, average occupancy "
        f"{percent(week['avg_occupancy_rate'])}; {week['bookings_completed']:,} tables seated "
        f"{week['covers']:,} guests.",
    ]
    without = week["gross_revenue_pence"] - events_gross_pence
    split = f"{plural(events, 'event')} took {pounds(events_gross_pence)}"
    if without:
        split += f" and the nights without one {pounds(without)}"
    paragraphs[0] += f" {split[0].upper()}{split[1:]}."
    if busiest is not None:
        paragraphs.append(
            f"The best night was {day_name(busiest['business_date'])} with "
            f"{pounds(busiest['gross_revenue_pence'])} and {busiest['check_ins']:,} admissions."
        )
    bullets = movements(cards, "vs last week") + _status_bullets(cards) + warning_bullets(warnings)
    return paragraphs, bullets


def group_overview(
    label: str, daily: pl.DataFrame, venue_names: dict[str, str], warnings: Warnings
) -> tuple[list[str], list[Bullet]]:
    """A group report's opening: how many of the venues traded in the period, what they took
    together and by stream, their admissions and guests, and the venues that took most and
    least; then data warnings (naming the venue of an unusual night)."""
    traded = daily.filter(trading())
    open_venues = traded["venue_id"].unique()
    count = plural(len(venue_names), "venue")
    if traded.is_empty():
        return [f"{label}: none of the {count} traded."], warning_bullets(warnings)
    money = {
        c: int(daily[c].sum()) for c in ("gross_revenue_pence", "bar_revenue_pence", "table_revenue_pence")
    }
    tickets = int(daily["ticket_revenue_pence"].sum())
    paragraphs = [
        f"{label}: {open_venues.len()} of the {count} traded and together took "
        f"{pounds(money['gross_revenue_pence'])} gross (bar {pounds(money['bar_revenue_pence'])}, tables "
        f"{pounds(money['table_revenue_pence'])}, tickets {pounds(tickets)}), net "
        f"{pounds(int(daily['net_revenue_pence'].sum()))} after refunds. "
        f"{int(daily['check_ins'].sum()):,} admissions; {int(daily['bookings_completed'].sum()):,} tables "
        f"seated {int(daily['covers'].sum()):,} guests.",
    ]
    by_venue = (
        traded.group_by("venue_id")
        .agg(pl.col("gross_revenue_pence").sum())
        .sort("gross_revenue_pence", "venue_id")
    )
    if by_venue.height > 1:
        top, bottom = by_venue.row(-1, named=True), by_venue.row(0, named=True)
        most, least = (venue_names.get(r["venue_id"], r["venue_id"]) for r in (top, bottom))
        paragraphs.append(
            f"{most} took the most, {pounds(top['gross_revenue_pence'])}; {least} the least of those "
            f"that traded, {pounds(bottom['gross_revenue_pence'])}."
        )
    return paragraphs, warning_bullets(warnings)


def recommendations(
    cards: list[KpiCard],
    daily: pl.DataFrame,
    forecast_next_week_pence: float | None,
    events: pl.DataFrame,
    vip_at_risk: int,
    warnings: Warnings,
) -> list[Bullet]:
    """What to do next, from the rules R1-R9 of docs/reports.md, most urgent first, in plain
    words naming the night and the figure; each bullet keeps its rule as data (`rule`).

    daily: the period's daily_aggregations rows; events: its event_performance_analytics
    rows; forecast_next_week_pence: forecast gross revenue of the next seven days.
    """
    advice: list[Bullet] = []
    for card in cards:
        worse = "up" if card.lower_is_better else "down"
        if card.status == "critical":
            advice.append(Bullet(f"{standing(card)}: act on this first.", "critical", "R1"))
        elif card.status == "warning" and card.trend == worse:
            advice.append(Bullet(f"{standing(card)}, and getting worse: keep an eye on it.", "warning", "R2"))
    no_shows = next((c for c in cards if c.key == "no_show_rate"), None)
    if no_shows is not None and no_shows.status in ("warning", "critical"):
        advice.append(
            Bullet(
                f"{show(no_shows, no_shows.value)} of confirmed table bookings did not turn up: text every "
                "table booking the day before and take a deposit on all of them.",
                "warning",
                "R3",
            )
        )
    advice += _quiet_weekdays(daily)
    if warnings.anomalies is not None:
        advice += [
            Bullet(f"Look into the revenue {_anomaly(row)}.", "warning", "R5")
            for row in warnings.anomalies.iter_rows(named=True)
        ]
    advice += _forecast_advice(daily, forecast_next_week_pence)
    advice += _faded_events(events)
    if warnings.quarantined_rows:
        advice.append(
            Bullet(
                f"{warnings.quarantined_rows:,} rows from the booking system could not be read this period "
                "and are missing from these figures: have them corrected at the source (table "
                "raw_quarantine lists them).",
                "warning",
                "R8",
            )
        )
    if vip_at_risk:
        advice.append(
            Bullet(
                f"Call or message the {vip_at_risk} VIP customer{'s' if vip_at_risk != 1 else ''} who "
                f"{'has' if vip_at_risk == 1 else 'have'} not been in for six weeks or more.",
                "info",
                "R9",
            )
        )
    if not advice:
        advice.append(
            Bullet("No action needed: every KPI is on target and nothing unusual happened.", "good")
        )
    order = {"critical": 0, "warning": 1, "info": 2, "good": 3}
    return sorted(advice, key=lambda b: order[b.tone])


def _faded_events(events: pl.DataFrame) -> list[Bullet]:
    """R7: an event that drew 20% fewer people than its brand's 4-week average."""
    faded = events.filter(pl.col("attendance_change_vs_4_week_avg") <= -EVENT_DROP)
    return [
        Bullet(
            f"{row['brand']} on {day_name(row['business_date'])} drew {row['attendance']:,} people, "
            f"{percent(-row['attendance_change_vs_4_week_avg'])} below its 4-week average of "
            f"{row['avg_attendance_previous_4_weeks']:,.0f}, and took {pounds(row['gross_revenue_pence'])}: "
            "refresh the line-up or the promotion.",
            "warning",
            "R7",
        )
        for row in faded.iter_rows(named=True)
    ]


def _forecast_advice(daily: pl.DataFrame, forecast_next_week_pence: float | None) -> list[Bullet]:
    """R6: next week's forecast far from this period's last seven nights."""
    if forecast_next_week_pence is None or daily.is_empty():
        return []
    last_week = daily.filter(pl.col("business_date") > daily["business_date"].max() - dt.timedelta(days=7))
    actual = float(last_week["gross_revenue_pence"].sum())
    if actual <= 0:
        return []
    shift = forecast_next_week_pence / actual - 1
    if shift <= -FORECAST_SHIFT:
        return [
            Bullet(
                f"Next week is forecast {percent(-shift)} below the last seven nights "
                f"({pounds(forecast_next_week_pence)}): trim rotas and push promotions.",
                "warning",
                "R6",
            )
        ]
    if shift >= FORECAST_SHIFT:
        return [
            Bullet(
                f"Next week is forecast {percent(shift)} above the last seven nights "
                f"({pounds(forecast_next_week_pence)}): add door and bar staff.",
                "info",
                "R6",
            )
        ]
    return []


def _quiet_weekdays(daily: pl.DataFrame) -> list[Bullet]:
    """R4: a weekday whose trading nights averaged under 40% occupancy over the period."""
    trading = daily.filter(pl.col("check_ins") > 0)
    if trading.is_empty():
        return []
    quiet = (
        trading.group_by(pl.col("business_date").dt.weekday().alias("weekday"))
        .agg(
            pl.col("occupancy_rate").mean().alias("occupancy"),
            pl.col("business_date").first(),
            pl.len().alias("nights"),
        )
        .filter(pl.col("occupancy") < 0.40)
        .sort("weekday")
    )
    return [
        Bullet(
            (
                f"{day_name(row['business_date'])} peaked at {percent(row['occupancy'])} of capacity"
                if row["nights"] == 1
                else f"{row['business_date']:%A} nights peaked at {percent(row['occupancy'])} of capacity "
                "on average"
            )
            + f": try a promotion or a themed night on {row['business_date']:%A}s.",
            "info",
            "R4",
        )
        for row in quiet.iter_rows(named=True)
    ]


def listed(items: list[str]) -> str:
    """Items in prose: "a", "a and b", "a, b and c"."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def forecast_outlook(
    forecast: pl.DataFrame, week_gross_pence: int, holidays: dict[dt.date, str]
) -> list[str]:
    """The forecast chart in words: next week's forecast against the reported week's takings,
    the nights left off the chart as closed, and the bank holidays ahead.

    forecast: the revenue_forecast rows made at the end of the reported week (forecast_date,
    horizon_days, expected_to_trade, predicted_pence). holidays: bank holidays by date.
    """
    if forecast.is_empty():
        return [f"No forecast was made at the end of this week; this week took {pounds(week_gross_pence)}."]
    next_week = forecast.filter(pl.col("horizon_days") <= 7, pl.col("expected_to_trade"))
    change = (
        (next_week["predicted_pence"].sum() - week_gross_pence) / week_gross_pence
        if week_gross_pence
        else None
    )
    versus = f" ({format_change(change)})" if change is not None else ""
    words = [
        f"Next week {pounds(next_week['predicted_pence'].sum())} forecast over "
        f"{plural(next_week.height, 'open night')}, "
        f"against this week {pounds(week_gross_pence)} taken{versus}."
    ]
    closed = forecast.filter(~pl.col("expected_to_trade"))
    weekdays = sorted({d.weekday() for d in closed["forecast_date"] if d not in holidays})
    shut = [f"{dt.date(2024, 1, 1 + w):%A}s" for w in weekdays]  # 1 January 2024 was a Monday
    shut += [f"{holidays[d]} ({day_name(d)})" for d in closed["forecast_date"] if d in holidays]
    if shut:
        words.append(f"Not plotted, as the venue is not expected to trade: {listed(shut)}.")
    open_holidays = forecast.filter(
        pl.col("expected_to_trade"), pl.col("forecast_date").is_in(list(holidays))
    )
    if open_holidays.height:
        named = [
            f"{holidays[r['forecast_date']]} ({day_name(r['forecast_date'])}) {pounds(r['predicted_pence'])}"
            for r in open_holidays.iter_rows(named=True)
        ]
        words.append(f"Bank holidays in the forecast: {listed(named)}.")
    words.append(
        "The forecast carries the recent level forward with each night of the week's usual share "
        "and a bank-holiday effect learnt from past ones, so ordinary weeks look alike; the "
        "range is where 80% of nights should fall, widening with the horizon."
    )
    return words
