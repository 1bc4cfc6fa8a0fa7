"""The analytics graph's cost: a step's fixed cost, backfills, one night against history, the
open night's hourly refresh, and a SQL yardstick.

    python benchmarks/bench_analytics.py step
    python benchmarks/bench_analytics.py backfill --venues 25 --days 365 [--postgres URL]
    python benchmarks/bench_analytics.py day --history 90 --history 730 [--venues 1 --venues 25]
        [--postgres URL [--postgres-only]]
    python benchmarks/bench_analytics.py refresh --venues 25 --days 365 [--postgres URL]
    python benchmarks/bench_analytics.py sql --venues 1 --days 365 --postgres URL

step: an asset that does nothing, one business day, in the project's code location under the
in-process executor and the embedded instance the demo and the daemon use (SQLite storage,
events written in batches): the step's wall time (Dagster's STEP_START to STEP_SUCCESS) and
the run's, five times.
backfill: generate, then every asset but the reports over the window, one single-run backfill
per stage, each run in a process of its own as the daemon launches it. Per run: the process's
wall time (imports and loading the code location included), the run's (Dagster's RUN_START
to its end), the time the assets measured themselves (step_wall_seconds, assets/step_metrics.py),
Dagster's bookkeeping (the run's wall time less the assets' own), and the process's peak RSS.
day: generate `history` days and backfill them as automation would have left them (closed
weeks and months, and the open ones' to-date rows), then run two nights as automation would:
the raw layer, every asset of the night, and the weeks and months the night closes. Saturday
31 October 2026 closes a month; Sunday 1 November closes a business week, so the weekly
snapshots run too. Per asset and in total.
refresh: generate and load the raw layer and hourly figures for `days` days, then run the
`open_night_refresh` job for the Saturday after them at 23:05, twice (the second finds the
snapshot tables unchanged, as most hours do), each in a process of its own: the process's
and the run's wall time, per asset.
sql: docs/metrics.md's daily aggregation as one PostgreSQL statement
(daily_aggregation.sql) against the daily_aggregations asset over the same raw layer,
and the two results compared figure by figure.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from backroom_reporting.assets.policies import TO_DATE_METADATA
from backroom_reporting.assets.step_metrics import PEAK_MEMORY_MB
from backroom_reporting.backfill import backfill, plan_stages, with_databases
from backroom_reporting.definitions import defs
from backroom_reporting.demo.generator import generate
from backroom_reporting.metrics.business_time import BusinessWindow
from backroom_reporting.partitions import business_days
from backroom_reporting.warehouse.connections import REPORTING_SCHEMA
from backroom_reporting.warehouse.database import Database
from backroom_reporting.warehouse.migrate import upgrade

END = dt.date(2026, 10, 31)  # a Saturday, the last night of a month
NO_NIGHT = {"subscription_reports", "report_generation_history"}
# Assets that do not follow the nights: the job tables (hourly), the KPI catalogue and the
# report templates (when their files change).
NOT_NIGHTLY = {
    "scheduled_jobs",
    "job_dependencies",
    "job_execution_history",
    "kpi_definitions",
    "report_templates",
}
SQL = Path(__file__).with_name("daily_aggregation.sql")
STEP_WALL = "step_wall_seconds"


@contextmanager
def databases(postgres: str | None):
    """(source URL, warehouse URL, a scratch folder): SQLite files, or a fresh PostgreSQL database."""
    with tempfile.TemporaryDirectory() as tmp:
        if postgres is None:
            yield f"sqlite:///{tmp}/booking.db", f"sqlite:///{tmp}/warehouse.db", Path(tmp)
            return
        admin = sa.create_engine(postgres, isolation_level="AUTOCOMMIT")
        name = f"bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = sa.make_url(postgres).set(database=name).render_as_string(hide_password=False)
        try:
            yield url, url, Path(tmp)
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))


def embedded_home(folder: Path) -> Path:
    """A Dagster home configured as `backroom demo` and `make dev` configure theirs."""
    from backroom_reporting.instance import dagster_home

    os.environ["DAGSTER_HOME"] = str(folder / "dagster")
    return dagster_home()


def analytics() -> list[dg.AssetKey]:
    return [k for k in defs.resolve_asset_graph().get_all_asset_keys() if k.to_user_string() not in NO_NIGHT]


def label(backend: str | None) -> str:
    return "PostgreSQL" if backend else "SQLite"


def asset_seconds(materializations, figure: str = STEP_WALL) -> dict[str, float]:
    """What each asset's step measured itself (the same figure is on each of its partitions):
    its wall time, or another of assets/step_metrics.py's figures."""
    took: dict[str, float] = {}
    for m in materializations:
        entry = m.metadata.get(figure)
        if entry is not None:
            took[m.asset_key.to_user_string()] = max(took.get(m.asset_key.to_user_string(), 0.0), entry.value)
    return took


def run_seconds(instance: dg.DagsterInstance, run_id: str) -> float:
    stats = instance.get_run_stats(run_id)
    return (stats.end_time or 0) - (stats.start_time or 0)


# --- one run in a process of its own, as the daemon launches runs ---------------------------------


class PeakRss:
    """This process's peak RSS in MB, sampled every 50 ms: the kernel's high-water mark (VmHWM)
    is reset by each step (assets/step_metrics.py), so at the run's end it holds only the last
    step's. The steps' own peaks are taken in too, so nothing shorter than a sample is missed."""

    def __init__(self) -> None:
        self.kb = 0
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while True:
            found = re.search(r"VmRSS:\s+(\d+) kB", Path("/proc/self/status").read_text())
            self.kb = max(self.kb, int(found[1]))
            time.sleep(0.05)

    def mb(self, materializations) -> float:
        steps = [m.metadata[PEAK_MEMORY_MB].value for m in materializations if PEAK_MEMORY_MB in m.metadata]
        hwm = int(re.search(r"VmHWM:\s+(\d+) kB", Path("/proc/self/status").read_text())[1])
        return max([self.kb / 1024, hwm / 1024, *steps])


def child(args: argparse.Namespace) -> None:
    """Run one stage (a backfill's) or the open-night refresh job, and write what it cost."""
    peak = PeakRss()
    wired = with_databases(defs, args.source, args.warehouse)
    instance = dg.DagsterInstance.get()
    if args.job:
        from backroom_reporting.assets.nights import AS_OF_TAG
        from backroom_reporting.schedules.nightly import open_night_refresh

        job = dg.Definitions(
            assets=wired.assets,
            asset_checks=wired.asset_checks,
            jobs=[open_night_refresh],
            resources=wired.resources,
            executor=dg.in_process_executor,
        ).resolve_job_def(args.job)
        result = job.execute_in_process(
            instance=instance,
            partition_key=args.first,
            tags={AS_OF_TAG: args.as_of},
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        )
        materializations = [e.materialization for e in result.get_asset_materialization_events()]
        run_id = result.run_id
    else:
        keys = [dg.AssetKey(k) for k in args.keys.split(",")]
        window = BusinessWindow(dt.date.fromisoformat(args.first), dt.date.fromisoformat(args.last))
        [stage] = backfill(wired, window, instance, selection=keys)
        materializations = stage.materializations
        run_id = instance.get_runs(limit=1)[0].run_id
    Path(args.out).write_text(
        json.dumps(
            {
                "run_seconds": run_seconds(instance, run_id),
                "assets": asset_seconds(materializations),
                "asset_peak_mb": asset_seconds(materializations, PEAK_MEMORY_MB),
                "partitions": len({m.partition for m in materializations if m.partition}),
                # This process's own peak: the rusage of a child started by fork also counts
                # what it shared with its parent before exec.
                "peak_rss_mb": peak.mb(materializations),
            }
        )
    )


def in_own_process(source: str, warehouse: str, folder: Path, *options: str) -> dict:
    """Run `child` in a new process; its figures (peak RSS in MB among them) and wall time."""
    out = folder / f"run-{uuid.uuid4().hex[:8]}.json"
    command = [sys.executable, __file__, "child", "--source", source, "--warehouse", warehouse]
    began = time.perf_counter()
    subprocess.run([*command, "--out", str(out), *options], stdout=subprocess.DEVNULL, check=True)
    return json.loads(out.read_text()) | {"process_seconds": time.perf_counter() - began}


def print_run(name: str, figures: dict) -> None:
    run, own, peak = figures["run_seconds"], sum(figures["assets"].values()), figures["peak_rss_mb"]
    print(
        f"   {name:<42} process {figures['process_seconds']:7.1f}s  run {run:7.1f}s  assets {own:7.1f}s  "
        f"bookkeeping {run - own:6.1f}s ({(run - own) / run:4.0%})  peak RSS {peak:6,.0f} MB"
    )


# --- step ----------------------------------------------------------------------------------------------


def run_step(repeat: int) -> None:
    from backroom_reporting.partitions import business_days

    @dg.asset(partitions_def=business_days)
    def does_nothing() -> None:
        return None

    with tempfile.TemporaryDirectory() as tmp:
        embedded_home(Path(tmp))
        instance = dg.DagsterInstance.get()
        assets = [*defs.assets, does_nothing]
        steps, runs = [], []
        for _ in range(repeat):
            began = time.perf_counter()
            result = dg.materialize(
                assets,
                selection=[does_nothing.key],
                instance=instance,
                resources=defs.resources,
                partition_key=END.isoformat(),
            )
            runs.append(time.perf_counter() - began)
            [step] = instance.get_run_step_stats(result.run_id)
            steps.append(step.end_time - step.start_time)
        instance.dispose()
    print("\n== a step's fixed cost: an asset that does nothing, one business day, in the code location")
    print(f"   step wall (STEP_START..STEP_SUCCESS): {', '.join(f'{s:.3f}' for s in steps)} s")
    print(f"   median step {statistics.median(steps):.3f}s, max {max(steps):.3f}s (target at most 2 s)")
    print(f"   run wall (materialize call): median {statistics.median(runs):.3f}s, max {max(runs):.3f}s")


# --- backfill ------------------------------------------------------------------------------------------


def run_backfill(venues: int, days: int, postgres: str | None) -> None:
    window = BusinessWindow(END - dt.timedelta(days=days - 1), END)
    with databases(postgres) as (source, warehouse, folder):
        began = time.perf_counter()
        counts = generate(source, venues, window.first_day, window.last_day, seed=7)
        generated = time.perf_counter() - began
        upgrade(warehouse)
        embedded_home(folder)
        # Presales and deposits come weeks before the first night: load from a month earlier.
        history = BusinessWindow(window.first_day - dt.timedelta(days=35), window.last_day)
        wanted = set(analytics())
        stages = [[k for k in s.keys if k in wanted] for s in plan_stages(defs.resolve_asset_graph())]
        print(
            f"\n== backfill on {label(postgres)}: {venues} venue(s) x {days} days, "
            f"{sum(counts.values()):,} source rows (generated in {generated:.0f}s); every asset but the "
            f"reports over {history}, one run per stage, each in its own process"
        )
        began, runs = time.perf_counter(), []
        for keys in (s for s in stages if s):
            names = ",".join(k.to_user_string() for k in keys)
            figures = in_own_process(
                source, warehouse, folder, "--keys", names, "--first", str(history.first_day),
                "--last", str(history.last_day),
            )  # fmt: skip
            runs.append(figures)
            shown = names if len(names) <= 40 else names[:37] + "..."
            print_run(f"{figures['partitions']:>4} partitions: {shown}", figures)
            slowest = sorted(figures["assets"].items(), key=lambda i: -i[1])[:6]
            print("        " + ", ".join(f"{k} {v:.1f}s" for k, v in slowest))
            largest = sorted(figures["asset_peak_mb"].items(), key=lambda i: -i[1])[:4]
            print("        peak RSS during: " + ", ".join(f"{k} {v:,.0f} MB" for k, v in largest))
        total = time.perf_counter() - began
    run = sum(r["run_seconds"] for r in runs)
    own = sum(sum(r["assets"].values()) for r in runs)
    print(
        f"   total {total:.0f}s wall; runs {run:.0f}s, of which assets {own:.0f}s and Dagster's bookkeeping "
        f"{run - own:.0f}s ({(run - own) / run:.0%}; target at most 33%); launching processes "
        f"{sum(r['process_seconds'] for r in runs) - run:.0f}s"
    )
    peak = max(r["peak_rss_mb"] for r in runs)
    print(f"   peak RSS of the largest run: {peak:,.0f} MB (target at most 1,536)")


# --- one night after history -------------------------------------------------------------------------


def nightly(night: dt.date) -> list[dg.AssetKey]:
    """What automation runs for a night: the raw layer, the night's assets, and the periods
    that close with it."""
    graph = defs.resolve_asset_graph()
    closes = BusinessWindow(night, night).end
    chosen = []
    for key in analytics():
        node = graph.get(key)
        if key.to_user_string() in NOT_NIGHTLY or not node.is_materializable:
            continue
        partitions = node.partitions_def
        if isinstance(partitions, dg.TimeWindowPartitionsDefinition):
            last = partitions.get_partition_key_for_timestamp(closes.timestamp() - 1)
            if partitions.time_window_for_partition_key(last).end.timestamp() != closes.timestamp():
                continue
        chosen.append(key)
    return chosen


def history(definitions: dg.Definitions, window: BusinessWindow, instance: dg.DagsterInstance) -> None:
    """Everything automation has materialised by the end of `window`: its nights, and of weeks
    and months those closed by then, plus the open one's to-date row where an asset keeps one.
    A plain backfill of `window` would also compute the open week's customer snapshot early,
    and the night that closes the week would then measure a second run of it, not the first."""
    graph = defs.resolve_asset_graph()
    open_now, closed_only = [], {}
    for key in analytics():
        node = graph.get(key)
        partitions = node.partitions_def
        if (
            not isinstance(partitions, dg.TimeWindowPartitionsDefinition)
            or partitions == business_days
            or node.metadata.get(TO_DATE_METADATA)
        ):
            open_now.append(key)
            continue
        last = partitions.get_partition_key_for_timestamp(window.end.timestamp() - 1)
        ends = partitions.time_window_for_partition_key(last).end
        if ends.timestamp() > window.end.timestamp():  # still open at the window's end
            ends = partitions.time_window_for_partition_key(last).start
        closed_only.setdefault(BusinessWindow.from_instants(window.start, ends), []).append(key)
    backfill(definitions, window, instance, selection=open_now)
    for closed, keys in closed_only.items():
        backfill(definitions, closed, instance, selection=keys)


def run_day(history_days: int, venues: int, postgres: str | None) -> None:
    nights = [END, END + dt.timedelta(days=1)]
    window = BusinessWindow(END - dt.timedelta(days=history_days), END - dt.timedelta(days=1))
    with databases(postgres) as (source, warehouse, _):
        generate(source, venues, window.first_day, nights[-1], seed=7)
        upgrade(warehouse)
        definitions = with_databases(defs, source, warehouse)
        with dg.DagsterInstance.ephemeral() as instance:
            history(
                definitions,
                BusinessWindow(window.first_day - dt.timedelta(days=35), window.last_day),
                instance,
            )
            with Database(warehouse, search_path=REPORTING_SCHEMA) as db:
                rows = db.scalar(sa.text("SELECT COUNT(*) FROM raw_check_ins"))
            print(
                f"\n== one night's run, {venues} venue(s), after {history_days} days of history on "
                f"{label(postgres)} "
                f"({rows:,} door scans in the warehouse)"
            )
            for night in nights:
                began = time.perf_counter()
                one = BusinessWindow(night, night)
                stages = backfill(definitions, one, instance, selection=nightly(night))
                total = time.perf_counter() - began
                steps = asset_seconds([m for s in stages for m in s.materializations])
                print(
                    f"   {night:%A %-d %B %Y}: {total:.2f}s in all ({len(stages)} runs, Dagster included), "
                    f"assets {sum(steps.values()):.2f}s"
                )
                print(
                    "      "
                    + ", ".join(f"{k} {v:.2f}" for k, v in sorted(steps.items(), key=lambda i: -i[1]))
                )


# --- the open night's hourly refresh ------------------------------------------------------------------


def run_refresh(venues: int, days: int, postgres: str | None) -> None:
    from zoneinfo import ZoneInfo

    night = END  # a Saturday: the venues trade
    window = BusinessWindow(night - dt.timedelta(days=days), night - dt.timedelta(days=1))
    tick = dt.datetime.combine(night, dt.time(23, 5), tzinfo=ZoneInfo("Europe/London"))
    with databases(postgres) as (source, warehouse, folder):
        generate(source, venues, window.first_day, night, seed=7)
        upgrade(warehouse)
        embedded_home(folder)
        loaded = [
            k
            for k in analytics()
            if k.to_user_string().startswith("raw_") or k.to_user_string() == "hourly_aggregations"
        ]
        began = time.perf_counter()
        with dg.DagsterInstance.get() as instance:
            history = BusinessWindow(window.first_day - dt.timedelta(days=35), window.last_day)
            backfill(with_databases(defs, source, warehouse), history, instance, selection=loaded)
        print(
            f"\n== the open night's hourly refresh on {label(postgres)}: {venues} venue(s), {days} days "
            f"loaded before it (in {time.perf_counter() - began:.0f}s); open_night_refresh for {night} "
            f"at {tick:%H:%M}, each run in its own process"
        )
        for attempt in ("first", "second"):
            figures = in_own_process(
                source, warehouse, folder, "--job", "open_night_refresh", "--first", str(night),
                "--as-of", tick.isoformat(),
            )  # fmt: skip
            print_run(f"{attempt} refresh (target under 5 s)", figures)
            slowest = sorted(figures["assets"].items(), key=lambda i: -i[1])
            print("        " + ", ".join(f"{k} {v:.2f}s" for k, v in slowest))


# --- SQL yardstick ------------------------------------------------------------------------------------


def run_sql(venues: int, days: int, postgres: str) -> None:
    import polars as pl

    from backroom_reporting.warehouse.tables.aggregations import daily_aggregations

    window = BusinessWindow(END - dt.timedelta(days=days - 1), END)
    with databases(postgres) as (source, warehouse, _):
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
            wired = with_databases(defs, source, warehouse)
            stages = backfill(wired, history, instance, selection=raw_and_daily)
        steps = asset_seconds([m for s in stages for m in s.materializations])
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
        f"   daily_aggregations asset (reads raw, polars, writes, runs its checks): "
        f"{steps.get('daily_aggregations', float('nan')):.2f}s"
    )
    print(
        f"   rows: asset {asset.height:,}, SQL {in_sql.height:,}; columns that differ: {differing or 'none'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("what", choices=["step", "backfill", "day", "refresh", "sql", "child"])
    parser.add_argument(
        "--venues",
        type=int,
        action="append",
        help="default: 1 (sql, day), 25 (backfill, refresh); repeatable for day",
    )
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--history", type=int, action="append", help="days of history (day); repeatable")
    parser.add_argument("--postgres", help="a PostgreSQL URL whose role may CREATE DATABASE")
    parser.add_argument("--postgres-only", action="store_true", help="with --postgres: skip the SQLite run")
    parser.add_argument("--repeat", type=int, default=5, help="runs of the empty step (step)")
    # child: one run in this process (see in_own_process)
    for option in ("--source", "--warehouse", "--out", "--keys", "--job", "--first", "--last", "--as-of"):
        parser.add_argument(option, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.what == "child":
        child(args)
        return
    backends = [None, args.postgres] if args.postgres else [None]
    if args.postgres_only:
        backends = [args.postgres]
    venues = (args.venues or [None])[-1]
    if args.what == "step":
        run_step(args.repeat)
    elif args.what == "backfill":
        for backend in backends:
            run_backfill(venues or 25, args.days, backend)
    elif args.what == "refresh":
        for backend in backends:
            run_refresh(venues or 25, args.days, backend)
    elif args.what == "day":
        for days in args.history or [90, 730]:
            for count in args.venues or [1]:
                for backend in backends:
                    run_day(days, count, backend)
    else:
        if not args.postgres:
            parser.error("sql needs --postgres")
        run_sql(venues or 1, args.days, args.postgres)
    print(f"\npeak RSS of this process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")


if __name__ == "__main__":
    main()
