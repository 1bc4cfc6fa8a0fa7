"""Generating one subscription's report: reuse what is fresh, render what is not, keep a record.

Every attempt appends a report_generation_history row. A failed attempt records its error
and re-raises; the last good report stays where it was, and latest_report() marks it
stale.

Subscriptions rendered together (one run at the report time) share a `SharedRenders`: the
report's data, each file and the email body are made once per distinct (template version,
period, filters) and format, and every subscription asking for the same is handed what the
first one made; its history row names that generation in `reused_from` (docs/reports.md,
"Many subscriptions in one run").
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from backroom_reporting.rendering.build import ReportBuilder, Subject
from backroom_reporting.rendering.history import Generation, append_generation, canonical, reusable_files
from backroom_reporting.rendering.layouts import Layout
from backroom_reporting.rendering.model import RenderedFile, Report
from backroom_reporting.rendering.periods import ReportPeriod
from backroom_reporting.rendering.store import ReportStore
from backroom_reporting.warehouse.database import Database
from backroom_reporting.warehouse.faults import Fault

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


@dataclasses.dataclass
class Shared:
    """What one generation built for a (template version, period, filters): the report, its
    stored files by format and its email body, each with the generation that made it."""

    report: Report
    built_by: str
    files: dict[str, dict] = dataclasses.field(default_factory=dict)
    email_parts: dict | None = None


class SharedRenders:
    """The renders of one run, kept for every subscription that asks for the same again.

    Only successes are kept: a report that could not be built is tried again (and fails
    again, recorded) for each subscription that asks for it. A run with several distinct PDFs
    starts printing them all first (`print_ahead`), in the printer's worker processes."""

    def __init__(self) -> None:
        # WeasyPrint loads here, when a run renders, not when the code location loads.
        from backroom_reporting.rendering.pdf import PdfPrinter

        self._by_key: dict[str, Shared] = {}
        # Reports built ahead (by print_ahead) with the seconds their data took, until a
        # generation takes them.
        self._built_ahead: dict[str, tuple[Report, float]] = {}
        self.printer = PdfPrinter()
        # How many reports were built and files rendered: the run's own account of its sharing.
        self.builds = 0
        self.renders = 0
        self._report_of: dict[str, str] = {}

    def __enter__(self) -> SharedRenders:
        return self

    def __exit__(self, *_exc) -> None:
        self.printer.close()

    @staticmethod
    def key(layout: Layout, period: ReportPeriod, filters: dict[str, str]) -> str:
        return canonical([layout.content_hash, period.kind, period.first_day, period.last_day, filters])

    def get(self, key: str) -> Shared | None:
        return self._by_key.get(key)

    def keep(self, key: str, shared: Shared) -> None:
        self._by_key[key] = shared

    def handed(self, generation_id: str, shared: Shared) -> None:
        self._report_of[generation_id] = shared.built_by

    def built_by(self, generation_id: str) -> str:
        """The generation that built the report `generation_id` was handed (itself, if it built it)."""
        return self._report_of.get(generation_id, generation_id)

    def report(self, db: Database, request: Request, now: dt.datetime) -> tuple[Report, float]:
        """The request's report, built ahead or now, and the seconds its data took."""
        key = SharedRenders.key(request.layout, request.period, request.filters)
        if key in self._built_ahead:
            return self._built_ahead.pop(key)
        began = time.perf_counter()
        subject = Subject.from_filters(request.filters)
        report = ReportBuilder(db, request.layout, request.period, subject, now).build()
        return report, time.perf_counter() - began

    def print_ahead(
        self, db: Database, requests: list[Request], charts, now: dt.datetime, layouts_dir: Path | None = None
    ) -> int:
        """Hand every distinct PDF the run will print to the printer now, when there are two or
        more (one is printed in line: a worker would only add its start-up). Returns how many.

        A report that cannot be built here is left to its generation, which records why."""
        from backroom_reporting.rendering.formats import print_variant

        to_print: dict[str, Request] = {}
        for request in requests:
            key = SharedRenders.key(request.layout, request.period, request.filters)
            if "pdf" in request.formats and key not in to_print:
                earlier = reusable_files(
                    db,
                    request.layout.content_hash,
                    request.period.first_day,
                    request.period.last_day,
                    request.filters,
                    now,
                )
                if "pdf" not in earlier:
                    to_print[key] = request
        if len(to_print) < 2:
            return 0
        handed = 0
        for key, request in to_print.items():
            try:
                report, seconds = self.report(db, request, now)
                self._built_ahead[key] = (report, seconds)
                self.printer.print_ahead(print_variant(report, charts, layouts_dir))
                handed += 1
            except Exception as exc:
                if isinstance(exc, Fault) and exc.transient:
                    raise  # the warehouse, not this report: the step is tried again
        return handed


def _as_made_by(file: dict, generation_id: str) -> dict:
    """A shared file as a generation records it: reused_from names another generation, or None."""
    return {**file, "reused_from": None if file["reused_from"] == generation_id else file["reused_from"]}


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
    shared: SharedRenders | None = None,
) -> tuple[Generation, dict[str, float]]:
    """Produce `request`'s report in its formats (and its email body when asked); returns the
    history row written and the seconds spent per stage (data, charts, html, pdf, xlsx, csv,
    email) on what this generation made itself: nothing of what it took from `shared`."""
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
    shared = shared if shared is not None else SharedRenders()
    key = SharedRenders.key(layout, period, request.filters)
    timings: dict[str, float] = {}
    try:
        made = shared.get(key)
        if made is None:
            report, timings["data"] = shared.report(db, request, now)
            shared.builds += 1
            made = Shared(report, base["generation_id"])
            shared.keep(key, made)
        report = made.report
        shared.handed(base["generation_id"], made)
        missing = [f for f in request.formats if f not in made.files]
        if missing:
            # Identical files made by an earlier run, still within the template's cache TTL.
            earlier = reusable_files(
                db, layout.content_hash, period.first_day, period.last_day, request.filters, now
            )
            made.files.update({f: earlier[f] for f in missing if f in earlier})
            missing = [f for f in missing if f not in earlier]
        if missing:
            files, render_seconds = render(report, missing, charts, layouts_dir, shared.printer.pdf)
            timings.update(render_seconds)
            shared.renders += len(files)
            # Kept as those who reuse them see them: made by this generation.
            made.files.update(
                {
                    f.format: {**dataclasses.asdict(store.put(f)), "reused_from": base["generation_id"]}
                    for f in files
                }
            )
        email_parts = None
        if request.email:
            if made.email_parts is None:
                started = time.perf_counter()
                made.email_parts = stored_email_body(
                    render_email(report, charts, layouts_dir), report.file_stem, store
                )
                timings = {**timings, "email": time.perf_counter() - started}
            email_parts = made.email_parts
        generation = Generation(
            **base,
            files=[_as_made_by(made.files[f], base["generation_id"]) for f in request.formats],
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
    return generation, timings
