"""A generated report as delivery sees it: its files, its email body and its headline figures."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import sqlalchemy as sa

from backroom_reporting.delivery.model import DeliverableReport, Headline, ReportFile, Stale
from backroom_reporting.rendering.layouts import Layout
from backroom_reporting.rendering.periods import ReportPeriod
from backroom_reporting.warehouse.database import Database
from backroom_reporting.warehouse.tables.aggregations import daily_aggregations
from backroom_reporting.warehouse.tables.reports import report_generation_history

# KPI statuses worth a line in a short message, worst first.
ALARMING = ("critical", "warning")


def headline(db: Database, venue_id: str | None, first_day: dt.date, last_day: dt.date) -> tuple:
    """(takings in pence, admissions) of the venue's nights in the period, from daily_aggregations:
    the figures a text message has room for."""
    table = daily_aggregations
    where = sa.and_(table.c.business_date >= first_day, table.c.business_date <= last_day)
    if venue_id is not None:
        where = sa.and_(where, table.c.venue_id == venue_id)
    nights = db.read_columns(table.c.gross_revenue_pence, table.c.check_ins, where=where)
    if nights.is_empty():
        return None, None
    return int(nights["gross_revenue_pence"].sum()), int(nights["check_ins"].sum())


def first_warning(warnings: list[str], key_metrics: dict) -> str | None:
    """The report's first warning, else its worst KPI status in words (e.g. "No-show rate: critical")."""
    if warnings:
        return warnings[0]
    for status in ALARMING:
        for key, value in key_metrics.items():
            if key.endswith("_status") and value == status:
                return f"{key.removesuffix('_status').replace('_', ' ').capitalize()}: {status}"
    return None


def deliverable(db: Database, generation: dict, layout: Layout, period: ReportPeriod) -> DeliverableReport:
    """A report_generation_history row (a succeeded one) ready for the channels."""
    key_metrics = json.loads(generation["key_metrics"])
    warnings = json.loads(generation["warnings"])
    revenue, admissions = headline(db, generation["venue_id"], period.first_day, period.last_day)
    return DeliverableReport(
        generation_id=generation["generation_id"],
        template_key=generation["template_key"],
        title=layout.title,
        period=period.slug,
        period_first_day=period.first_day,
        period_last_day=period.last_day,
        venue_id=generation["venue_id"],
        filters=json.loads(generation["filters"]),
        files=tuple(
            ReportFile(f["format"], f["name"], f["path"], f["size_bytes"])
            for f in json.loads(generation["files"])
        ),
        email_parts=json.loads(generation["email_parts"]) if generation.get("email_parts") else None,
        key_metrics=key_metrics,
        warnings=tuple(warnings),
        headline=Headline(revenue, admissions, first_warning(warnings, key_metrics)),
        generated_at=generation["generated_at"],
    )


def generation_for(
    db: Database, subscription_id: str, period: ReportPeriod, *, good_only: bool = False
) -> dict | None:
    """The newest generation of the subscription's report for `period` (None when there is none);
    with `good_only`, the newest that succeeded: a later failed re-render does not undo a good
    report of the same figures."""
    table = report_generation_history
    where = [
        table.c.subscription_id == subscription_id,
        table.c.period_first_day == period.first_day,
        table.c.period_last_day == period.last_day,
    ]
    if good_only:
        where.append(table.c.status == "succeeded")
    rows = db.read_table(table, *where).sort("generated_at")
    return rows.row(-1, named=True) if rows.height else None


def last_good_before(db: Database, subscription_id: str, period: ReportPeriod) -> dict | None:
    """The subscription's newest succeeded report of a period before `period`: what goes out,
    marked stale, when `period`'s own report failed."""
    table = report_generation_history
    rows = db.read_table(
        table,
        table.c.subscription_id == subscription_id,
        table.c.period_last_day < period.first_day,
        table.c.status == "succeeded",
    ).sort("period_last_day", "generated_at")
    return rows.row(-1, named=True) if rows.height else None


def why_failed(generation: dict | None, title: str, period: ReportPeriod) -> str:
    """One line: why `period`'s report cannot be sent (its newest generation failed, or never ran)."""
    if generation is None:
        return f"the {title} for {period.label} was never generated"
    error = (generation["error"] or "no error was recorded").strip().splitlines()[0]
    return f"the {title} for {period.label} failed: {error[:200]}"


def stale(report: DeliverableReport, period: ReportPeriod, reason: str) -> DeliverableReport:
    """`report` (the last good one) sent for `period`, whose own report failed for `reason`."""
    return dataclasses.replace(report, stale=Stale(period.slug, period.first_day, period.last_day, reason))
