"""What a delivery delivered: its report's title, period, figures, warnings and files.

Read from report_generation_history (the files and figures) and report_templates (the
title of the template version that made it). A file is offered through a fresh signed,
expiring download link each time a page or the API shows it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
from collections.abc import Callable, Mapping

import sqlalchemy as sa

from backroom_reporting.delivery import links
from backroom_reporting.delivery.ledger import Delivery
from backroom_reporting.metrics.kpis import catalogue_bytes, parse_catalogue
from backroom_reporting.rendering.build import UNIT_KINDS
from backroom_reporting.rendering.formatting import format_value
from backroom_reporting.warehouse.database import Database
from backroom_reporting.warehouse.tables.reports import report_generation_history, report_templates


@dataclasses.dataclass(frozen=True)
class DeliveredFile:
    format: str
    name: str
    size_bytes: int
    url: str  # signed and expiring


@dataclasses.dataclass(frozen=True)
class DeliveredReport:
    generation_id: str
    template_key: str
    title: str
    period: str
    period_first_day: dt.date
    period_last_day: dt.date
    venue_id: str | None
    filters: dict
    key_metrics: dict
    warnings: list[str]
    generated_at: dt.datetime
    files: list[DeliveredFile]
    files_removed_at: dt.datetime | None  # past their retention: nothing to download


def download_url(delivery_id: str, file: dict) -> str:
    return links.url("download", {"d": delivery_id, "p": file["path"], "n": file["name"]})


def titled(*columns: sa.ColumnElement) -> sa.Select:
    """`columns` of report_generation_history with the `title` of the template version that made each."""
    g, t = report_generation_history, report_templates
    return sa.select(*columns, t.c.title).select_from(
        g.outerjoin(t, sa.and_(t.c.template_key == g.c.template_key, t.c.content_hash == g.c.template_hash))
    )


def reports_of(db: Database, deliveries: list[Delivery]) -> dict[str, DeliveredReport]:
    """The report of each delivery, by delivery id; files are linked through the delivery's own id."""
    generations = {d.generation_id for d in deliveries}
    if not generations:
        return {}
    query = titled(*report_generation_history.c).where(
        report_generation_history.c.generation_id.in_(generations)
    )
    with db.engine.connect() as conn:
        rows = {row["generation_id"]: row for row in conn.execute(query).mappings()}
    found = {}
    for delivery in deliveries:
        row = rows.get(delivery.generation_id)
        if row is not None:
            found[delivery.delivery_id] = report_of(
                row, delivery.period, lambda f, d=delivery.delivery_id: download_url(d, f)
            )
    return found


def report_of(row: Mapping, period: str, file_url: Callable[[dict], str]) -> DeliveredReport:
    """A report_generation_history row (with its template's `title`) as a page shows it; each
    file offered at `file_url(file)`."""
    removed = row["files_removed_at"]
    files = [] if removed is not None else json.loads(row["files"])
    return DeliveredReport(
        generation_id=row["generation_id"],
        template_key=row["template_key"],
        title=row["title"] or row["template_key"].replace("_", " ").capitalize(),
        period=period,
        period_first_day=row["period_first_day"],
        period_last_day=row["period_last_day"],
        venue_id=row["venue_id"],
        filters=json.loads(row["filters"]),
        key_metrics=json.loads(row["key_metrics"]),
        warnings=json.loads(row["warnings"]),
        generated_at=row["generated_at"],
        files=[DeliveredFile(f["format"], f["name"], f["size_bytes"], file_url(f)) for f in files],
        files_removed_at=removed,
    )


@functools.cache
def _catalogue() -> dict[str, tuple[str, str]]:
    """KPI key -> (name, how its value is shown), from the KPI catalogue."""
    definitions = parse_catalogue(catalogue_bytes()).definitions
    return {
        row["kpi_key"]: (row["name"], UNIT_KINDS.get(row["unit"], "number"))
        for row in definitions.iter_rows(named=True)
    }


def figures(report: DeliveredReport) -> list[tuple[str, str, str | None]]:
    """The key figures as (name, value as a reader sees it, status) for a page."""
    known = _catalogue()
    shown = []
    for key, value in report.key_metrics.items():
        if key.endswith("_status"):
            continue
        name, kind = known.get(key, (key.replace("_", " ").capitalize(), "number"))
        shown.append((name, format_value(value, kind), report.key_metrics.get(f"{key}_status")))
    return shown
