"""Generating one subscription's report: reuse what is fresh, render what is not, keep a record.

Every attempt appends a report_generation_history row. A failed attempt records its error
and re-raises; the last good report stays where it was, and latest_report() marks it
stale.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from backroom_reporting.rendering.build import ReportBuilder, Subject
from backroom_reporting.rendering.history import Generation, append_generation, reusable_files
from backroom_reporting.rendering.layouts import Layout
from backroom_reporting.rendering.model import RenderedFile, Report
from backroom_reporting.rendering.periods import ReportPeriod
from backroom_reporting.rendering.store import ReportStore
from backroom_reporting.warehouse.database import Database

if TYPE_CHECKING:
    from backroom_reporting.rendering.email_body import EmailBody


def section_rows(report: Report) -> dict[str, int]:
    """How much each section showed: table rows, chart points, KPI cards or lines of text."""
    counts = {}
    for section in report.sections:
        if section.table is not None:
            counts[section.key] = section.table.height
        elif section.chart is not None:
            counts[section.key] = section.chart.data.height
        else:
            counts[section.key] = len(section.cards) or len(section.paragraphs) + len(section.bullets)
    return counts


def key_metrics(report: Report) -> dict[str, float | str | None]:
    """The report's KPI values and statuses, for the history row."""
    metrics: dict[str, float | str | None] = {}
    for section in report.sections:
        for card in section.cards:
            metrics[card.key] = card.value
            metrics[f"{card.key}_status"] = card.status
    return metrics


def stored_email_body(body: EmailBody, stem: str, store: ReportStore) -> dict:
    """The email body put in the store, as report_generation_history's email_parts records it."""
    html = store.put(RenderedFile("html", f"{stem}.email.html", body.html.encode("utf-8"), "text/html"))
    text = store.put(RenderedFile("txt", f"{stem}.email.txt", body.text.encode("utf-8"), "text/plain"))
    images = [
        {
            "cid": image.cid,
            "path": store.put(RenderedFile("png", image.name, image.png, "image/png")).path,
            "name": image.name,
        }
        for image in body.images
    ]
    return {"html": html.path, "text": text.path, "images": images}


@dataclasses.dataclass(frozen=True)
class Request:
    subscription_id: str
    layout: Layout
    period: ReportPeriod
    filters: dict[str, str]
    formats: tuple[str, ...]
    # The subscription goes by email: keep the report's email body (HTML, text, chart images) too.
    email: bool = False


def generate(
    db: Database,
    request: Request,
    charts,
    store: ReportStore,
    now: dt.datetime,
    run_id: str | None = None,
    layouts_dir: Path | None = None,
) -> tuple[Generation, dict[str, float]]:
    """Produce `request`'s report in its formats (and its email body when asked); returns the
    history row written and the seconds spent per stage (data, charts, html, pdf, xlsx, csv, email)."""
    # plotly, WeasyPrint and xlsxwriter load here, not when the code location loads.
    from backroom_reporting.rendering.email_body import render_email
    from backroom_reporting.rendering.formats import render

    began = time.perf_counter()
    layout, period = request.layout, request.period
    base = dict(
        generation_id=f"gen-{uuid.uuid4().hex[:12]}",
        subscription_id=request.subscription_id,
        template_key=layout.key,
        template_hash=layout.content_hash,
        venue_id=request.filters.get("venue_id"),
        period_kind=period.kind,
        period_first_day=period.first_day,
        period_last_day=period.last_day,
        filters=request.filters,
        formats=list(request.formats),
        generated_at=now,
        dagster_run_id=run_id,
    )
    try:
        reuse = reusable_files(
            db, layout.content_hash, period.first_day, period.last_day, request.filters, now
        )
        report = ReportBuilder(db, layout, period, Subject.from_filters(request.filters), now).build()
        data_seconds = time.perf_counter() - began
        missing = [f for f in request.formats if f not in reuse]
        files, timings = render(report, missing, charts, layouts_dir) if missing else ([], {})
        made = {f.format: {**dataclasses.asdict(store.put(f)), "reused_from": None} for f in files}
        email_parts = None
        if request.email:
            started = time.perf_counter()
            email_parts = stored_email_body(
                render_email(report, charts, layouts_dir), report.file_stem, store
            )
            timings = {**timings, "email": time.perf_counter() - started}
        generation = Generation(
            **base,
            files=[made.get(f) or reuse[f] for f in request.formats],
            row_counts=section_rows(report),
            key_metrics=key_metrics(report),
            warnings=list(report.warnings),
            duration_seconds=time.perf_counter() - began,
            status="succeeded",
            error=None,
            expires_at=now + dt.timedelta(minutes=layout.cache_ttl_minutes),
            email_parts=email_parts,
        )
        store.publish_latest(
            request.subscription_id, f"{layout.key}-{period.slug}", [f["path"] for f in generation.files]
        )
    except Exception as exc:
        failed = Generation(
            **base,
            files=[],
            row_counts={},
            key_metrics={},
            warnings=[],
            duration_seconds=time.perf_counter() - began,
            status="failed",
            error=f"{type(exc).__name__}: {exc}",
            expires_at=None,
        )
        append_generation(db, failed)
        raise
    append_generation(db, generation)
    return generation, {"data": data_seconds, **timings}
