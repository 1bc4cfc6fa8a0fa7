"""Report layouts: report_layouts/<key>.yaml, editable without Python (docs/reports.md).

A layout names a report, its default schedule, its period, formats and cache TTL, and
its ordered sections. Each section has a type (summary, metrics, table, chart), a data
source, query config (filters, columns, sort, limit, look-back) and display settings.
Loading validates everything and fails with the file, the section and the field.
"""

from __future__ import annotations

import hashlib
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from croniter import croniter

from backroom_reporting.choices import one_of
from backroom_reporting.rendering.model import FORMATS, Column
from backroom_reporting.rendering.sources import DERIVED_SOURCES, TABLE_SOURCES, PeriodKind

SECTION_TYPES = ("summary", "metrics", "table", "chart")
PERIODS: tuple[PeriodKind, ...] = ("business_day", "business_week", "month")
VALUE_KINDS = ("text", "date", "hour", "count", "money", "percent", "number", "score")
CHART_KINDS = ("bar", "stacked_bar", "line")
AGGREGATES = ("count", "sum", "mean", "min", "max")
DISPLAY_OPTIONS = {
    "summary": {"caption"},
    "metrics": {"caption", "kpis"},
    "table": {"caption", "totals", "empty_note"},
    "chart": {"caption", "chart", "x", "y_title", "empty_note", "only_trading_hours", "only_trading_days"},
}
# Summary sections are written from the data by a named writer (rendering/content.py).
WRITERS = ("executive_summary", "weekly_overview", "recommendations")
# Every file under report_layouts/ but the layouts themselves shapes how reports look.
SHARED_PRESENTATION = ("templates", "report.css")


class LayoutError(ValueError):
    """A layout that cannot be used, with where and why."""


@dataclass(frozen=True)
class QueryColumn:
    """A column a section reads: `source` from the table, aggregated by `agg` when the query
    groups, shown as `column` (whose key is the output name)."""

    source: str
    column: Column
    agg: str | None = None


@dataclass(frozen=True)
class Query:
    filters: dict[str, Any] = field(default_factory=dict)
    columns: tuple[QueryColumn, ...] = ()
    group_by: tuple[str, ...] = ()
    sort: tuple[str, ...] = ()  # "column" ascending, "-column" descending
    limit: int | None = None
    look_back_days: int = 0  # read this many days before the period too (trends)


@dataclass(frozen=True)
class SectionLayout:
    key: str
    title: str
    type: str
    source: str
    query: Query
    display: dict[str, Any]


@dataclass(frozen=True)
class Layout:
    key: str
    title: str
    version: int
    description: str
    cron: str
    timezone: str
    period: PeriodKind
    formats: tuple[str, ...]
    cache_ttl_minutes: int
    sections: tuple[SectionLayout, ...]
    # sha256 of the layout file and the shared templates and stylesheet: the exact version
    # of what made a report.
    content_hash: str
    definition: str  # the YAML text, kept for diffs between versions

    @property
    def short_hash(self) -> str:
        return self.content_hash[:12]


def _require(where: str, mapping: dict, name: str, kind: type | tuple[type, ...]):
    if name not in mapping:
        raise LayoutError(f"{where}: `{name}` is required")
    value = mapping[name]
    if not isinstance(value, kind):
        expected = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise LayoutError(f"{where}: `{name}` must be {expected}, not {value!r}")
    return value


def _columns(
    where: str, specs: list, known: AbstractSet[str] | None, group_by: tuple[str, ...]
) -> tuple[QueryColumn, ...]:
    columns = []
    for i, spec in enumerate(specs):
        spec = {"key": spec} if isinstance(spec, str) else spec
        place = f"{where} column {i + 1}"
        key = _require(place, spec, "key", str)
        if known is not None and key not in known:
            raise LayoutError(f"{place}: unknown column {key!r}")
        kind = spec.get("kind", "number")
        one_of("kind", kind, VALUE_KINDS, LayoutError, place)
        total = spec.get("total")
        one_of("total", total, ("sum", "mean", None), LayoutError, place)
        agg = spec.get("agg")
        if group_by:
            if key in group_by and agg is not None:
                raise LayoutError(f"{place}: {key!r} groups the rows, so it takes no agg")
            if key not in group_by:
                one_of("agg", agg, AGGREGATES, LayoutError, place)
        elif agg is not None:
            raise LayoutError(f"{place}: agg needs query.group_by")
        name = spec.get("as", key)
        label = spec.get("label", name.replace("_", " ").capitalize())
        columns.append(QueryColumn(key, Column(name, label, kind, total), agg))
    return tuple(columns)


def _section(where: str, raw: dict) -> SectionLayout:
    key = _require(where, raw, "key", str)
    where = f"{where} ({key})"
    kind = _require(where, raw, "type", str)
    one_of("type", kind, SECTION_TYPES, LayoutError, where)
    source = _require(where, raw, "source", str)
    table = TABLE_SOURCES.get(source)
    derived = DERIVED_SOURCES.get(source)
    if kind == "summary":
        one_of("summary source", source, WRITERS, LayoutError, where)
    elif table is None and derived is None:
        known_sources = ", ".join(sorted({*TABLE_SOURCES, *DERIVED_SOURCES}))
        raise LayoutError(f"{where}: unknown source {source!r}; known: {known_sources}")
    known = table.columns() if table is not None else derived
    query = raw.get("query") or {}
    filters = query.get("filters") or {}
    if derived is not None and (filters or query.get("group_by")):
        raise LayoutError(
            f"{where}: {source} is computed for the section, so it takes no filters or group_by"
        )
    for column in filters:
        if known is not None and column not in known:
            raise LayoutError(f"{where}: filter on unknown column {column!r}")
    sort = tuple(query.get("sort") or ())
    limit = query.get("limit")
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise LayoutError(f"{where}: limit must be a positive whole number, not {limit!r}")
    group_by = tuple(query.get("group_by") or ())
    for column in group_by:
        if known is not None and column not in known:
            raise LayoutError(f"{where}: group by unknown column {column!r}")
    display = raw.get("display") or {}
    unknown = set(display) - DISPLAY_OPTIONS[kind]
    if unknown:
        raise LayoutError(
            f"{where}: unknown display option {', '.join(sorted(unknown))}; "
            f"a {kind} takes {', '.join(sorted(DISPLAY_OPTIONS[kind]))}"
        )
    columns = _columns(where, query.get("columns") or [], known, group_by)
    if kind == "chart":
        one_of("display.chart", display.get("chart"), CHART_KINDS, LayoutError, where)
        if not display.get("x") or (known is not None and display["x"] not in known):
            raise LayoutError(f"{where}: display.x must name a column of {source}")
        if not columns:
            raise LayoutError(f"{where}: a chart needs query.columns for its series")
    if kind == "table" and not columns:
        raise LayoutError(f"{where}: a table needs query.columns")
    # Sorting happens after grouping, so it may name an output column too.
    sortable = (known or set()) | {c.column.key for c in columns}
    for column in sort:
        if known is not None and column.lstrip("-") not in sortable:
            raise LayoutError(f"{where}: sort by unknown column {column!r}")
    return SectionLayout(
        key=key,
        title=_require(where, raw, "title", str),
        type=kind,
        source=source,
        query=Query(filters, columns, group_by, sort, limit, int(query.get("look_back_days", 0))),
        display=display,
    )


def presentation_bytes(folder: Path) -> bytes:
    """The shared templates and stylesheet, in a stable order, for the content hash."""
    files = []
    for name in SHARED_PRESENTATION:
        path = folder / name
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.is_file())
        elif path.exists():
            files.append(path)
    return b"".join(p.relative_to(folder).as_posix().encode() + b"\0" + p.read_bytes() for p in files)


def parse_layout(path: Path, shared: bytes = b"") -> Layout:
    where = path.name
    text = path.read_text(encoding="utf-8")
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise LayoutError(f"{where}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise LayoutError(f"{where}: a layout is a mapping of fields")
    key = _require(where, raw, "key", str)
    if key != path.stem:
        raise LayoutError(f"{where}: key {key!r} must match the file name {path.stem!r}")
    schedule = _require(where, raw, "schedule", dict)
    cron = _require(f"{where} schedule", schedule, "cron", str)
    if not croniter.is_valid(cron):
        raise LayoutError(f"{where}: schedule.cron {cron!r} is not a valid cron expression")
    period = _require(where, raw, "period", str)
    one_of("period", period, PERIODS, LayoutError, where)
    formats = tuple(_require(where, raw, "formats", list))
    for fmt in formats:
        one_of("format", fmt, FORMATS, LayoutError, where)
    ttl = _require(where, raw, "cache_ttl_minutes", int)
    if ttl < 0:
        raise LayoutError(f"{where}: cache_ttl_minutes must be 0 or more")
    sections = [
        _section(f"{where} section {i + 1}", s) for i, s in enumerate(_require(where, raw, "sections", list))
    ]
    keys = [s.key for s in sections]
    if len(set(keys)) != len(keys):
        raise LayoutError(
            f"{where}: section keys repeat: {', '.join(sorted({k for k in keys if keys.count(k) > 1}))}"
        )
    return Layout(
        key=key,
        title=_require(where, raw, "title", str),
        version=_require(where, raw, "version", int),
        description=raw.get("description", ""),
        cron=cron,
        timezone=schedule.get("timezone", "Europe/London"),
        period=period,
        formats=formats,
        cache_ttl_minutes=ttl,
        sections=tuple(sections),
        content_hash=hashlib.sha256(text.encode() + b"\0" + shared).hexdigest(),
        definition=text,
    )


def load_layouts(folder: Path | str) -> dict[str, Layout]:
    """Every layout in `folder` (*.yaml), by key."""
    folder = Path(folder)
    if not folder.is_dir():
        raise LayoutError(f"no report layouts folder at {folder.resolve()}")
    shared = presentation_bytes(folder)
    return {layout.key: layout for layout in (parse_layout(p, shared) for p in sorted(folder.glob("*.yaml")))}
