"""From a layout, a period and a subscription's filters to a Report: data, prose, charts.

Reads only the warehouse. Before building, the blocking checks of daily_aggregations are
evaluated again on the period's rows (the same functions the asset runs), so a report
never renders from data that fails them, whenever and however it is asked for.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import polars as pl
import sqlalchemy as sa

from backroom_reporting.checks import aggregations as checks
from backroom_reporting.metrics import kpis as kpi_maths
from backroom_reporting.metrics.business_time import (
    VENUE_TIMEZONE,
    BusinessWindow,
    bank_holidays,
    with_business_date,
)
from backroom_reporting.metrics.daily import trading
from backroom_reporting.metrics.hourly import hours_between
from backroom_reporting.metrics.metrics_cache import period_kpis
from backroom_reporting.metrics.staff import top_performers
from backroom_reporting.rendering import content
from backroom_reporting.rendering.closed_night import Outlook, closed_night_note
from backroom_reporting.rendering.layouts import Layout, Query, SectionLayout
from backroom_reporting.rendering.model import (
    GROUP,
    GROUP_NAME,
    STATUS_LABELS,
    Chart,
    Column,
    KpiCard,
    Report,
    Section,
)
from backroom_reporting.rendering.periods import ReportPeriod
from backroom_reporting.rendering.readiness import not_ready
from backroom_reporting.rendering.sources import (
    CODE_LABELS,
    PERIOD_TYPE,
    TABLE_SOURCES,
    period_condition,
    reported_week,
)
from backroom_reporting.rendering.text import readable_frame, readable_text
from backroom_reporting.warehouse.database import Database
from backroom_reporting.warehouse.tables import aggregations, kpis
from backroom_reporting.warehouse.tables.raw import RAW, raw_quarantine

# How a KPI's unit is shown; people (VIP visits, party size) are counts: 11, or 5.5 as a mean.
UNIT_KINDS = {"pence": "money", "fraction": "percent", "count": "count", "people": "count", "score": "score"}
# kpi_calculations compares each period with three earlier ones; their names by period type.
COMPARISON_LABELS = {
    "day": {"week_ago": "vs same night last week", "month_ago": "vs 4 weeks ago", "year_ago": "vs last year"},
    "week": {"week_ago": "vs last week", "month_ago": "vs 4 weeks ago", "year_ago": "vs 52 weeks ago"},
    "month": {"month_ago": "vs last month", "year_ago": "vs last year"},
}
# The forecast chart shows this many weeks of actual nights before the forecast's.
ACTUAL_WEEKS = 4
FORECAST_BOUNDS = ("lower_80_pence", "upper_80_pence", "lower_95_pence", "upper_95_pence")

# A scorecard's columns by period type: the period, the one before, the average before that.
SCORECARD_LABELS = {
    "day": ("This night", "Same night last week", "4-week average"),
    "week": ("This week", "Last week", "4-week average"),
    "month": ("This month", "Last month", "4-month average"),
}


# How far ahead a closed night's note looks for the next open night.
OUTLOOK_SPAN = dt.timedelta(days=14)


class ReportInputError(Exception):
    """The period's figures are not ready or failed a blocking check: no report is rendered."""


@dataclass(frozen=True)
class Subject:
    """Whose report: a venue, and optionally one brand of night for the event sections; or,
    without a venue, the group: every venue side by side (a subscription's `scope: group`)."""

    venue_id: str | None
    brand: str | None = None

    @classmethod
    def from_filters(cls, filters: dict[str, str]) -> Subject:
        """The group only when the filters say `scope: group`: filters that lost their venue_id
        must never widen a venue's report to every venue."""
        if filters.get("scope") == GROUP:
            return cls(None)
        if not filters.get("venue_id"):
            raise ReportInputError(
                f"the filters {filters} name no venue_id and are not scope: group, so whose report "
                "it is cannot be told"
            )
        return cls(filters["venue_id"], filters.get("brand"))

    @property
    def group(self) -> bool:
        return self.venue_id is None

    def rows_of(self, table: sa.Table) -> list[sa.ColumnElement[bool]]:
        """The condition on a table's venue_id: this venue's rows, or every venue's for the group."""
        return [] if self.group else [table.c.venue_id == self.venue_id]

    @property
    def filters(self) -> dict[str, str]:
        """The filters a report records: as a subscription holds them."""
        if self.group:
            return {"scope": GROUP}
        return {k: v for k, v in (("venue_id", self.venue_id), ("brand", self.brand)) if v}


def fetch(
    db: Database, source_key: str, query: Query, period: ReportPeriod, subject: Subject
) -> pl.DataFrame:
    """The rows of a source for the period, venue (or every venue), brand and the query's filters."""
    source = TABLE_SOURCES[source_key]
    table = source.table
    where = subject.rows_of(table)
    where.append(
        period_condition(source, period.kind, period.first_day, period.last_day, query.look_back_days)
    )
    if subject.brand and source.brand_column:
        where.append(table.c[source.brand_column] == subject.brand)
    for column, value in query.filters.items():
        where.append(table.c[column].in_(value) if isinstance(value, list) else table.c[column] == value)
    # Names come from the booking system: one clean line of sensible length in every format.
    return readable_frame(db.read_table(table, *where))


def in_words(rows: pl.DataFrame, venue_names: dict[str, str] | None = None) -> pl.DataFrame:
    """Coded columns as a report prints them (at_risk -> At risk), once the rows are ranked;
    with `venue_names` (a group report), venue ids as the venues' names."""
    labels = CODE_LABELS | ({"venue_id": venue_names} if venue_names else {})
    return rows.with_columns(
        pl.col(column).replace(names) for column, names in labels.items() if column in rows.columns
    )


AGGREGATE: dict[str, Callable[[pl.Expr], pl.Expr]] = {
    "count": lambda c: c.count(),
    "sum": lambda c: c.sum(),
    "mean": lambda c: c.mean(),
    "min": lambda c: c.min(),
    "max": lambda c: c.max(),
}


def _sorted(frame: pl.DataFrame, sort: tuple[str, ...]) -> pl.DataFrame:
    if not sort:
        return frame
    names = [s.lstrip("-") for s in sort]
    return frame.sort(names, descending=[s.startswith("-") for s in sort], nulls_last=True)


def shape(rows: pl.DataFrame, query: Query, keep: tuple[str, ...] = ()) -> pl.DataFrame:
    """Group, pick, rename, sort and limit rows as the query says (pure).

    Without grouping, rows sort by any source column before the pick; with grouping, the
    groups sort by their output columns.
    """
    if query.group_by:
        frame = _sorted(
            rows.group_by(query.group_by).agg(
                AGGREGATE[c.agg](pl.col(c.source)).alias(c.column.key) for c in query.columns if c.agg
            ),
            query.sort,
        )
    else:
        extra = [k for k in keep if k not in {c.source for c in query.columns}]
        frame = _sorted(rows, query.sort).select(
            *(pl.col(c.source).alias(c.column.key) for c in query.columns), *extra
        )
    return frame.head(query.limit) if query.limit else frame


def forecast_with_actuals(actuals: pl.DataFrame, forecast: pl.DataFrame) -> pl.DataFrame:
    """The nights of a forecast chart (pure): the nights the venue traded, with their gross
    revenue as actual_pence, then the forecast nights it is expected to trade, with the
    forecast and its bounds. Closed nights are left out, not drawn as zeros."""
    traded = actuals.filter(trading()).select(
        "business_date", pl.col("gross_revenue_pence").alias("actual_pence")
    )
    ahead = forecast.filter(pl.col("expected_to_trade")).select(
        pl.col("forecast_date").alias("business_date"), "predicted_pence", *FORECAST_BOUNDS
    )
    return pl.concat([traded, ahead], how="diagonal").sort("business_date")


def kpi_cards(by_key: dict[str, dict], definitions: pl.DataFrame, period_type: str) -> list[KpiCard]:
    """One card per enabled KPI, in catalogue order, from one period's figures by kpi_key."""
    labels = COMPARISON_LABELS[period_type]
    cards = []
    for kpi in definitions.filter(pl.col("enabled")).sort("position").iter_rows(named=True):
        row = by_key.get(kpi["kpi_key"], {})
        cards.append(
            KpiCard(
                key=kpi["kpi_key"],
                name=kpi["name"],
                kind=UNIT_KINDS.get(kpi["unit"], "number"),
                value=row.get("value"),
                target=kpi["target"],
                status=row.get("status"),
                trend=row.get("trend"),
                lower_is_better=kpi["direction"] == "lower_better",
                comparisons={label: row.get(f"change_{name}") for name, label in labels.items()},
                earlier={label: row.get(f"value_{name}") for name, label in labels.items()},
            )
        )
    return cards


def kpis_by_venue(
    rows: pl.DataFrame, definitions: pl.DataFrame, venue_ids: list[str], wanted: list[str] | None
) -> tuple[pl.DataFrame, tuple[Column, ...]]:
    """One period's KPIs side by side (pure): a row per venue (every one of `venue_ids`, a
    venue without figures as blanks), a column per enabled KPI in catalogue order (only
    `wanted` ones when given), shown in the KPI's unit."""
    kpis_shown = definitions.filter(pl.col("enabled")).sort("position")
    if wanted is not None:
        kpis_shown = kpis_shown.filter(pl.col("kpi_key").is_in(wanted))
    keys = kpis_shown["kpi_key"].to_list()
    long = rows.filter(pl.col("kpi_key").is_in(keys)).select(
        "venue_id", "kpi_key", pl.col("value").cast(pl.Float64)
    )
    wide = pl.DataFrame({"venue_id": venue_ids}, schema={"venue_id": pl.String})
    if long.height:
        wide = wide.join(
            long.pivot(on="kpi_key", index="venue_id", values="value"), on="venue_id", how="left"
        )
    wide = wide.with_columns(pl.lit(None, pl.Float64).alias(k) for k in keys if k not in wide.columns)
    columns = (
        Column("venue_id", "Venue", "text"),
        *(
            Column(k["kpi_key"], k["name"], UNIT_KINDS.get(k["unit"], "number"))
            for k in kpis_shown.iter_rows(named=True)
        ),
    )
    return wide.select("venue_id", *keys), columns


def hour_labels(hour_starts: pl.Series) -> pl.Series:
    """London clock labels for hour starts; the hour that repeats when clocks go back is
    told apart by its zone (01:00 BST, 01:00 GMT)."""
    london = ZoneInfo(VENUE_TIMEZONE)
    local = [h.astimezone(london) for h in hour_starts]
    plain = [f"{h:%H}:00" for h in local]
    return pl.Series([f"{p} {h:%Z}" if plain.count(p) > 1 else p for p, h in zip(plain, local, strict=True)])


class ReportBuilder:
    """Builds the reports of one venue (or the group) and period, reading each shared input
    once: only that venue's rows, or every venue's for the group, of the period and its
    look-back, never whole tables."""

    def __init__(
        self, db: Database, layout: Layout, period: ReportPeriod, subject: Subject, now: dt.datetime
    ):
        if subject.group != (layout.scope == GROUP):
            whose = "the group's" if subject.group else f"venue {subject.venue_id!r}'s"
            raise ReportInputError(f"layout {layout.key!r} is a {layout.scope} report, not {whose}")
        self.db, self.layout, self.period, self.subject, self.now = db, layout, period, subject, now
        self.period_type = PERIOD_TYPE[period.kind]
        daily = aggregations.daily_aggregations
        look_back = BusinessWindow(
            period.first_day - dt.timedelta(weeks=checks.ANOMALY_WEEKS), period.last_day
        )
        self.history = db.read_table(
            daily,
            *subject.rows_of(daily),
            daily.c.business_date.between(look_back.first_day, look_back.last_day),
        )
        self.daily = self.history.filter(
            pl.col("business_date").is_between(period.first_day, period.last_day)
        )
        self.definitions = db.read_table(kpis.kpi_definitions)
        self.cards: list[KpiCard] = []
        if not subject.group:  # the group's KPIs are a table by venue (_kpis_by_venue)
            figures = period_kpis(
                db, subject.venue_id, self.period_type, period.first_day, self.definitions, now
            )
            self.cards = kpi_cards(figures, self.definitions, self.period_type)

    @property
    def trading(self) -> bool:
        return not self.daily.filter(trading()).is_empty()

    def guard(self) -> None:
        """Refuse to build from nights whose figures are not final yet (a night not loaded is
        not a night the venue was closed) or that fail daily_aggregations' blocking checks."""
        problem = not_ready(self.db, self.period.first_day, self.period.last_day)
        if problem:
            raise ReportInputError(problem)
        days = BusinessWindow(self.period.first_day, self.period.last_day)
        hourly_table = aggregations.hourly_aggregations
        hourly = self.db.read_table(
            hourly_table,
            *self.subject.rows_of(hourly_table),
            hourly_table.c.business_date.between(days.first_day, days.last_day),
        )
        capacities = self.db.read_columns(RAW["venues"].c.venue_id, RAW["venues"].c.capacity)
        expected = hours_between(days.start, days.end).group_by("business_date").agg(pl.len().alias("hours"))
        failed = {
            checks.MONEY_NON_NEGATIVE: checks.negative_money(self.daily),
            checks.MONEY_IN_RANGE: checks.money_too_large(self.daily),
            checks.OCCUPANCY_WITHIN_CAPACITY: checks.over_capacity(self.daily, capacities),
            checks.MATCHES_HOURLY: checks.hours_not_adding_up(self.daily, hourly),
            checks.OPEN_NIGHTS_COMPLETE: checks.incomplete_nights(
                self.daily, hourly, expected, self._feeds(days)
            ),
        }
        reasons = [
            f"{name} ({', '.join(sorted({str(d) for d in rows['business_date']}))})"
            for name, rows in failed.items()
            if rows.height
        ]
        if reasons:
            raise ReportInputError(
                f"daily_aggregations fails its blocking checks for {self.period.label}: {'; '.join(reasons)}"
            )

    def _feeds(self, days: BusinessWindow) -> pl.DataFrame:
        counts = []
        for name, alias in (("bar_transactions", "bar_sales"), ("staff_shifts", "staff_shifts")):
            table = RAW[name]
            query = (
                sa.select(table.c.venue_id, table.c.business_date, sa.func.count().label(alias))
                .where(
                    *self.subject.rows_of(table),
                    table.c.business_date.between(days.first_day, days.last_day),
                )
                .group_by(table.c.venue_id, table.c.business_date)
            )
            counts.append(
                self.db.read(query, {"venue_id": pl.String, "business_date": pl.Date, alias: pl.Int64})
            )
        return counts[0].join(counts[1], on=["venue_id", "business_date"], how="full", coalesce=True)

    @functools.cached_property
    def warnings(self) -> content.Warnings:
        quarantined = self.db.scalar(
            sa.select(sa.func.count())
            .select_from(raw_quarantine)
            .where(raw_quarantine.c.business_date.between(self.period.first_day, self.period.last_day))
        )
        anomalies = checks.revenue_anomalies(self.daily, self.history)
        if self.subject.group:  # say where
            anomalies = anomalies.with_columns(
                pl.col("venue_id").replace(self.venue_names).alias("venue_name")
            ).sort("venue_name", "business_date")
        return content.Warnings(quarantined_rows=int(quarantined or 0), anomalies=anomalies)

    @functools.cached_property
    def _events(self) -> pl.DataFrame:
        source = TABLE_SOURCES["event_performance_analytics"]
        return fetch(self.db, source.key, Query(), self.period, self.subject).sort("starts_at")

    def summary(self, spec: SectionLayout) -> Section:
        venue_name = self.venue_name()
        warnings = self.warnings
        if spec.source == "group_overview":
            paragraphs, bullets = content.group_overview(
                self.period.label, self.daily, self.venue_names, warnings
            )
        elif spec.source == "executive_summary":
            day = self.period.last_day
            rows = {r["business_date"]: r for r in self.history.iter_rows(named=True)}
            paragraphs, bullets = content.executive_summary(
                venue_name,
                day,
                rows.get(day),
                rows.get(day - dt.timedelta(days=7)),
                self._night_names(),
                self.cards,
                warnings,
            )
        elif spec.source == "weekly_overview":
            table = aggregations.weekly_summary
            week = self.db.read_table(
                table, table.c.venue_id == self.subject.venue_id, table.c.week_start == self.period.first_day
            )
            busiest = self.daily.filter(trading()).sort("gross_revenue_pence", descending=True).head(1)
            held = self._events.filter(pl.col("status") != "cancelled")
            paragraphs, bullets = content.weekly_overview(
                venue_name,
                self.period.first_day,
                week.row(0, named=True) if week.height else None,
                busiest.row(0, named=True) if busiest.height else None,
                held.height,
                int(held["gross_revenue_pence"].sum()),
                self.cards,
                warnings,
            )
        else:
            paragraphs, bullets = (
                [],
                content.recommendations(
                    self.cards,
                    self.daily,
                    self._forecast_next_week(),
                    self._events,
                    self._vips_at_risk(),
                    warnings,
                ),
            )
        return Section(spec.key, spec.title, "summary", paragraphs=tuple(paragraphs), bullets=tuple(bullets))

    def _night_names(self) -> list[str]:
        """The brands of the night's events, in the venue's words ("a private hire")."""
        held = self._events.filter(pl.col("status") != "cancelled")
        return [
            ("a private hire" if b == "PRIVATE" else b) for b in held["brand"].unique(maintain_order=True)
        ]

    def _forecast_next_week(self) -> float | None:
        """The next seven nights' forecast revenue, as forecast at the end of the reported week."""
        rows = fetch(
            self.db,
            "revenue_forecast",
            Query(filters={"horizon_days": list(range(1, 8))}),
            self.period,
            self.subject,
        )
        return float(rows["predicted_pence"].sum()) if rows.height else None

    def _vips_at_risk(self) -> int:
        """VIP customers at risk in the reported week's snapshot."""
        at_risk = Query(filters={"is_vip": True, "segment": "at_risk"})
        return fetch(self.db, "customer_analytics", at_risk, self.period, self.subject).height

    @functools.cached_property
    def venue_names(self) -> dict[str, str]:
        """Every venue's name by id (a group report's rows and columns), in name order."""
        venues = RAW["venues"]
        names = self.db.read_columns(venues.c.venue_id, venues.c.name)
        return {venue: readable_text(name) for venue, name in names.sort("name", "venue_id").iter_rows()}

    def venue_name(self) -> str:
        if self.subject.group:
            return GROUP_NAME
        venues = RAW["venues"]
        found = self.db.lookup(venues.c.venue_id, [self.subject.venue_id], venues.c.name)
        if found.is_empty():
            raise ReportInputError(f"venue {self.subject.venue_id!r} is not in the warehouse")
        return readable_text(found["name"][0])

    def section(self, spec: SectionLayout) -> Section:
        return dataclasses.replace(self._section(spec), caption=spec.display.get("caption"))

    def _section(self, spec: SectionLayout) -> Section:
        if spec.type == "summary":
            return self.summary(spec)
        if spec.type == "metrics" and spec.display.get("scorecard"):
            return self._scorecard(spec)
        if spec.type == "metrics" and spec.display.get("by_venue"):
            return self._kpis_by_venue(spec)
        if spec.type == "metrics":
            wanted = spec.display.get("kpis")
            cards = [c for c in self.cards if wanted is None or c.key in wanted]
            return Section(spec.key, spec.title, "metrics", cards=tuple(cards))
        empty_note = spec.display.get("empty_note", "Nothing to show for this period.")
        if spec.source == "forecast_with_actuals":
            return self._forecast_chart(spec, empty_note)
        if spec.source == "top_performers_by_role":
            rows = top_performers(fetch(self.db, "staff_performance", Query(), self.period, self.subject))
        else:
            rows = fetch(self.db, spec.source, spec.query, self.period, self.subject)
        rows = in_words(rows, self.venue_names if self.subject.group else None)
        if spec.type == "table":
            return Section(
                spec.key,
                spec.title,
                "table",
                table=shape(rows, spec.query),
                columns=tuple(c.column for c in spec.query.columns),
                totals=bool(spec.display.get("totals")),
                empty_note=empty_note,
            )
        return self._chart(spec, rows, empty_note)

    def _kpis_by_venue(self, spec: SectionLayout) -> Section:
        """The group's KPIs for the period: a row per venue, a column per KPI. No total row:
        rates and averages of venues do not add up."""
        table = kpis.kpi_calculations
        rows = self.db.read_table(
            table,
            table.c.period_type == self.period_type,
            table.c.period_start == self.period.first_day,
        )
        frame, columns = kpis_by_venue(
            rows, self.definitions, list(self.venue_names), spec.display.get("kpis")
        )
        return Section(
            spec.key, spec.title, "table", table=in_words(frame, self.venue_names), columns=columns
        )

    def _scorecard(self, spec: SectionLayout) -> Section:
        """The KPIs as numeric rows: this period, the one before, the average of the ones
        before that, target and status (metrics/kpis.py `scorecard`)."""
        period = kpi_maths.PERIOD_TYPES[self.period_type]
        start = self.period.first_day
        first = period.back(start, period.trailing[0] * kpi_maths.SCORECARD_AVERAGE_PERIODS)
        table = kpis.kpi_calculations
        rows = self.db.read_table(
            table,
            table.c.venue_id == self.subject.venue_id,
            table.c.period_type == self.period_type,
            table.c.period_start.between(first, start),
        )
        scores = kpi_maths.scorecard(rows, self.definitions, start, period)
        wanted = spec.display.get("kpis")
        if wanted is not None:
            scores = scores.filter(pl.col("kpi_key").is_in(wanted))
        frame = scores.select(
            "name",
            "value",
            "value_previous",
            "value_average",
            "target",
            pl.col("status")
            .replace_strict({k: v for k, v in STATUS_LABELS.items() if k is not None}, return_dtype=pl.String)
            .fill_null(STATUS_LABELS[None]),
            pl.col("unit").replace_strict(UNIT_KINDS, default="number").alias("kind"),
        )
        this, previous, average = SCORECARD_LABELS[self.period_type]
        columns = (
            Column("name", "KPI", "text"),
            *(
                Column(key, label, "number", kind_from="kind")
                for key, label in (
                    ("value", this),
                    ("value_previous", previous),
                    ("value_average", average),
                    ("target", "Target"),
                )
            ),
            Column("status", "Status", "text"),
        )
        return Section(spec.key, spec.title, "table", table=frame, columns=columns)

    def _chart(self, spec: SectionLayout, rows: pl.DataFrame, empty_note: str) -> Section:
        x_key = spec.display["x"]
        series = tuple(c.column for c in spec.query.columns)
        if spec.display.get("only_trading_days"):
            rows = rows.filter(trading())
        if spec.display.get("only_trading_hours"):
            # From the first hour the doors or the bar were busy to the last.
            rows = _sorted(rows, spec.query.sort)
            busy = rows.select(trading()).to_series()
            if busy.any():
                first, last = busy.arg_true()[0], busy.arg_true()[-1]
                rows = rows.slice(first, last - first + 1)
        frame = shape(rows, spec.query, keep=(x_key,))
        x_label = spec.display.get("x_label", x_key.replace("_", " ").capitalize())
        x = Column(x_key, x_label, "text" if frame.schema.get(x_key) == pl.String else "date")
        if frame.schema.get(x_key) == pl.Datetime("us", "UTC"):  # hours: label them on the London clock
            frame = frame.with_columns(hour_labels(frame[x_key]).alias(x_key))
            x = Column(x_key, "Hour", "text")
        # Columns are kept even without data, so an empty chart still has its CSV header.
        if frame.is_empty():
            return Section(spec.key, spec.title, "chart", columns=(x, *series), empty_note=empty_note)
        chart = Chart(
            spec.display["chart"],
            frame,
            x,
            series,
            spec.display.get("y_title", ""),
            content.chart_total(spec.display["chart"], frame, series),
        )
        return Section(
            spec.key, spec.title, "chart", chart=chart, columns=(x, *series), empty_note=empty_note
        )

    def _outlook(self) -> Outlook | None:
        """The next open night after the reported day, and what was sold for it by now."""
        events, bookings, tickets = RAW["events"], RAW["bookings"], RAW["ticket_sales"]
        after = BusinessWindow(self.period.last_day, self.period.last_day).end
        venue = self.subject.venue_id
        coming = self.db.read_table(
            events,
            events.c.venue_id == venue,
            events.c.status != "cancelled",
            events.c.starts_at.between(after, after + OUTLOOK_SPAN),
        )
        venues = self.db.read_table(RAW["venues"], RAW["venues"].c.venue_id == venue)
        nights = with_business_date(coming, "starts_at", venues).sort("starts_at")
        if nights.is_empty():
            return None
        night = nights["business_date"][0]
        tonight = nights.filter(pl.col("business_date") == night)
        booked = self.db.read_table(
            bookings,
            bookings.c.venue_id == venue,
            bookings.c.business_date == night,
            bookings.c.status != "cancelled",
        )
        sold = self.db.lookup(
            tickets.c.event_id,
            tonight["event_id"],
            tickets.c.quantity,
            tickets.c.gross_pence,
            tickets.c.fee_pence,
            where=(tickets.c.status == "paid") & (tickets.c.purchased_at <= self.now),
        )
        return Outlook(
            night=night,
            brands=tuple(readable_text(b) for b in tonight["brand"].unique(maintain_order=True)),
            bookings=booked.height,
            guests=int(booked["party_size"].sum()),
            tickets_sold=int(sold["quantity"].sum()),
            ticket_revenue_pence=int((sold["gross_pence"] - sold["fee_pence"]).sum()),
        )

    def _closed_night(self) -> Section:
        day = self.period.last_day
        figures = self.daily.filter(pl.col("business_date") == day)
        paragraphs = closed_night_note(
            self.venue_name(), day, figures.row(0, named=True) if figures.height else None, self._outlook()
        )
        return Section("closed_night", "Closed night", "summary", paragraphs=tuple(paragraphs))

    def _forecast_chart(self, spec: SectionLayout, empty_note: str) -> Section:
        """The forecast made at the end of the reported week beside the ACTUAL_WEEKS of nights
        up to it, with what it says in words (next week against this week, closed nights,
        bank holidays)."""
        monday = reported_week(self.period.last_day)
        sunday = monday + dt.timedelta(days=6)
        forecast = fetch(self.db, "revenue_forecast", Query(), self.period, self.subject).sort(
            "forecast_date"
        )
        actuals = self.history.filter(
            pl.col("business_date").is_between(sunday - dt.timedelta(days=7 * ACTUAL_WEEKS - 1), sunday)
        )
        section = self._chart(spec, forecast_with_actuals(actuals, forecast), empty_note)
        if section.chart is None:
            return section
        week = self.history.filter(pl.col("business_date").is_between(monday, sunday))
        ahead = bank_holidays(sunday, sunday + dt.timedelta(days=len(forecast) or 1))
        words = content.forecast_outlook(forecast, int(week["gross_revenue_pence"].sum()), ahead)
        return dataclasses.replace(section, paragraphs=tuple(words))

    def build(self) -> Report:
        self.guard()
        warnings = content.warning_bullets(self.warnings)
        # After a night the venue was closed, the daily report is a short note, not pages of dashes.
        # A group report keeps its table: the venues that did not trade are rows of it too.
        if self.period.kind == "business_day" and not self.trading and not self.subject.group:
            sections = (self._closed_night(),)
        else:
            sections = tuple(self.section(spec) for spec in self.layout.sections)
        return Report(
            template_key=self.layout.key,
            title=self.layout.title,
            template_version=self.layout.short_hash,
            venue_id=self.subject.venue_id or GROUP,
            venue_name=self.venue_name(),
            period_kind=self.period.kind,
            first_day=self.period.first_day,
            last_day=self.period.last_day,
            period_label=self.period.label,
            generated_at=self.now,
            filters=self.subject.filters,
            sections=sections,
            trading=self.trading,
            warnings=tuple(b.text for b in warnings),
        )
