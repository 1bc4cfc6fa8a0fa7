"""A year-like archive in small: two venues' reports (Leeds's two months of nights and four
weeks, York's nine nights and four weeks), two group weeks, a failed night and a night whose
files retention removed; the people who read them, signed in; and two staff members' nights."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
import sqlalchemy as sa

from backroom_reporting.metrics.business_time import last_closed_business_day
from backroom_reporting.portal import accounts, sessions
from backroom_reporting.portal.people import Person
from backroom_reporting.rendering.history import Generation, append_generation, record_template_versions
from backroom_reporting.rendering.model import RenderedFile
from backroom_reporting.rendering.periods import ReportPeriod, period_containing
from backroom_reporting.subscriptions import service
from backroom_reporting.warehouse.tables.customers import staff_performance
from backroom_reporting.warehouse.tables.raw import RAW
from backroom_reporting.warehouse.tables.reports import report_generation_history
from tests.subscriptions import set_venues, write_layouts

UTC = dt.UTC
LEEDS, YORK = "backroom-leeds", "backroom-york"
VENUES = {LEEDS: "The Backroom Leeds", YORK: "The Backroom York"}
TITLES = {"daily_summary": "Daily Summary", "weekly_summary": "Weekly Summary"}
MEDIA = {"pdf": "application/pdf", "html": "text/html", "csv": "text/csv"}


@dataclasses.dataclass(frozen=True)
class Archived:
    generation_id: str
    template_key: str
    venue_id: str | None
    period: ReportPeriod
    generated_at: dt.datetime
    files: dict[str, bytes]  # by format
    files_removed: bool
    key_metrics: dict
    warnings: list[str]

    @property
    def venue(self) -> str:
        return VENUES[self.venue_id] if self.venue_id else "All venues"

    def human_name(self, fmt: str) -> str:
        return f"{TITLES[self.template_key]} – {self.venue} – {self.period.label}.{fmt}"


@dataclasses.dataclass(frozen=True)
class Night:
    staff_id: str
    venue_id: str
    business_date: dt.date
    shifts: int
    hours_on_shift: float
    bar_sales_pence: int
    bar_transactions: int
    entries_processed: int


@dataclasses.dataclass
class Library:
    reports: list[Archived]  # succeeded, newest first
    failed: str  # a failed generation of Leeds's
    people: dict[str, Person]  # by first name
    cookies: dict[str, str]  # by first name
    nights: list[Night]  # staff_performance rows
    last_closed: dt.date

    def as_(self, name: str) -> dict[str, str]:
        """The headers of a request from `name`'s signed-in browser."""
        return {"Cookie": f"{sessions.COOKIE}={self.cookies[name]}"}

    def of(self, generation_id: str) -> Archived:
        return next(r for r in self.reports if r.generation_id == generation_id)

    def seen_by(self, name: str) -> list[Archived]:
        person = self.people[name]
        return [r for r in self.reports if person.sees_venue(r.venue_id)]


def report_html(generation_id: str) -> bytes:
    """An interactive report: its script draws, and says whether it could read the portal's cookies."""
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{generation_id}</title></head>
<body><h1>Report {generation_id}</h1><p id="drawn">not drawn</p>
<script>
document.getElementById("drawn").textContent = "Drawn by the report's script";
var cookies;
try {{ cookies = "cookies: " + document.cookie; }} catch (e) {{ cookies = "cookies: blocked"; }}
document.body.insertAdjacentHTML("beforeend", '<p id="cookies"></p>');
document.getElementById("cookies").textContent = cookies;
</script></body></html>""".encode()


def _generate(db, store, layouts, key, venue_id, period, generated_at, status="succeeded") -> Archived:
    venue = venue_id or "group"
    generation_id = f"gen-{key}-{venue}-{period.slug}"
    files = {
        "pdf": b"%PDF-1.7 " + generation_id.encode(),
        "html": report_html(generation_id),
        "csv": f"generation,revenue\n{generation_id},{len(generation_id) * 1000}\n".encode(),
    }
    stored = [
        store.put(RenderedFile(fmt, f"{key}_{venue}_{period.slug}.{fmt}", content, MEDIA[fmt]))
        for fmt, content in files.items()
    ]
    metrics = {"daily_revenue": len(generation_id) * 1000, "daily_revenue_status": "on_target"}
    warnings = [f"Door scans stopped early at {venue}"] if period.first_day.day % 2 else []
    append_generation(
        db,
        Generation(
            generation_id=generation_id,
            subscription_id=f"sub-{key}-{venue}",
            template_key=key,
            template_hash=layouts[key].content_hash,
            venue_id=venue_id,
            period_kind=period.kind,
            period_first_day=period.first_day,
            period_last_day=period.last_day,
            filters={},
            formats=list(files),
            files=[dataclasses.asdict(f) | {"reused_from": None} for f in stored],
            row_counts={},
            key_metrics=metrics if status == "succeeded" else {},
            warnings=warnings,
            duration_seconds=2.0,
            status=status,
            error=None if status == "succeeded" else "the warehouse was late",
            generated_at=generated_at,
            expires_at=None,
            dagster_run_id=None,
        ),
    )
    return Archived(generation_id, key, venue_id, period, generated_at, files, False, metrics, warnings)


def _staff(db, last_closed: dt.date) -> list[Night]:
    staff = [
        ("s-kim", LEEDS, "Kim Lowe"),
        ("s-lee", LEEDS, "Lee Marsh"),
        ("s-ruth", YORK, "Ruth Dale"),
    ]
    nights = []
    for n, (staff_id, venue, _) in enumerate(staff):
        # Every third night for ten weeks: some inside the last eight weeks, some before.
        for i, back in enumerate(range(n, 70, 3)):
            nights.append(
                Night(
                    staff_id,
                    venue,
                    last_closed - dt.timedelta(days=back),
                    1,
                    5.5 + i % 3,
                    10_000 + 137 * i + n,
                    20 + i,
                    5 * i,
                )
            )
    # Kim also covered one York night.
    nights.append(Night("s-kim", YORK, last_closed - dt.timedelta(days=4), 1, 4.0, 7_700, 9, 30))
    names = {staff_id: name for staff_id, _, name in staff}
    with db.engine.begin() as conn:
        conn.execute(
            sa.insert(RAW["staff"]),
            [
                dict(
                    staff_id=s,
                    venue_id=v,
                    name=name,
                    role="bar",
                    email=f"{s}@example.com",
                    phone="07700 900000",
                    active=True,
                )
                for s, v, name in staff
            ],
        )
        conn.execute(
            sa.insert(staff_performance),
            [
                dataclasses.asdict(night)
                | {
                    "staff_name": names[night.staff_id],
                    "role": "bar",
                    "sales_per_hour_pence": night.bar_sales_pence / night.hours_on_shift,
                }
                for night in nights
            ],
        )
    return nights


@pytest.fixture
def library(portal, tmp_path) -> Library:
    db, store = portal.db, portal.store
    now = dt.datetime.now(UTC)
    layouts = service.load_templates(write_layouts(tmp_path / "layouts"))
    record_template_versions(db, layouts, now)
    set_venues(db, VENUES)
    reports = []
    last_night = dt.date(2026, 11, 28)

    def add(key, venue_id, period, status="succeeded"):
        made = dt.datetime.combine(period.last_day + dt.timedelta(days=1), dt.time(7), UTC)
        made += dt.timedelta(minutes=len(reports))  # no two made at the same moment
        report = _generate(db, store, layouts, key, venue_id, period, made, status)
        if status == "succeeded":
            reports.append(report)
        return report

    for back in range(59):
        add("daily_summary", LEEDS, period_containing("business_day", last_night - dt.timedelta(days=back)))
    for back in range(9):
        add("daily_summary", YORK, period_containing("business_day", last_night - dt.timedelta(days=back)))
    for back in range(4):
        week = period_containing("business_week", last_night - dt.timedelta(weeks=back))
        add("weekly_summary", LEEDS, week)
        add("weekly_summary", YORK, week)
        if back < 2:
            add("weekly_summary", None, week)
    failed = add(
        "daily_summary", LEEDS, period_containing("business_day", last_night + dt.timedelta(days=1)), "failed"
    )
    # Retention removed the files of Leeds's oldest night.
    oldest = min((r for r in reports if r.venue_id == LEEDS), key=lambda r: r.period.first_day)
    g = report_generation_history
    with db.engine.begin() as conn:
        conn.execute(
            sa.update(g).where(g.c.generation_id == oldest.generation_id).values(files_removed_at=now)
        )
    reports[reports.index(oldest)] = dataclasses.replace(oldest, files_removed=True)
    reports.sort(key=lambda r: (r.generated_at, r.generation_id), reverse=True)

    last_closed = last_closed_business_day(now)
    nights = _staff(db, last_closed)
    people = {
        "jo": accounts.add(db, "jo@example.com", "Jo Bloggs", "manager", now, venue_ids=[LEEDS]).person,
        "ada": accounts.add(db, "ada@example.com", "Ada Khan", "admin", now).person,
        "fay": accounts.add(db, "fay@example.com", "Fay Ng", "finance", now, venue_ids=[YORK]).person,
        "kim": accounts.add(db, "kim@example.com", "Kim Lowe", "staff", now, staff_id="s-kim").person,
    }
    cookies = {name: sessions.open_session(db, person, "password", now) for name, person in people.items()}
    return Library(reports, failed.generation_id, people, cookies, nights, last_closed)
