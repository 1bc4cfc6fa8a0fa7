"""The 22:00 report time through Dagster: N subscriptions due at once, as the sensor asks.

    python -m benchmarks.bench_report_time [--subscriptions 1 --subscriptions 7 ...]
                                           [--venues 5] [--days 75]

Run from the repository's root. Generates the venues, materialises every analytics asset
once, then for each N, on a fresh copy of that warehouse, a fresh report store and a fresh
Dagster instance: N subscriptions (the demo recipients') over three templates (daily and
weekly summary, and a monthly layout made from the weekly in a copy of report_layouts/) and
the venues, all on a 22:00 cron and due at Sunday 22 November 2026 22:00. The deliveries_due
sensor is ticked at that time and each run it asks for is started as the daemon's run
launcher starts one: in a process of its own (Python, imports, the code location, Chromium),
rendering and delivering to the file outbox. The wall time is the tick plus every run.

Subscription i takes template i mod 3 and venue (i div 3) mod the venues, so 15 distinct
reports at most: every subscription past the first 15 shares its template, period and
filters with an earlier one, and the marginal cost of such a subscription is
(wall(N) - wall(15 or more)) / the difference in N.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DUE = dt.datetime(2026, 11, 22, 22, tzinfo=dt.UTC)  # Sunday 22:00 (GMT)
END = dt.date(2026, 11, 22)
TEMPLATES = ("daily_summary", "weekly_summary", "monthly_summary")
FORMATS = (("pdf", "xlsx"), ("pdf", "html"), ("xlsx", "csv"), ("pdf",))
SETTINGS = (
    "BACKROOM_SOURCE_URL",
    "BACKROOM_WAREHOUSE_URL",
    "BACKROOM_LAYOUTS_DIR",
    "BACKROOM_REPORT_STORE",
    "BACKROOM_OUTBOX",
)
SELECTION = (
    "subscription_reports",
    "report_generation_history",
    "report_deliveries",
    "report_delivery_history",
)


def layouts_with_a_monthly(folder: Path) -> Path:
    from benchmarks.bench_reports import layouts_with_a_monthly as made

    return made(folder)


def run_one(request: str) -> None:
    """A run in this process, as `dagster api execute_run` would make it (the settings from
    the environment, the instance from DAGSTER_HOME)."""
    import dagster as dg

    from backroom_reporting.definitions import defs

    asked = json.loads(request)
    with dg.DagsterInstance.get() as instance:
        result = dg.materialize(
            [*defs.assets],
            selection=[dg.AssetKey(k) for k in SELECTION],
            partition_key=asked["partition_key"],
            tags=asked["tags"],
            instance=instance,
            resources=defs.resources,
            raise_on_error=False,
        )
    steps = {
        e.step_key: round(e.event_specific_data.duration_ms / 1000, 2)
        for e in result.all_events
        if e.event_type == dg.DagsterEventType.STEP_SUCCESS
    }
    print(json.dumps({"success": result.success, "steps": steps}))


def subscriptions_for(count: int, venues: list[str], template):
    """`count` subscriptions of the demo owner, spread as the module says, on a 22:00 cron."""
    return [
        dataclasses.replace(
            template,
            subscription_id=f"bench-{i:03d}",
            template_key=TEMPLATES[i % 3],
            filters={"venue_id": venues[(i // 3) % len(venues)]},
            formats=FORMATS[i % len(FORMATS)],
            cron="0 22 * * *",
            timezone="Europe/London",
            next_delivery_at=DUE,
            paused=False,
        )
        for i in range(count)
    ]


def report_time(
    folder: Path, template_db: Path, layouts: Path, count: int, source: str, attempt: int = 0
) -> dict:
    import dagster as dg
    from dagster._core.test_utils import freeze_time

    from backroom_reporting.sensors.deliveries import deliveries_due
    from backroom_reporting.sensors.subscriptions import sync_subscription_partitions
    from backroom_reporting.subscriptions import service
    from backroom_reporting.subscriptions.service import venues as known_venues
    from backroom_reporting.warehouse.database import Database

    here = folder / f"n{count}-{attempt}"
    here.mkdir()
    warehouse = f"sqlite:///{here}/warehouse.db"
    shutil.copy(template_db, here / "warehouse.db")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(here / "dagster"),
        "BACKROOM_SOURCE_URL": source,
        "BACKROOM_WAREHOUSE_URL": warehouse,
        "BACKROOM_LAYOUTS_DIR": str(layouts),
        "BACKROOM_REPORT_STORE": str(here / "reports"),
        "BACKROOM_OUTBOX": str(here / "outbox"),
    }
    (here / "dagster").mkdir()
    os.environ.update(env)
    with Database(warehouse) as db:
        demo = service.list_subscriptions(db)
        owner = next(s for s in demo if s.subscription_id == "sub-owner-daily")
        mine = subscriptions_for(count, sorted(known_venues(db)), owner)
        paused = [dataclasses.replace(s, paused=True) for s in demo]
        service.store(db, subscriptions=[*paused, *mine])
    from backroom_reporting.definitions import defs

    with dg.DagsterInstance.get() as instance:
        sync_subscription_partitions(instance, [s.subscription_id for s in mine])
        began = time.perf_counter()
        with (
            freeze_time(DUE + dt.timedelta(seconds=30)),
            dg.build_sensor_context(instance=instance, resources=defs.resources) as context,
        ):
            requests = deliveries_due(context)
        assert isinstance(requests, list), requests
        tick = time.perf_counter() - began
        runs = []
        for request in requests:
            asked = json.dumps({"partition_key": request.partition_key, "tags": request.tags})
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "benchmarks.bench_report_time", "--run", asked],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            outcome = json.loads(done.stdout.strip().splitlines()[-1])
            runs.append({"seconds": time.perf_counter() - started, **outcome})
        wall = time.perf_counter() - began
        materialised = len(instance.get_materialized_partitions(dg.AssetKey("subscription_reports")))
        delivered = len(instance.get_materialized_partitions(dg.AssetKey("report_deliveries")))
    return {
        "count": count,
        "runs": runs,
        "tick": tick,
        "wall": wall,
        "materialised": materialised,
        "delivered": delivered,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subscriptions", type=int, action="append")
    parser.add_argument("--venues", type=int, default=5)
    parser.add_argument("--days", type=int, default=75)
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="times each N is measured; the fastest counts (a shared machine)",
    )
    parser.add_argument("--run", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        run_one(args.run)
        return
    counts = args.subscriptions or [1, 7, 50, 200]
    # The code location's resources read these when a run or tick starts (settings.py): they
    # must be set before it loads; each N points them at its own copies.
    for name in SETTINGS:
        os.environ.setdefault(name, "unset")
    os.environ["BACKROOM_LAYOUTS_DIR"] = str(Path(__file__).parents[1] / "report_layouts")

    import dagster as dg

    from backroom_reporting.backfill import backfill, with_databases
    from backroom_reporting.definitions import defs
    from backroom_reporting.demo.generator import generate
    from backroom_reporting.metrics.business_time import BusinessWindow
    from backroom_reporting.subscriptions.demo import load_demo_subscriptions
    from backroom_reporting.warehouse.database import Database
    from backroom_reporting.warehouse.migrate import upgrade

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        source, warehouse = f"sqlite:///{folder}/booking.db", f"sqlite:///{folder}/warehouse.db"
        window = BusinessWindow(END - dt.timedelta(days=args.days - 1), END)
        began = time.perf_counter()
        generate(source, args.venues, window.first_day, window.last_day, seed=11)
        upgrade(warehouse)
        history = BusinessWindow(window.first_day - dt.timedelta(days=35), window.last_day)
        analytics = [
            k for k in defs.resolve_asset_graph().get_all_asset_keys() if k.to_user_string() not in SELECTION
        ]
        with dg.DagsterInstance.ephemeral() as instance:
            backfill(with_databases(defs, source, warehouse), history, instance, selection=analytics)
        layouts = layouts_with_a_monthly(folder)
        with Database(warehouse) as db:
            load_demo_subscriptions(db, layouts)
        print(
            f"{args.venues} venue(s) x {args.days} days generated and materialised in "
            f"{time.perf_counter() - began:.0f}s; {os.cpu_count()} CPU(s)\n"
        )
        print(
            f"{'subscriptions':>13} {'runs':>5} {'wall s':>8} {'per run (s)':>24} {'reports/delivered':>18}"
        )
        results = []
        for count, attempt in itertools.product(counts, range(args.repeat)):
            result = report_time(folder, folder / "warehouse.db", layouts, count, source, attempt)
            results.append(result)
            per_run = ", ".join(f"{r['seconds']:.1f}" for r in result["runs"][:4])
            print(
                f"{count:>13} {len(result['runs']):>5} {result['wall']:>8.1f} {per_run:>24} "
                f"{result['materialised']:>8}/{result['delivered']}"
            )
            for run in result["runs"][:2]:
                print(f"{'':>14} steps: {run['steps']}")
        best: dict[int, dict] = {}
        for r in results:
            if r["count"] not in best or r["wall"] < best[r["count"]]["wall"]:
                best[r["count"]] = r
        by_count = {count: r["wall"] for count, r in best.items()}
        if 1 in by_count:
            for count, wall in by_count.items():
                print(f"   {count} subscriptions: {wall / by_count[1]:.2f}x one subscription's wall time")
        sharing = sorted(c for c in by_count if c >= 15)
        for low, high in itertools.pairwise(sharing):
            marginal = (by_count[high] - by_count[low]) / (high - low)
            steps = {
                step: (best[high]["runs"][0]["steps"][step] - seconds) / (high - low)
                for step, seconds in best[low]["runs"][0]["steps"].items()
            }
            print(
                f"   marginal cost of a subscription sharing its report, {low}->{high}: {marginal:.3f}s "
                f"(by step: {', '.join(f'{k} {v:.3f}s' for k, v in steps.items())})"
            )


if __name__ == "__main__":
    main()
