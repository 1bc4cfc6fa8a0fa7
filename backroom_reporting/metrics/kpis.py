"""KPIs: the versioned catalogue, and each KPI's value, comparisons, statistics, status and trend.

The catalogue (kpi_definitions.yaml, beside this module) says what each KPI reads and what
it is judged against; `parse_catalogue` validates it and names the KPI and the field of
every mistake. The maths works on period rows: one row per venue and period (a business
day, a business week, a month) holding that period's totals, so a KPI defined as
numerator / denominator is computed from the period's own totals. Every figure is
defined in docs/metrics.md, section "KPIs".
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import yaml
from pydantic import AfterValidator, Field, PlainValidator, StrictStr, ValidationError, model_validator

from backroom_reporting.config_types import Choice, ConfigModel, FieldProblems, Location, dotted, problems
from backroom_reporting.metrics.daily import trading
from backroom_reporting.metrics.ratios import ratio, relative_change
from backroom_reporting.metrics.summaries import period_end
from backroom_reporting.warehouse.tables.aggregations import (
    SUMMARY_TOTALS,
    daily_aggregations,
    weekly_summary,
)
from backroom_reporting.warehouse.tables.kpis import kpi_calculations as calculations_table
from backroom_reporting.warehouse.tables.kpis import kpi_definitions as definitions_table
from backroom_reporting.warehouse.types import table_schema

CATALOGUE = Path(__file__).with_name("kpi_definitions.yaml")

CATEGORIES = ("revenue", "bookings", "customers", "operations")
DIRECTIONS = ("higher_better", "lower_better")
CALCULATIONS = ("real_time", "cached")
# unit -> the range its target and thresholds must lie in
UNITS: dict[str, tuple[float, float]] = {
    "pence": (0.0, float("inf")),
    "count": (0.0, float("inf")),
    "people": (0.0, float("inf")),
    "turns": (0.0, float("inf")),
    "fraction": (0.0, 1.0),
    "score": (1.0, 5.0),
}
# A value within 5% of its trailing mean is flat.
FLAT_BAND = 0.05

# A period's number of trading nights: the summaries' column, 0 or 1 for a day.
TRADING_DAYS = "trading_days"
# Totals that daily_aggregations, weekly_summary and monthly_summary all hold under one name.
TOTALS = frozenset(SUMMARY_TOTALS)
DAY_COLUMNS = frozenset(c.name for c in daily_aggregations.columns if not c.primary_key)
SUMMARY_COLUMNS = frozenset(
    c.name for c in weekly_summary.columns if not c.primary_key and c.name not in ("week_end", "through_date")
)

_KEY = re.compile(r"^[a-z][a-z0-9_]*$")


class KpiDefinitionError(ValueError):
    """The catalogue is not valid; the message lists every mistake by KPI and field."""


@dataclass(frozen=True)
class Catalogue:
    version: int
    content_hash: str
    definitions: pl.DataFrame  # kpi_definitions rows, in file order


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def catalogue_bytes() -> bytes:
    return CATALOGUE.read_bytes()


def _snake_case(key: str) -> str:
    if not _KEY.match(key):
        raise ValueError(f"{key!r} is not a snake_case identifier")
    return key


def _text(value: str) -> str:
    if not value.strip():
        raise ValueError("must be non-empty text")
    return value.strip()


def _number(value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"must be a number, not {value!r}")
    return value  # as written, so a message shows 600000, not 600000.0


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, not {value!r}")
    return value


def _metric(metric: Any) -> dict[str, str | None]:
    """What a KPI reads: {numerator, denominator} totals or {day, summary} ready-made columns."""
    if not isinstance(metric, dict) or set(metric) not in ({"numerator", "denominator"}, {"day", "summary"}):
        raise ValueError("must be {numerator: ..., denominator: ...} or {day: ..., summary: ...}")
    if "numerator" in metric:
        allowed = {
            "numerator": (TOTALS, "a total that daily_aggregations and the summaries share"),
            "denominator": (TOTALS | {TRADING_DAYS}, "such a total, or trading_days"),
        }
    else:
        allowed = {
            "day": (DAY_COLUMNS, "a daily_aggregations column"),
            "summary": (SUMMARY_COLUMNS | {None}, "a weekly/monthly summary column, or null"),
        }
    found = [
        ((part,), f"unknown metric {metric[part]!r}: must be {meaning}")
        for part, (columns, meaning) in allowed.items()
        if not isinstance(metric[part], str | None) or metric[part] not in columns
    ]
    if found:
        raise FieldProblems(found)
    return metric


Text = Annotated[StrictStr, AfterValidator(_text)]
Number = Annotated[int | float, PlainValidator(_number)]
Flag = Annotated[bool, PlainValidator(_flag)]


class _Kpi(ConfigModel):
    """One KPI of the catalogue as written; docs/metrics.md ("KPIs") defines every field."""

    key: Annotated[StrictStr, AfterValidator(_snake_case)]
    name: Text
    description: Text
    category: Choice("category", CATEGORIES)
    unit: Choice("unit", tuple(UNITS))
    metric: Annotated[dict[str, str | None], PlainValidator(_metric)]
    target: Number
    warning: Number
    critical: Number
    direction: Choice("direction", DIRECTIONS)
    calculation: Choice("calculation", CALCULATIONS)
    cache_ttl_minutes: Any = None
    trading_days_only: Flag = False
    enabled: Flag = True

    @model_validator(mode="after")
    def _consistent(self) -> _Kpi:
        found = self._cache_problems() + self._threshold_problems()
        if found:
            raise FieldProblems(found)
        return self

    def _cache_problems(self) -> list[tuple[Location, str]]:
        ttl, field = self.cache_ttl_minutes, ("cache_ttl_minutes",)
        whole = isinstance(ttl, int) and not isinstance(ttl, bool)
        if self.calculation == "cached" and not (whole and ttl >= 1):
            return [(field, f"a cached KPI needs a whole number of minutes >= 1, not {ttl!r}")]
        if self.calculation == "real_time" and ttl is not None:
            return [(field, "a real_time KPI is never cached: remove its TTL")]
        return []

    def _threshold_problems(self) -> list[tuple[Location, str]]:
        fields = ("target", "warning", "critical")
        low, high = UNITS[self.unit]
        found: list[tuple[Location, str]] = [
            ((f,), f"{getattr(self, f)} is outside {low:g}..{high:g} for unit {self.unit!r}")
            for f in fields
            if not low <= getattr(self, f) <= high
        ]
        target, warning, critical, direction = self.target, self.warning, self.critical, self.direction
        # higher_better: critical < warning < target; lower_better: the other way round.
        side = "below" if direction == "higher_better" else "above"
        ordered = (lambda a, b: a < b) if direction == "higher_better" else (lambda a, b: a > b)
        if not ordered(warning, target):
            found.append((("warning",), f"{warning} must be {side} the target {target} ({direction})"))
        if not ordered(critical, warning):
            found.append((("critical",), f"{critical} must be {side} the warning {warning} ({direction})"))
        return found

    def row(self, position: int) -> dict:
        return {
            "kpi_key": self.key,
            "position": position,
            "name": self.name,
            "description": self.description,
            "category": self.category,
            "unit": self.unit,
            "metric_numerator": self.metric.get("numerator"),
            "metric_denominator": self.metric.get("denominator"),
            "metric_day_column": self.metric.get("day"),
            "metric_summary_column": self.metric.get("summary"),
            "target": float(self.target),
            "warning_threshold": float(self.warning),
            "critical_threshold": float(self.critical),
            "direction": self.direction,
            "calculation": self.calculation,
            "cache_ttl_minutes": self.cache_ttl_minutes,
            "trading_days_only": self.trading_days_only,
            "enabled": self.enabled,
        }


def _version(version: Any) -> int:
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"must be a positive integer, not {version!r}")
    return version


class _CatalogueFile(ConfigModel):
    version: Annotated[int, PlainValidator(_version)]
    kpis: Annotated[list[_Kpi], Field(min_length=1)]

    @model_validator(mode="after")
    def _keys_differ(self) -> _CatalogueFile:
        first: dict[str, int] = {}
        found: list[tuple[Location, str]] = []
        for index, kpi in enumerate(self.kpis):
            if kpi.key in first:
                found.append((("kpis", index, "key"), f"duplicate key (also KPI #{first[kpi.key] + 1})"))
            first.setdefault(kpi.key, index)
        if found:
            raise FieldProblems(found)
        return self


def _where(document: dict, location: Location) -> str:
    """KPI 'no_show_rate': field 'metric.day' (a KPI without a key: by its position), or
    field 'version'."""
    if len(location) < 2 or location[0] != "kpis" or not isinstance(location[1], int):
        return f"field {dotted(location)!r}"
    entry = document["kpis"][location[1]]
    label = f"KPI {entry['key']!r}" if isinstance(entry, dict) and isinstance(entry.get("key"), str) else ""
    return f"{label or f'KPI #{location[1] + 1}'}: field {dotted(location[2:]) or '-'!r}"


def parse_catalogue(data: bytes, source: str = CATALOGUE.name) -> Catalogue:
    """The catalogue's KPIs as kpi_definitions rows; raises KpiDefinitionError listing every mistake."""
    try:
        document = yaml.safe_load(data)
    except yaml.YAMLError as exc:
        raise KpiDefinitionError(f"{source} is not valid YAML: {exc}") from exc
    if not isinstance(document, dict):
        raise KpiDefinitionError(f"{source} must be a mapping with `version` and `kpis`")
    try:
        catalogue = _CatalogueFile.model_validate(document)
    except ValidationError as exc:
        errors = [f"{_where(document, location)}: {message}" for location, message in problems(exc)]
        raise KpiDefinitionError(f"{source} is invalid:\n" + "\n".join(f"  - {e}" for e in errors)) from None
    digest = content_hash(data)
    definitions = pl.DataFrame(
        [
            {**kpi.row(position), "catalogue_version": catalogue.version, "catalogue_hash": digest}
            for position, kpi in enumerate(catalogue.kpis, start=1)
        ],
        schema=table_schema(definitions_table),
    )
    return Catalogue(catalogue.version, digest, definitions)


# ---- periods ----------------------------------------------------------------------------


def _months_later(first_of_month: dt.date, months: int) -> dt.date:
    years, month = divmod(first_of_month.month - 1 + months, 12)
    return dt.date(first_of_month.year + years, month + 1, 1)


@dataclass(frozen=True)
class PeriodType:
    """A kind of period KPIs are reported for, and how far back its comparisons reach.

    Offsets count back from a period's start in `unit` (days or months): same weekday for
    days and weeks (7, 28, 364 days), calendar months for months.
    """

    name: str
    unit: str  # "d" or "mo"
    week_ago: int | None
    month_ago: int
    year_ago: int
    trailing: tuple[int, ...]

    def back(self, start: dt.date, offset: int) -> dt.date:
        if self.unit == "mo":
            return _months_later(start, -offset)
        return start - dt.timedelta(days=offset)

    def back_expr(self, start: pl.Expr, offset: int) -> pl.Expr:
        return start.dt.offset_by(f"-{offset}{self.unit}")

    def end_expr(self, start: pl.Expr) -> pl.Expr:
        return start if self.name == "day" else period_end(start, self.name)

    @property
    def comparisons(self) -> dict[str, int | None]:
        return {"week_ago": self.week_ago, "month_ago": self.month_ago, "year_ago": self.year_ago}

    def starts_ending_in(self, first_day: dt.date, last_day: dt.date) -> list[dt.date]:
        """The starts of the periods whose last business day falls within first_day..last_day."""
        if self.name == "day":
            return [first_day + dt.timedelta(days=i) for i in range((last_day - first_day).days + 1)]
        if self.name == "week":
            sunday = first_day + dt.timedelta(days=(6 - first_day.weekday()) % 7)
            weeks = max(0, (last_day - sunday).days // 7 + 1)
            return [sunday - dt.timedelta(days=6 - 7 * i) for i in range(weeks)]
        starts, month = [], first_day.replace(day=1)
        while month <= last_day:
            end = _months_later(month, 1) - dt.timedelta(days=1)
            if first_day <= end <= last_day:
                starts.append(month)
            month = _months_later(month, 1)
        return starts

    def history(self, starts: list[dt.date]) -> list[tuple[dt.date, dt.date]]:
        """period_start ranges holding `starts` and every period their comparisons and trailing
        windows read: one range per offset, merged where they lie within a trailing step."""
        offsets = {0, self.month_ago, self.year_ago, *self.trailing}
        if self.week_ago is not None:
            offsets.add(self.week_ago)
        step = self.trailing[0]
        spans = sorted((self.back(starts[0], o), self.back(starts[-1], o)) for o in offsets)
        merged = [spans[0]]
        for first, last in spans[1:]:
            if first <= self.back(merged[-1][1], -step):
                merged[-1] = (merged[-1][0], max(merged[-1][1], last))
            else:
                merged.append((first, last))
        return merged


DAY = PeriodType("day", "d", 7, 28, 364, tuple(7 * k for k in range(1, 9)))
WEEK = PeriodType("week", "d", 7, 28, 364, tuple(7 * k for k in range(1, 9)))
# A month has no "week ago": months and weeks do not line up.
MONTH = PeriodType("month", "mo", None, 1, 12, tuple(range(1, 13)))
PERIOD_TYPES = {p.name: p for p in (DAY, WEEK, MONTH)}


def day_periods(daily: pl.DataFrame) -> pl.DataFrame:
    """daily_aggregations rows as period rows: period_start and trading_days (1 or 0) added."""
    return daily.rename({"business_date": "period_start"}).with_columns(
        trading().cast(pl.Int64).alias(TRADING_DAYS)
    )


def summary_periods(summary: pl.DataFrame, period: PeriodType) -> pl.DataFrame:
    """weekly_summary / monthly_summary rows of whole periods as period rows (a to-date row of
    a period not over is not judged)."""
    whole = summary.filter(pl.col("through_date") == pl.col(f"{period.name}_end"))
    return whole.rename({f"{period.name}_start": "period_start"})


# ---- values -----------------------------------------------------------------------------


def applies_to(kpi: dict, period: PeriodType) -> bool:
    """Whether a KPI has a value for this kind of period (days-only KPIs have none for weeks, months)."""
    return (
        kpi["metric_numerator"] is not None
        or period.name == "day"
        or kpi["metric_summary_column"] is not None
    )


def _value(kpi: dict, period: PeriodType) -> pl.Expr:
    if kpi["metric_numerator"] is not None:
        value = ratio(pl.col(kpi["metric_numerator"]), pl.col(kpi["metric_denominator"]))
    else:
        column = kpi["metric_day_column"] if period.name == "day" else kpi["metric_summary_column"]
        value = pl.col(column).cast(pl.Float64)
    if kpi["trading_days_only"]:
        value = pl.when(pl.col(TRADING_DAYS) > 0).then(value)
    return value


VALUES_SCHEMA = {
    "kpi_key": pl.String(),
    "venue_id": pl.String(),
    "period_start": pl.Date(),
    "value": pl.Float64(),
}


def kpi_values(periods: pl.DataFrame, definitions: pl.DataFrame, period: PeriodType) -> pl.DataFrame:
    """kpi_key, venue_id, period_start, value: each enabled KPI on each period row."""
    parts = [
        periods.select(
            pl.lit(kpi["kpi_key"]).alias("kpi_key"),
            "venue_id",
            "period_start",
            _value(kpi, period).alias("value"),
        )
        for kpi in definitions.filter(pl.col("enabled")).iter_rows(named=True)
        if applies_to(kpi, period)
    ]
    return pl.concat(parts).cast(VALUES_SCHEMA) if parts else pl.DataFrame(schema=VALUES_SCHEMA)


# ---- judgement --------------------------------------------------------------------------


# A KPI's statuses, best first. below_target: short of the target but not yet at the warning line.
STATUSES = ("on_target", "below_target", "warning", "critical")


def status(
    value: pl.Expr, target: pl.Expr, warning: pl.Expr, critical: pl.Expr, direction: pl.Expr
) -> pl.Expr:
    """critical / warning when the value has reached that threshold (at it or worse), else
    on_target when it meets the target (at it or better), else below_target; null without a
    value. The one judgement of a KPI: stored rows, their checks and every report use it."""
    higher_better = direction == "higher_better"

    def reached(threshold: pl.Expr) -> pl.Expr:
        return pl.when(higher_better).then(value <= threshold).otherwise(value >= threshold)

    meets_target = pl.when(higher_better).then(value >= target).otherwise(value <= target)
    return (
        pl.when(value.is_null())
        .then(pl.lit(None, pl.String))
        .when(reached(critical))
        .then(pl.lit("critical"))
        .when(reached(warning))
        .then(pl.lit("warning"))
        .when(meets_target)
        .then(pl.lit("on_target"))
        .otherwise(pl.lit("below_target"))
    )


def trend(value: pl.Expr, trailing_mean: pl.Expr) -> pl.Expr:
    """up / down when the value is more than FLAT_BAND (relative) away from its trailing mean,
    else flat; null without a value or a trailing mean."""
    band = FLAT_BAND * trailing_mean.abs()
    difference = value - trailing_mean
    return (
        pl.when(value.is_null() | trailing_mean.is_null())
        .then(pl.lit(None, pl.String))
        .when(difference > band)
        .then(pl.lit("up"))
        .when(difference < -band)
        .then(pl.lit("down"))
        .otherwise(pl.lit("flat"))
    )


def _judged_status() -> pl.Expr:
    return status(
        pl.col("value"),
        pl.col("target"),
        pl.col("warning_threshold"),
        pl.col("critical_threshold"),
        pl.col("direction"),
    )


_KEYS = ["kpi_key", "venue_id", "period_start"]


def kpi_calculations(
    values: pl.DataFrame,
    starts: list[dt.date],
    period: PeriodType,
    definitions: pl.DataFrame,
    computed_at: dt.datetime,
) -> pl.DataFrame:
    """kpi_calculations rows for the periods beginning on `starts`.

    values: kpi_values of those periods and of the history they compare with (see
    PeriodType.history); a missing earlier period compares as null.
    """
    rows = values.filter(pl.col("period_start").is_in(starts))
    earlier = values.rename({"period_start": "_at", "value": "_earlier"})
    for name, offset in period.comparisons.items():
        if offset is None:
            rows = rows.with_columns(pl.lit(None, pl.Float64).alias(f"value_{name}"))
        else:
            rows = (
                rows.with_columns(period.back_expr(pl.col("period_start"), offset).alias("_at"))
                .join(earlier, on=["kpi_key", "venue_id", "_at"], how="left")
                .rename({"_earlier": f"value_{name}"})
                .drop("_at")
            )
        rows = rows.with_columns(relative_change("value", f"value_{name}").alias(f"change_{name}"))
    trailing_starts = [period.back_expr(pl.col("period_start"), o) for o in period.trailing]
    trailing = (
        rows.select(*_KEYS, pl.concat_list(trailing_starts).alias("_at"))
        .explode("_at")
        .join(earlier, on=["kpi_key", "venue_id", "_at"], how="left")
        .group_by(_KEYS)
        .agg(
            pl.col("_earlier").count().cast(pl.Int64).alias("trailing_periods"),
            pl.col("_earlier").min().alias("trailing_min"),
            pl.col("_earlier").max().alias("trailing_max"),
            pl.col("_earlier").mean().alias("trailing_mean"),
            pl.col("_earlier").std(ddof=1).alias("trailing_stddev"),
        )
    )
    cached = pl.col("calculation") == "cached"
    return (
        rows.join(trailing, on=_KEYS, how="left")
        .join(definitions, on="kpi_key", how="inner")
        .with_columns(
            pl.lit(period.name).alias("period_type"),
            period.end_expr(pl.col("period_start")).alias("period_end"),
            _judged_status().alias("status"),
            trend(pl.col("value"), pl.col("trailing_mean")).alias("trend"),
            pl.lit(computed_at).dt.convert_time_zone("UTC").dt.cast_time_unit("us").alias("computed_at"),
        )
        .with_columns(
            pl.when(cached)
            .then(pl.col("computed_at") + pl.duration(minutes=pl.col("cache_ttl_minutes")))
            .alias("expires_at")
        )
        .select(table_schema(calculations_table).keys())
        .sort("venue_id", "period_start", "kpi_key")
    )


# ---- checks -----------------------------------------------------------------------------

_CHECK_KEYS = ["kpi_key", "venue_id", "period_type", "period_start", "period_end"]


def missing_calculations(
    stored: pl.DataFrame, periods: pl.DataFrame, definitions: pl.DataFrame
) -> pl.DataFrame:
    """Expected (kpi_key, venue_id, period_type, period_start, period_end) absent from `stored`.

    periods: venue_id, period_type, period_start, period_end of every period the window must cover.
    """
    expected = [
        periods.filter(pl.col("period_type") == name).with_columns(pl.lit(kpi["kpi_key"]).alias("kpi_key"))
        for kpi in definitions.filter(pl.col("enabled")).iter_rows(named=True)
        for name, period in PERIOD_TYPES.items()
        if applies_to(kpi, period)
    ]
    if not expected:
        return pl.DataFrame(schema={k: stored.schema[k] for k in _CHECK_KEYS})
    return (
        pl.concat(expected)
        .select(_CHECK_KEYS)
        .join(stored.select(_CHECK_KEYS), on=_CHECK_KEYS, how="anti")
        .sort(_CHECK_KEYS)
    )


def misjudged(stored: pl.DataFrame, definitions: pl.DataFrame) -> pl.DataFrame:
    """Stored rows whose status is not the one their value earns under the definitions'
    thresholds, or that name a KPI the definitions no longer hold."""
    judged = stored.join(
        definitions.select("kpi_key", "target", "warning_threshold", "critical_threshold", "direction"),
        on="kpi_key",
        how="left",
    ).with_columns(_judged_status().alias("expected_status"))
    wrong = pl.col("status").ne_missing(pl.col("expected_status")) | pl.col("direction").is_null()
    return judged.filter(wrong).select(*_CHECK_KEYS, "value", "status", "expected_status")


# ---- scorecard --------------------------------------------------------------------------

# A scorecard's average is over this many periods before the reported one (4 weeks for a week).
SCORECARD_AVERAGE_PERIODS = 4


def scorecard(
    calculations: pl.DataFrame, definitions: pl.DataFrame, start: dt.date, period: PeriodType
) -> pl.DataFrame:
    """One row per enabled KPI of the period beginning on `start`, in catalogue order: kpi_key,
    name, unit, direction, value, value_previous (the period before: last week, the same
    night last week, last month), value_average (mean of the values of the
    SCORECARD_AVERAGE_PERIODS periods before, those with a value), target and status (the
    stored one, from `status`).

    calculations: one venue's kpi_calculations rows of this period type, holding `start` and
    the periods before it (missing periods count as no value).
    """
    step = period.trailing[0]
    before = [period.back(start, step * k) for k in range(1, SCORECARD_AVERAGE_PERIODS + 1)]
    values = calculations.select("kpi_key", "period_start", "value")
    current = calculations.filter(pl.col("period_start") == start).select("kpi_key", "value", "status")
    previous = values.filter(pl.col("period_start") == before[0]).select(
        "kpi_key", pl.col("value").alias("value_previous")
    )
    average = (
        values.filter(pl.col("period_start").is_in(before))
        .group_by("kpi_key")
        .agg(pl.col("value").mean().alias("value_average"))
    )
    enabled = definitions.filter(pl.col("enabled"))
    shown = [kpi["kpi_key"] for kpi in enabled.iter_rows(named=True) if applies_to(kpi, period)]
    return (
        enabled.filter(pl.col("kpi_key").is_in(shown))
        .sort("position")
        .select("kpi_key", "name", "unit", "direction", "target")
        .join(current, on="kpi_key", how="left")
        .join(previous, on="kpi_key", how="left")
        .join(average, on="kpi_key", how="left")
        .select(
            "kpi_key",
            "name",
            "unit",
            "direction",
            "value",
            "value_previous",
            "value_average",
            "target",
            "status",
        )
    )
