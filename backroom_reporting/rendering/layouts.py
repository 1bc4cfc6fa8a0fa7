"""Report layouts: report_layouts/<key>.yaml, editable without Python (docs/reports.md).

A layout names a report, its default schedule, its period, formats and cache TTL, and
its ordered sections. Each section has a type (summary, metrics, table, chart), a data
source, query config (filters, columns, sort, limit, look-back) and display settings.
Loading validates everything and fails with the file, the section and the field.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, StrictInt, StrictStr, model_validator

from backroom_reporting.choices import listing, one_of
from backroom_reporting.config_types import (
    Choice,
    ConfigModel,
    Cron,
    FieldProblem,
    Timezone,
    checked_yaml,
    require_distinct_keys,
)
from backroom_reporting.rendering.model import FORMATS, Column
from backroom_reporting.rendering.sources import DERIVED_SOURCES, TABLE_SOURCES, PeriodKind

SECTION_TYPES = ("summary", "metrics", "table", "chart")
PERIODS: tuple[PeriodKind, ...] = ("business_day", "business_week", "month")
VALUE_KINDS = ("text", "date", "hour", "count", "money", "percent", "number", "score")
CHART_KINDS = ("bar", "stacked_bar", "line")
AGGREGATES = ("count", "sum", "mean", "min", "max")
DISPLAY_OPTIONS = {
    "summary": {"caption"},
    "metrics": {"caption", "kpis", "scorecard", "by_venue"},
    "table": {"caption", "totals", "empty_note"},
    "chart": {
        "caption",
        "chart",
        "x",
        "x_label",
        "y_title",
        "empty_note",
        "only_trading_hours",
        "only_trading_days",
    },
}
# Summary sections are written from the data by a named writer (rendering/content.py).
WRITERS = ("executive_summary", "weekly_overview", "recommendations", "group_overview")
# Whose report a layout makes: one venue's, or every venue's side by side (docs/reports.md
# "Group reports"). What only makes sense for one of them:
SCOPES = ("venue", "group")
GROUP_ONLY_WRITERS = {"group_overview"}
VENUE_ONLY_SOURCES = {
    "executive_summary",
    "weekly_overview",
    "recommendations",
    "forecast_with_actuals",
    "top_performers_by_role",
}
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
    scope: str  # one of SCOPES
    # sha256 of the layout file and the shared templates and stylesheet: the exact version
    # of what made a report.
    content_hash: str
    definition: str  # the YAML text, kept for diffs between versions

    @property
    def short_hash(self) -> str:
        return self.content_hash[:12]


# ---- the file as written, checked by pydantic ------------------------------------------------


class _LayoutPart(ConfigModel):
    @model_validator(mode="before")
    @classmethod
    def _blank_is_left_out(cls, data: Any) -> Any:
        # `display:` with nothing after it is YAML's null: the same as leaving the field out.
        if not isinstance(data, dict):
            return data
        required = {name for name, field in cls.model_fields.items() if field.is_required()}
        return {k: v for k, v in data.items() if v is not None or k in required}


def _column_spec(value: Any) -> Any:
    # A column may be written as its key alone.
    return {"key": value} if isinstance(value, str) else value


class _ColumnSpec(_LayoutPart):
    key: StrictStr
    label: StrictStr | None = None
    kind: Choice("kind", VALUE_KINDS) = "number"
    total: Choice("total", ("sum", "mean")) | None = None
    agg: Choice("agg", AGGREGATES) | None = None
    as_: StrictStr | None = Field(None, alias="as")


class _QuerySpec(_LayoutPart):
    filters: dict[str, Any] = Field(default_factory=dict)
    columns: tuple[Annotated[_ColumnSpec, BeforeValidator(_column_spec)], ...] = ()
    group_by: tuple[StrictStr, ...] = ()
    sort: tuple[StrictStr, ...] = ()  # "column" ascending, "-column" descending
    limit: Annotated[StrictInt, Field(ge=1)] | None = None
    look_back_days: Annotated[StrictInt, Field(ge=0)] = 0


class _SectionSpec(_LayoutPart):
    key: StrictStr
    title: StrictStr
    type: Choice("type", SECTION_TYPES)
    source: StrictStr
    query: _QuerySpec = _QuerySpec()
    display: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _fits_its_source(self) -> _SectionSpec:
        """The columns, filters and display options exist for this type and source."""
        kind, source, query, display = self.type, self.source, self.query, self.display
        table, derived = TABLE_SOURCES.get(source), DERIVED_SOURCES.get(source)
        if kind == "summary":
            one_of("summary source", source, WRITERS, _problem("source"))
            known = None
        elif table is None and derived is None:
            known_sources = listing(sorted({*TABLE_SOURCES, *DERIVED_SOURCES}))
            raise FieldProblem("source", f"unknown source {source!r}; known: {known_sources}")
        else:
            known = table.columns() if table is not None else derived
        if derived is not None and (query.filters or query.group_by):
            raise FieldProblem(
                "query", f"{source} is computed for the section, so it takes no filters or group_by"
            )
        unknown = set(display) - DISPLAY_OPTIONS[kind]
        if unknown:
            raise FieldProblem(
                "display",
                f"unknown display option {', '.join(sorted(unknown))}; "
                f"a {kind} takes {', '.join(sorted(DISPLAY_OPTIONS[kind]))}",
            )
        for column in query.filters:
            if known is not None and column not in known:
                raise FieldProblem(("query", "filters"), f"filter on unknown column {column!r}")
        for column in query.group_by:
            if known is not None and column not in known:
                raise FieldProblem(("query", "group_by"), f"group by unknown column {column!r}")
        for i, spec in enumerate(query.columns):
            where = ("query", "columns", i)
            if known is not None and spec.key not in known:
                raise FieldProblem((*where, "key"), f"unknown column {spec.key!r}")
            if spec.key in query.group_by and spec.agg is not None:
                raise FieldProblem((*where, "agg"), f"{spec.key!r} groups the rows, so it takes no agg")
            if query.group_by and spec.key not in query.group_by:
                one_of("agg", spec.agg, AGGREGATES, _problem((*where, "agg")))
            if not query.group_by and spec.agg is not None:
                raise FieldProblem((*where, "agg"), "agg needs query.group_by")
        if kind == "chart":
            one_of("chart", display.get("chart"), CHART_KINDS, _problem(("display", "chart")))
            if not display.get("x") or (known is not None and display["x"] not in known):
                raise FieldProblem(("display", "x"), f"must name a column of {source}")
        if kind in ("chart", "table") and not query.columns:
            raise FieldProblem(("query", "columns"), f"a {kind} needs columns (its series or table columns)")
        # Sorting happens after grouping, so it may name an output column too.
        sortable = (known or set()) | {c.as_ or c.key for c in query.columns}
        for column in query.sort:
            if known is not None and column.lstrip("-") not in sortable:
                raise FieldProblem(("query", "sort"), f"sort by unknown column {column!r}")
        return self

    def layout(self) -> SectionLayout:
        columns = []
        for spec in self.query.columns:
            name = spec.as_ or spec.key
            label = spec.label or name.replace("_", " ").capitalize()
            columns.append(QueryColumn(spec.key, Column(name, label, spec.kind, spec.total), spec.agg))
        query = self.query
        return SectionLayout(
            key=self.key,
            title=self.title,
            type=self.type,
            source=self.source,
            query=Query(
                query.filters,
                tuple(columns),
                query.group_by,
                query.sort,
                query.limit,
                query.look_back_days,
            ),
            display=self.display,
        )


def _problem(location: str | tuple[str | int, ...]):
    """An exception class for choices.one_of that blames `location` within the model."""
    return lambda message: FieldProblem(location, message)


class _Schedule(_LayoutPart):
    cron: Cron
    timezone: Timezone = "Europe/London"


class _LayoutSpec(_LayoutPart):
    key: StrictStr
    title: StrictStr
    version: StrictInt
    description: StrictStr = ""
    schedule: _Schedule
    period: Choice("period", PERIODS)
    formats: Annotated[list[Choice("format", FORMATS)], Field(min_length=1)]
    cache_ttl_minutes: Annotated[StrictInt, Field(ge=0)]
    scope: Choice("scope", SCOPES) = "venue"
    sections: Annotated[list[_SectionSpec], Field(min_length=1)]

    @model_validator(mode="after")
    def _section_keys_differ(self) -> _LayoutSpec:
        require_distinct_keys("sections", "section", [entry.key for entry in self.sections])
        return self

    @model_validator(mode="after")
    def _sections_fit_scope(self) -> _LayoutSpec:
        """A group layout shows every venue side by side: no section made for one venue's
        figures, and its KPIs by venue; a venue layout has nothing of the group's."""
        for i, section in enumerate(self.sections):
            by_venue = bool(section.display.get("by_venue"))
            if self.scope == "group" and section.source in VENUE_ONLY_SOURCES:
                raise FieldProblem(
                    ("sections", i, "source"),
                    f"{section.source} is one venue's: a group layout cannot use it",
                )
            if self.scope == "group" and section.type == "metrics" and not by_venue:
                raise FieldProblem(
                    ("sections", i, "display"),
                    "a group layout's metrics are by_venue: true (a row per venue)",
                )
            if self.scope == "venue" and (section.source in GROUP_ONLY_WRITERS or by_venue):
                what = "by_venue" if by_venue else section.source
                raise FieldProblem(
                    ("sections", i), f"{what} is for group layouts only: add scope: group to the layout"
                )
        return self


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
    """The layout in `path`; a LayoutError names the file, the field and what is wrong with it."""
    return _parsed(path.as_posix(), path.stem, path.read_text(encoding="utf-8"), shared)


# Layouts are read for every subscription of a run (its template, its next delivery time):
# a layout is parsed once per content, and an edited file, having other content, again.
@functools.lru_cache(maxsize=64)
def _parsed(where: str, stem: str, text: str, shared: bytes) -> Layout:
    shape = "a layout is a mapping of fields"
    _, spec = checked_yaml(text, where, _LayoutSpec, shape, LayoutError, listed="sections")
    if spec.key != stem:
        raise LayoutError(f"{where}: key: {spec.key!r} must match the file name {stem!r}")
    return Layout(
        key=spec.key,
        title=spec.title,
        version=spec.version,
        description=spec.description,
        cron=spec.schedule.cron,
        timezone=spec.schedule.timezone,
        period=spec.period,
        formats=tuple(spec.formats),
        cache_ttl_minutes=spec.cache_ttl_minutes,
        sections=tuple(section.layout() for section in spec.sections),
        scope=spec.scope,
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
