"""The API's and the archive's answer times, with a year of 25 venues in the warehouse.

    python -m benchmarks.bench_portal [--venues 25] [--days 365] [--requests 200] [--concurrency 4]
                                      [--workers 2] [--postgres URL | --sqlite]

Run from the repository's root. Fills a fresh warehouse (PostgreSQL by default, a database of
its own on the tests' server; SQLite with --sqlite) with each venue's nights, KPIs and reports
(a daily report a night and a weekly one a week: 25 venues make 10,450), then serves the app
with uvicorn in processes of their own, `--workers` of them (one a core, as in production),
and asks, `--concurrency` at a time, `--requests` times each:

- GET /api/v1/reports?limit=1000 and GET /api/v1/daily?limit=1000, with an admin's token;
- GET /archive (the report archive), with the admin's session, when the app has that page.

It prints p50, p90 and p99 of the answer times. The target: p90 under 200 ms for the reports
list on two cores.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import sqlalchemy as sa

from backroom_reporting.portal import accounts, sessions, tokens
from backroom_reporting.warehouse.connections import REPORTING_SCHEMA
from backroom_reporting.warehouse.database import Database
from backroom_reporting.warehouse.migrate import upgrade
from backroom_reporting.warehouse.tables.aggregations import daily_aggregations
from backroom_reporting.warehouse.tables.kpis import kpi_calculations
from backroom_reporting.warehouse.tables.reports import report_generation_history, report_templates
from tests.portal.api_world import row_of
from tests.portal.conftest import free_port

POSTGRES = os.environ.get(
    "BACKROOM_TEST_POSTGRES_URL", "postgresql://backroom:backroom@127.0.0.1:5432/backroom_test"
)
LAST_NIGHT = dt.date(2026, 11, 29)
KPIS = ("gross_revenue", "net_revenue", "covers", "occupancy_rate", "no_show_rate", "spend_per_head")
NOW = dt.datetime.now(dt.UTC)
FILES = json.dumps(
    [
        {
            "format": fmt,
            "name": f"r.{fmt}",
            "path": f"a/r.{fmt}",
            "sha256": "ab",
            "size_bytes": size,
            "reused_from": None,
        }
        for fmt, size in (("pdf", 81234), ("xlsx", 23456))
    ]
)


@contextlib.contextmanager
def warehouse(postgres: str | None) -> Iterator[str]:
    """The URL of a fresh warehouse at the head migration: a new PostgreSQL database, or a SQLite file."""
    with tempfile.TemporaryDirectory() as tmp:
        if postgres is None:
            url = f"sqlite:///{tmp}/warehouse.db"
            upgrade(url)
            yield url
            return
        admin = sa.create_engine(postgres, isolation_level="AUTOCOMMIT")
        name = f"bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = sa.make_url(postgres).set(database=name).render_as_string(hide_password=False)
        try:
            upgrade(url)
            yield url
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))


def fill(db: Database, venues: int, days: int) -> dict[str, int]:
    nights = [LAST_NIGHT - dt.timedelta(days=n) for n in range(days)]
    venue_ids = [f"venue-{v:02d}" for v in range(venues)]
    daily = [
        row_of(daily_aggregations, n, venue_id=venue, business_date=night)
        for venue in venue_ids
        for n, night in enumerate(nights)
    ]
    kpis = [
        row_of(
            kpi_calculations,
            n,
            venue_id=venue,
            period_type="day",
            period_start=night,
            period_end=night,
            kpi_key=kpi,
        )
        for venue in venue_ids
        for n, night in enumerate(nights)
        for kpi in KPIS
    ]
    templates = [
        row_of(report_templates, 0, template_key=key, content_hash=f"hash-{key}", title=title)
        for key, title in (("daily_summary", "Daily Summary"), ("weekly_summary", "Weekly Summary"))
    ]
    periods = [("daily_summary", "business_day", night, night) for night in nights] + [
        ("weekly_summary", "business_week", night - dt.timedelta(days=6), night)
        for night in nights
        if night.weekday() == 6
    ]
    reports = [
        row_of(
            report_generation_history,
            n,
            generation_id=f"gen-{uuid.uuid4().hex[:16]}",
            template_key=key,
            template_hash=f"hash-{key}",
            venue_id=venue,
            period_kind=kind,
            period_first_day=first,
            period_last_day=last,
            filters="{}",
            formats='["pdf", "xlsx"]',
            files=FILES,
            email_parts=None,
            row_counts='{"summary": 12}',
            key_metrics=json.dumps(
                {"daily_revenue": 812345 + n, "booking_conversion": 0.875, "covers": 300 + n % 50}
            ),
            warnings='["Door scans stopped at 01:10"]' if n % 10 == 0 else "[]",
            status="succeeded",
            error=None,
            generated_at=dt.datetime.combine(last + dt.timedelta(days=1), dt.time(7), dt.UTC),
            files_removed_at=None,
        )
        for venue in venue_ids
        for n, (key, kind, first, last) in enumerate(periods)
    ]
    with db.engine.begin() as conn:
        for table, rows in (
            (daily_aggregations, daily),
            (kpi_calculations, kpis),
            (report_templates, templates),
            (report_generation_history, reports),
        ):
            for start in range(0, len(rows), 5000):
                conn.execute(sa.insert(table), rows[start : start + 5000])
    if db.dialect == "postgresql":
        with db.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    return {"daily_aggregations": len(daily), "kpi_calculations": len(kpis), "reports": len(reports)}


@contextlib.contextmanager
def served(url: str, store: Path, workers: int) -> Iterator[str]:
    """The app under uvicorn on a free loopback port, in processes of its own; yields its base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = os.environ | {
        "BACKROOM_WAREHOUSE_URL": url,
        "BACKROOM_REPORT_STORE": str(store),
        "BACKROOM_PORTAL_URL": base,
    }
    command = [
        *(sys.executable, "-m", "uvicorn", "--factory", "backroom_reporting.portal.app:create_app"),
        *("--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), "--log-level", "warning"),
    ]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                raise SystemExit("uvicorn stopped before it listened")
            with contextlib.suppress(httpx.ConnectError):
                httpx.get(f"{base}/api/openapi.json", timeout=5)
                break
            if time.monotonic() > deadline:
                raise SystemExit("uvicorn did not start listening in 60 s")
            time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(10)


async def measure(
    base: str, path: str, headers: dict, cookies: dict, requests: int, concurrency: int
) -> list[float]:
    """Seconds per answer, `concurrency` requests at a time, after a few to warm up."""
    took: list[float] = []
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=base, headers=headers, cookies=cookies, timeout=60, limits=limits
    ) as http:
        for _ in range(5):
            (await http.get(path)).raise_for_status()
        queue = iter(range(requests))

        async def worker() -> None:
            for _ in queue:
                started = time.perf_counter()
                answer = await http.get(path)
                took.append(time.perf_counter() - started)
                answer.raise_for_status()

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return took


def line(label: str, took: list[float], size: int) -> str:
    cuts = statistics.quantiles(took, n=100, method="inclusive")
    ms = [1000 * q for q in (cuts[49], cuts[89], cuts[98])]
    return f"{label:<34} p50 {ms[0]:7.1f} ms   p90 {ms[1]:7.1f} ms   p99 {ms[2]:7.1f} ms   ({size:,} bytes)"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--venues", type=int, default=25)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--requests", type=int, default=200, help="requests per endpoint")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn processes")
    parser.add_argument(
        "--postgres", default=POSTGRES, help="a PostgreSQL URL whose role may CREATE DATABASE"
    )
    parser.add_argument("--sqlite", action="store_true", help="a SQLite warehouse instead")
    args = parser.parse_args()
    postgres = None if args.sqlite else args.postgres
    with warehouse(postgres) as url, tempfile.TemporaryDirectory() as store:
        db = Database(url, search_path=REPORTING_SCHEMA)
        started = time.perf_counter()
        counts = fill(db, args.venues, args.days)
        print(
            f"== {'SQLite' if postgres is None else 'PostgreSQL'}, {os.cpu_count()} cores: "
            + ", ".join(f"{n:,} {what}" for what, n in counts.items())
            + f" (filled in {time.perf_counter() - started:.0f} s)"
        )
        admin = accounts.add(db, "admin@backroom.test", "Admin", "admin", NOW)
        _, token = tokens.issue_for_account(db, admin.person.email, list(tokens.ACCOUNT_SCOPES), NOW)
        cookie = sessions.open_session(db, admin.person, "password", NOW)
        db.close()
        with served(url, Path(store), args.workers) as base:
            bearer = {"Authorization": f"Bearer {token}"}
            print(
                f"   {args.requests} requests each, {args.concurrency} at a time,"
                f" {args.workers} uvicorn workers"
            )
            for path in ("/api/v1/reports?limit=1000", "/api/v1/daily?limit=1000"):
                took = asyncio.run(measure(base, path, bearer, {}, args.requests, args.concurrency))
                size = len(httpx.get(base + path, headers=bearer, timeout=60).content)
                print(line(f"GET {path}", took, size))
            print(
                f"   load average (1, 5, 15 min) at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}"
            )
            archive = httpx.get(base + "/archive", cookies={sessions.COOKIE: cookie}, timeout=60)
            if archive.status_code == 404:
                print("GET /archive                       skipped: this app has no /archive page yet")
            else:
                session = {sessions.COOKIE: cookie}
                took = asyncio.run(measure(base, "/archive", {}, session, args.requests, args.concurrency))
                print(line("GET /archive", took, len(archive.content)))


if __name__ == "__main__":
    main()
