"""The report archive: every report made for the venues a signed-in person covers.

`/archive` lists them newest first, by template, period and venue, a page at a time (keyset:
`after` names the last report of the page before, so a deep page costs what the first does).
`/archive/{id}` is one report's page with its interactive HTML in a sandboxed frame, and
`/archive/{id}/files/{format}` its files under names a person can read. Only files listed in
the report's own `files` are served: nothing in the URL becomes a path. A report of a venue
the person does not cover answers 404, as one that does not exist, so its existence is not
confirmed. Each view and download goes in the access log.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import unicodedata
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

import sqlalchemy as sa
from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from backroom_reporting.portal.downloads import media_type
from backroom_reporting.portal.pages import Refusal, page
from backroom_reporting.portal.people import REPORTS, Person
from backroom_reporting.portal.reports import figures, report_of, titled
from backroom_reporting.portal.scoped import as_person
from backroom_reporting.portal.sessions import CurrentPerson
from backroom_reporting.portal.state import Store, Warehouse
from backroom_reporting.privacy import audit
from backroom_reporting.rendering.model import GROUP, GROUP_NAME
from backroom_reporting.rendering.periods import ReportPeriod
from backroom_reporting.rendering.store import ReportStore
from backroom_reporting.warehouse.tables.raw import RAW
from backroom_reporting.warehouse.tables.reports import report_generation_history, report_templates

router = APIRouter()

PAGE_SIZE = 50
KINDS = {"business_day": "Daily", "business_week": "Weekly", "month": "Monthly"}
# The report's own page, in a frame: its scripts run in an opaque origin (no cookies, no
# portal pages), may fetch nothing, and only the portal may frame it.
SANDBOX = (
    "sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'unsafe-inline'; img-src data: blob:; font-src data:; frame-ancestors 'self'"
)
# Characters no file system or browser keeps in a file name.
NOT_IN_NAMES = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')


class FilterError(ValueError):
    """A filter the archive cannot apply, in one sentence."""


@dataclasses.dataclass(frozen=True)
class Filters:
    template: str = ""
    venue: str = ""  # a venue id, GROUP for group reports, "" for any
    kind: str = ""
    since: dt.date | None = None
    until: dt.date | None = None
    after: str = ""  # the last report of the page before


@dataclasses.dataclass(frozen=True)
class Entry:
    generation_id: str
    title: str
    venue: str
    period: str
    generated_at: dt.datetime
    files_removed: bool


def venue_names(conn: sa.Connection) -> dict[str, str]:
    venues = RAW["venues"]
    return dict(conn.execute(sa.select(venues.c.venue_id, venues.c.name).order_by(venues.c.name)).all())


def template_titles(conn: sa.Connection) -> dict[str, str]:
    """Template key -> the title of its newest version."""
    t = report_templates
    rows = conn.execute(sa.select(t.c.template_key, t.c.title).order_by(t.c.changed_at)).all()
    return dict(sorted(dict(rows).items(), key=lambda item: item[1]))


def venues_of(person: Person, names: dict[str, str]) -> dict[str, str]:
    """The venues a person may filter by, id -> name; group reports for accounts covering every venue."""
    mine = {venue: name for venue, name in names.items() if person.sees_venue(venue)}
    return mine | ({GROUP: GROUP_NAME} if person.sees_venue(None) else {})


def _date(text: str, what: str) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise FilterError(f"{what} {text!r} is not a date: write it as 2026-11-28") from None


def parse_filters(
    raw: dict[str, str], templates: dict[str, str], venues: dict[str, str]
) -> tuple[Filters, str | None]:
    """The filters asked for, and why they cannot be applied (None when they can)."""
    try:
        filters = Filters(
            template=raw["template"],
            venue=raw["venue"],
            kind=raw["kind"],
            since=_date(raw["since"], "from"),
            until=_date(raw["until"], "to"),
            after=raw["after"],
        )
    except FilterError as exc:
        return Filters(), str(exc)
    if filters.template and filters.template not in templates:
        return filters, f"there is no report template {filters.template!r}"
    if filters.venue and filters.venue not in venues:
        return filters, f"{filters.venue!r} is not one of your venues"
    if filters.kind and filters.kind not in KINDS:
        return filters, f"{filters.kind!r} is not a kind of period: choose daily, weekly or monthly"
    return filters, None


def visible(person: Person) -> sa.ColumnElement[bool]:
    """The succeeded reports of the person's venues; group reports only for every venue's accounts."""
    g = report_generation_history
    shown = g.c.status == "succeeded"
    if person.venue_ids is None:
        return shown
    return sa.and_(shown, g.c.venue_id.in_(person.venue_ids))


def archive_page(conn: sa.Connection, person: Person, filters: Filters) -> tuple[list[sa.RowMapping], bool]:
    """One page of the person's reports that match `filters`, newest first, and whether more follow.

    Every value is a bound parameter; `after` must be a report the person sees, else FilterError."""
    g = report_generation_history
    where = [visible(person)]
    if filters.template:
        where.append(g.c.template_key == filters.template)
    if filters.venue == GROUP:
        where.append(g.c.venue_id.is_(None))
    elif filters.venue:
        where.append(g.c.venue_id == filters.venue)
    if filters.kind:
        where.append(g.c.period_kind == filters.kind)
    if filters.since:
        where.append(g.c.period_last_day >= filters.since)
    if filters.until:
        where.append(g.c.period_first_day <= filters.until)
    if filters.after:
        last = conn.execute(
            sa.select(g.c.generated_at).where(g.c.generation_id == filters.after, visible(person))
        ).scalar()
        if last is None:
            raise FilterError("that page of the archive is not there: start again from the first")
        where.append(sa.tuple_(g.c.generated_at, g.c.generation_id) < sa.tuple_(last, filters.after))
    query = (
        titled(
            g.c.generation_id,
            g.c.template_key,
            g.c.venue_id,
            g.c.period_kind,
            g.c.period_first_day,
            g.c.period_last_day,
            g.c.generated_at,
            g.c.files_removed_at,
        )
        .where(*where)
        .order_by(g.c.generated_at.desc(), g.c.generation_id.desc())
        .limit(PAGE_SIZE + 1)
    )
    rows = conn.execute(query).mappings().all()
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE


def period_label(row: sa.RowMapping) -> str:
    return ReportPeriod(row["period_kind"], row["period_first_day"], row["period_last_day"]).label


def title_of(row: sa.RowMapping) -> str:
    return row["title"] or row["template_key"].replace("_", " ").capitalize()


@router.get("/archive", name="archive", response_class=HTMLResponse)
def archive(
    request: Request,
    person: CurrentPerson,
    db: Warehouse,
    template: Annotated[str, Query(max_length=200)] = "",
    venue: Annotated[str, Query(max_length=200)] = "",
    kind: Annotated[str, Query(max_length=200)] = "",
    since: Annotated[str, Query(alias="from", max_length=200)] = "",
    until: Annotated[str, Query(alias="to", max_length=200)] = "",
    after: Annotated[str, Query(max_length=200)] = "",
) -> HTMLResponse:
    """The person's reports, newest first, filtered by the GET form at the top."""
    person.require(REPORTS)
    asked = {"template": template, "venue": venue, "kind": kind, "since": since, "until": until}
    with as_person(db, person) as conn:
        names = venue_names(conn)
        templates = template_titles(conn)
        venues = venues_of(person, names)
        filters, problem = parse_filters(asked | {"after": after}, templates, venues)
        rows, more = [], False
        if problem is None:
            try:
                rows, more = archive_page(conn, person, filters)
            except FilterError as exc:
                problem = str(exc)
    entries = [
        Entry(
            r["generation_id"],
            title_of(r),
            names.get(r["venue_id"], r["venue_id"]) if r["venue_id"] else GROUP_NAME,
            period_label(r),
            r["generated_at"],
            r["files_removed_at"] is not None,
        )
        for r in rows
    ]
    following = None
    if more:
        following = request.url.include_query_params(after=rows[-1]["generation_id"])
    return page(
        request,
        "archive.html",
        400 if problem else 200,
        entries=entries,
        asked=asked,
        problem=problem,
        templates=templates,
        venues=venues,
        kinds=KINDS,
        following=following,
        first_page=request.url.remove_query_params("after") if after else None,
    )


def archived(db, person: Person, generation_id: str) -> tuple[sa.RowMapping, str]:
    """A report of the person's venues and its venue's name; 404 for any other, seen or not."""
    person.require(REPORTS)
    g = report_generation_history
    with as_person(db, person) as conn:
        row = (
            conn.execute(titled(*g.c).where(g.c.generation_id == generation_id, visible(person)))
            .mappings()
            .first()
        )
        if row is None:
            raise Refusal("there is no such report in your archive", 404)
        venue = venue_names(conn).get(row["venue_id"], row["venue_id"]) if row["venue_id"] else GROUP_NAME
    return row, venue


def file_of(row: sa.RowMapping, fmt: str) -> dict:
    """The report's own file of format `fmt`; 410 once retention removed its files."""
    if row["files_removed_at"] is not None:
        raise Refusal(
            "this report's files have been removed: files are kept for a limited time after the report", 410
        )
    for file in json.loads(row["files"]):
        if file["format"] == fmt:
            return file
    raise Refusal("this report has no such file", 404)


def human_name(row: sa.RowMapping, venue: str, stored_name: str, fmt: str) -> str:
    """e.g. "Daily Summary – The Backroom Leeds – Saturday 28 November 2026.pdf"."""
    extension = stored_name.rsplit(".", 1)[-1] if "." in stored_name else fmt
    parts = (title_of(row), venue, period_label(row))
    return NOT_IN_NAMES.sub(" ", " – ".join(parts)).strip() + f".{extension}"


def attachment(name: str) -> str:
    """Content-Disposition with a plain-ASCII `filename` for old clients and the exact `filename*`
    (RFC 6266 and RFC 5987)."""
    plain = unicodedata.normalize("NFKD", name.replace("–", "-")).encode("ascii", "ignore").decode()
    plain = plain.replace('"', "").replace("\\", "")
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(name, safe='')}"


@router.get("/archive/{generation_id}", name="archived_report", response_class=HTMLResponse)
def archived_report(
    request: Request, generation_id: str, person: CurrentPerson, db: Warehouse
) -> HTMLResponse:
    """One report: its interactive HTML in a sandboxed frame, key figures, warnings and files."""
    row, venue = archived(db, person, generation_id)
    report = report_of(
        row,
        period_label(row),
        lambda f: request.app.url_path_for("archived_file", generation_id=generation_id, fmt=f["format"]),
    )
    # The files under the names they download as.
    named = [dataclasses.replace(f, name=human_name(row, venue, f.name, f.format)) for f in report.files]
    report = dataclasses.replace(report, files=named)
    interactive = any(f.format == "html" for f in report.files)
    audit.record(db, person.user_id, "view", dt.datetime.now(dt.UTC), generation_id, {"page": "archive"})
    return page(
        request, "archived.html", report=report, venue=venue, figures=figures(report), interactive=interactive
    )


@router.get("/archive/{generation_id}/view", name="archived_html")
def archived_html(generation_id: str, person: CurrentPerson, db: Warehouse, store: Store) -> Response:
    """The report's interactive HTML, for the frame of its page: sandboxed by its own header too,
    so opened on its own it still cannot reach the portal's cookies."""
    row, _ = archived(db, person, generation_id)
    path = _stored(store, file_of(row, "html"))
    return Response(
        path.read_bytes(),
        media_type=media_type("report.html"),
        headers={
            "Content-Security-Policy": SANDBOX,
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


@router.get("/archive/{generation_id}/files/{fmt}", name="archived_file")
def archived_file(
    generation_id: str, fmt: str, person: CurrentPerson, db: Warehouse, store: Store
) -> FileResponse:
    """One of the report's files, as an attachment under a name a person can read."""
    row, venue = archived(db, person, generation_id)
    file = file_of(row, fmt)
    path = _stored(store, file)
    audit.record(db, person.user_id, "download", dt.datetime.now(dt.UTC), generation_id, {"format": fmt})
    # Always an attachment: an HTML report opened from here must not run as the portal's page.
    return FileResponse(
        path,
        media_type=media_type(file["name"]),
        headers={
            "Content-Disposition": attachment(human_name(row, venue, file["name"], fmt)),
            "X-Content-Type-Options": "nosniff",
        },
    )


def _stored(store: ReportStore, file: dict) -> Path:
    try:
        path = store.path_of(file["path"])
    except ValueError:
        raise Refusal("this report's file is not in the report store", 404) from None
    if not path.is_file():
        raise Refusal(
            "this report's file has been removed: files are kept for a limited time after the report", 410
        )
    return path
