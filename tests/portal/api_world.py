"""A warehouse for the API's tests: two venues' nights, KPIs, events, reports and deliveries,
with every value made here, and accounts of each role with their tokens."""

from __future__ import annotations

import dataclasses
import datetime as dt

import sqlalchemy as sa

from backroom_reporting.portal import accounts, tokens
from backroom_reporting.warehouse.database import Database
from backroom_reporting.warehouse.tables.aggregations import daily_aggregations
from backroom_reporting.warehouse.tables.deliveries import report_deliveries
from backroom_reporting.warehouse.tables.events import event_performance_analytics
from backroom_reporting.warehouse.tables.kpis import kpi_calculations
from backroom_reporting.warehouse.tables.reports import report_generation_history, report_templates
from backroom_reporting.warehouse.types import UtcTimestamp

LEEDS, YORK = "backroom-leeds", "backroom-york"
VENUES = (LEEDS, YORK)
FIRST_NIGHT = dt.date(2026, 11, 1)
NIGHTS = tuple(FIRST_NIGHT + dt.timedelta(days=n) for n in range(7))
AT = dt.datetime(2026, 11, 9, 7, tzinfo=dt.UTC)
KPIS = ("gross_revenue", "covers")
TITLES = {"daily_summary": "Daily Summary", "weekly_summary": "Weekly Summary"}
ADDRESS = "jo@example.com"


def row_of(table: sa.Table, seed: int, **given) -> dict:
    """A row of `table` whose every value follows from `seed` and the column's place, unless given."""
    row = {}
    for position, column in enumerate(table.columns):
        kind = column.type
        if column.name in given:
            row[column.name] = given[column.name]
        elif isinstance(kind, UtcTimestamp):
            row[column.name] = AT + dt.timedelta(minutes=seed)
        elif isinstance(kind, sa.Integer):
            row[column.name] = seed * 1000 + position
        elif isinstance(kind, sa.Float):
            row[column.name] = (seed % 7) / 8 + position / 1024
        elif isinstance(kind, sa.Date):
            row[column.name] = FIRST_NIGHT
        elif isinstance(kind, sa.Boolean):
            row[column.name] = True
        else:
            row[column.name] = f"{column.name}-{seed}"
    return row


@dataclasses.dataclass
class Figures:
    daily: list[dict]
    kpis: list[dict]
    events: list[dict]
    reports: list[dict]
    deliveries: list[dict]


def fill(db: Database) -> Figures:
    daily = [
        row_of(daily_aggregations, 10 * v + n, venue_id=venue, business_date=night)
        for v, venue in enumerate(VENUES)
        for n, night in enumerate(NIGHTS)
    ]
    kpis = [
        row_of(
            kpi_calculations,
            100 * v + 10 * n + k,
            venue_id=venue,
            period_type="day",
            period_start=night,
            period_end=night,
            kpi_key=kpi,
            status="on_target",
        )
        for v, venue in enumerate(VENUES)
        for n, night in enumerate(NIGHTS)
        for k, kpi in enumerate(KPIS)
    ]
    events = [
        row_of(
            event_performance_analytics,
            5 * v + n,
            event_id=f"evt-{venue}-{n}",
            venue_id=venue,
            business_date=night,
        )
        for v, venue in enumerate(VENUES)
        for n, night in enumerate(NIGHTS[:3])
    ]
    templates = [
        row_of(report_templates, n, template_key=key, content_hash=f"hash-{key}", title=title)
        for n, (key, title) in enumerate(TITLES.items())
    ]
    reports = [
        row_of(
            report_generation_history,
            20 * v + n,
            generation_id=f"gen-{venue or 'group'}-{night:%m%d}",
            template_key="daily_summary",
            template_hash="hash-daily_summary",
            venue_id=venue,
            period_kind="business_day",
            period_first_day=night,
            period_last_day=night,
            filters='{"brand": null}',
            formats='["pdf"]',
            files=f'[{{"format": "pdf", "name": "n{n}.pdf", "path": "a/b", "sha256": "ab", "size_bytes": {n},'
            ' "reused_from": null}]',
            email_parts=None,
            row_counts="{}",
            key_metrics=f'{{"daily_revenue": {1000 * v + n}}}',
            warnings="[]",
            status="succeeded",
            error=None,
            files_removed_at=None,
        )
        for v, venue in enumerate((*VENUES, None))
        for n, night in enumerate(NIGHTS)
    ]
    deliveries = [
        row_of(
            report_deliveries,
            n,
            delivery_id=f"dlv-{report['generation_id']}",
            generation_id=report["generation_id"],
            template_key="daily_summary",
            period_first_day=report["period_first_day"],
            period_last_day=report["period_last_day"],
            channel="email",
            address=ADDRESS,
            detail=f"550 {ADDRESS} mailbox full",
            status="sent",
        )
        for n, report in enumerate(reports)
    ]
    with db.engine.begin() as conn:
        for table, rows in (
            (daily_aggregations, daily),
            (kpi_calculations, kpis),
            (event_performance_analytics, events),
            (report_templates, templates),
            (report_generation_history, reports),
            (report_deliveries, deliveries),
        ):
            conn.execute(sa.insert(table), rows)
    return Figures(daily, kpis, events, reports, deliveries)


def account(db: Database, role: str, venues: list[str] | None = None) -> accounts.Account:
    return accounts.add(db, f"{role}@backroom.test", role.title(), role, AT, venue_ids=venues)


def token_of(db: Database, who: accounts.Account, *scopes: str) -> str:
    """A current token of the account's, with `scopes` (default: all its role allows)."""
    scopes = scopes or tuple(s for s, what in tokens.ACCOUNT_SCOPES.items() if who.person.may(what))
    _, presented = tokens.issue_for_account(db, who.person.email, list(scopes), dt.datetime.now(dt.UTC))
    return presented


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def walk(http, path: str, headers: dict, **params) -> list[dict]:
    """Every item of a listing, page after page."""
    items, cursor = [], None
    while True:
        answer = http.get(path, headers=headers, params=params | ({"cursor": cursor} if cursor else {}))
        assert answer.status_code == 200, answer.text
        body = answer.json()
        items += body["items"]
        cursor = body["next"]
        if cursor is None:
            return items
