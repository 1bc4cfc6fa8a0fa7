"""The analytics graph's cost: backfills, one day's run against history, and a SQL yardstick.

    python benchmarks/bench_analytics.py backfill --venues 1 --days 365 [--postgres URL]
    python benchmarks/bench_analytics.py day --history 90 --history 730 [--postgres URL]
    python benchmarks/bench_analytics.py sql --venues 1 --days 365 --postgres URL

backfill: generate, then one single-run backfill of every asset but the reports, per
stage and per asset (Dagster step durations).
day: generate `history` days, backfill them, then time one more night's run (its
business-day partitions, its 24 hourly partitions and the snapshots), per asset.
sql: DESIGN section 5's daily aggregation as one PostgreSQL statement
(daily_aggregation.sql) against the daily_aggregations asset over the same raw layer,
and the two results compared figure by figure.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import tempfile
import time
import uuid
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from backroom_reporting.backfill import backfill, with_databases
from backroom_reporting.definitions import defs
from backroom_reporting.demo.generator import generate
from backroom_reporting.metrics.business_time import BusinessWindow
from backroom_reporting.warehouse.connections import REPORTING_SCHEMA
from backroom_reporting.warehouse.database import Database
from backroom_reporting.warehouse.migrate import upgrade

END = dt.date(2026, 10, 31)
REPORTS = {"subscription_reports", "report_generation_history"}
SQL = Path(__file__).with_name("daily_aggregation.sql")


@contextmanager
def databases(postgres: str | None):
    """(source URL, warehouse URL): SQLite files, or a fresh PostgreSQL database."""
    if postgres is None:
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/booking.db", f"sqlite:///{tmp}/warehouse.db"
        return
    admin = sa.create_engine(postgres, isolation_level="AUTOCOMMIT")
    name = f"bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(postgres).set(database=name).render_as_string(hide_password=False)
    try:
        yield url, url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))


def analytics() -> list[dg.AssetKey]:
    return [k for k in defs.resolve_asset_graph().get_all_asset_keys() if k.to_user_string() not in REPORTS]


def step_seconds(instance: dg.DagsterInstance, since: float) -> dict[str, float]:
    """Seconds each asset's step took in the runs started after `since` (epoch seconds)."""
    took: dict[str, float] = defaultdict(float)
    for run in instance.get_runs():
        if (instance.get_run_stats(run.run_id).start_time or 0) < since:
            continue
        for record in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_SUCCESS):
            event = record.dagster_event
            took[event.step_key] += event.event_specific_data.duration_ms / 1000
    return dict(took)


def print_stages(stages) -> None:
    for result in stages:
        names = ", ".join(k.to_user_string() for k in result.stage.keys)
        print(f"   {result.seconds:7.1f}s  {result.partitions:>5} partitions  {names}")


def run_backfill(label: str, venues: int, days: int, postgres: str | None) -> None:
    window = BusinessWindow(END - dt.timedelta(days=days - 1), END)
    with databases(postgres) as (source, warehouse):
        began = time.perf_counter()
        counts = generate(source, venues, window.first_day, window.last_day, seed=7)
        generated = time.perf_counter() - began
        upgrade(warehouse)
        history = BusinessWindow(window.first_day - dt.timedelta(days=35), window.last_day)
        with dg.DagsterInstance.ephemeral() as instance:
            began = time.perf_counter()
            stages = backfill(
                with_databases(defs, source, warehouse), history, instance, selection=analytics()
            )
            total = time.perf_counter() - began
            steps = step_seconds(instance, 0)
    print(f"\n== backfill, {label}: {venues} venue(s) x {days} days, {sum(counts.values()):,} source rows")
    print(f"   generate {generated:.1f}s; every analytics asset over {history} in {total:.1f}s")
    print_stages(stages)
    print(
        "   asset steps (s): "
        + ", ".join(f"{k} {v:.1f}" for k, v in sorted(steps.items(), key=lambda i: -i[1]))
    )


def run_day(history_days: int, postgres: str | None) -> None:
    night = END  # Saturday 31 October 2026
    window = BusinessWindow(night - dt.timedelta(days=history_days), night - dt.timedelta(days=1))
    with databases(postgres) as (source, warehouse):
        generate(source, 1, window.first_day, night, seed=7)
        upgrade(warehouse)
        definitions = with_databases(defs, source, warehouse)
        with dg.DagsterInstance.ephemeral() as instance:
            earlier = BusinessWindow(window.first_day - dt.timedelta(days=35), window.last_day)
            backfill(definitions, earlier, instance, selection=analytics())
            since = time.time()
            began = time.perf_counter()
            backfill(definitions, BusinessWindow(night, night), instance, selection=analytics())
            total = time.perf_counter() - began
            steps = step_seconds(instance, since)
        with Database(warehouse, search_path=REPORTING_SCHEMA) as db:
            rows = db.scalar(sa.text("SELECT COUNT(*) FROM raw_check_ins"))
    print(f"\n== one night's run after {history_days} days of history ({rows:,} door scans in the warehouse)")
    print(f"   {total:.1f}s in all (Dagster bookkeeping included)")
    for step, seconds in sorted(steps.items(), key=lambda i: -i[1]):
        print(f"   {seconds:7.2f}s  {step}")


def run_sql(venues: int, days: int, postgres: str) -> None:
    import polars as pl

    from backroom_reporting.warehouse.tables.aggregations import daily_aggregations

    window = BusinessWindow(END - dt.timedelta(days=days - 1), END)
    with databases(postgres) as (source, warehouse):
        generate(source, venues, window.first_day, window.last_day, seed=7)
        upgrade(warehouse)
        history = BusinessWindow(window.first_day - dt.timedelta(days=35), window.last_day)
        raw_and_daily = [
            k
            for k in analytics()
            if k.to_user_string().startswith("raw_")
            or k.to_user_string() in ("customer_visits", "hourly_aggregations", "daily_aggregations")
        ]
        with dg.DagsterInstance.ephemeral() as instance:
            backfill(with_databases(defs, source, warehouse), history, instance, selection=raw_and_daily)
            steps = step_seconds(instance, 0)
        sql = (
            SQL.read_text()
            .replace(":first_day", f"'{history.first_day}'")
            .replace(":last_day", f"'{history.last_day}'")
        )
        with Database(warehouse, search_path=REPORTING_SCHEMA) as db:
            began = time.perf_counter()
            in_sql = db.read(sql)
            sql_seconds = time.perf_counter() - began
            asset = db.read_table(daily_aggregations)
    columns = [c for c in in_sql.columns if c not in ("venue_id", "business_date")]
    joined = asset.join(in_sql, on=["venue_id", "business_date"], suffix="_sql")

    def same(column: str) -> bool:
        a, b = joined[column].cast(pl.Float64), joined[f"{column}_sql"].cast(pl.Float64)
        return bool(((a.is_null() & b.is_null()) | ((a - b).abs() <= 1e-6).fill_null(False)).all())

    differing = [c for c in columns if not same(c)]
    print(f"\n== SQL yardstick, {venues} venue(s) x {days} days on PostgreSQL ({asset.height:,} venue-days)")
    print(f"   one SQL statement: {sql_seconds:.2f}s")
    print(
        f"   daily_aggregations asset step (reads raw, polars, writes, runs its checks): "
        f"{steps.get('daily_aggregations', float('nan')):.2f}s"
    )
    print(
        f"   rows: asset {asset.height:,}, SQL {in_sql.height:,}; columns that differ: {differing or 'none'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("what", choices=["backfill", "day", "sql"])
    parser.add_argument("--venues", type=int, default=1)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--history", type=int, action="append", help="days of history (day); repeatable")
    parser.add_argument("--postgres", help="a PostgreSQL URL whose role may CREATE DATABASE")
    args = parser.parse_args()
    if args.what == "backfill":
        run_backfill("SQLite", args.venues, args.days, None)
        if args.postgres:
            run_backfill("PostgreSQL", args.venues, args.days, args.postgres)
    elif args.what == "day":
        for days in args.history or [90, 730]:
            run_day(days, None)
            if args.postgres:
                run_day(days, args.postgres)
    else:
        if not args.postgres:
            parser.error("sql needs --postgres")
        run_sql(args.venues, args.days, args.postgres)
    print(f"\npeak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")


if __name__ == "__main__":
    main()
