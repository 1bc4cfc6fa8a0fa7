"""Report generation cost, split into data, charts, HTML, PDF, Excel and CSV.

    python benchmarks/bench_reports.py [--venues 5] [--days 120] [--subscriptions 50]

Generates the venues, materialises every analytics asset, then (with one Chromium for
the whole run, as one Dagster run would have):
1. one daily and one weekly report in all four formats, stage by stage;
2. N subscriptions over three templates (daily, weekly, and a monthly layout dropped into a
   copy of report_layouts/), spread over venues, brand filters and format choices: once
   cold, then again within the templates' TTL, when identical renders are reused.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import resource
import shutil
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import dagster as dg
import yaml

from backroom_reporting.backfill import backfill, with_databases
from backroom_reporting.definitions import defs
from backroom_reporting.demo.generator import generate
from backroom_reporting.metrics.business_time import BusinessWindow
from backroom_reporting.rendering.charts import ChartRenderer
from backroom_reporting.rendering.generate import Request
from backroom_reporting.rendering.generate import generate as generate_report
from backroom_reporting.rendering.layouts import load_layouts
from backroom_reporting.rendering.periods import latest_completed
from backroom_reporting.rendering.store import ReportStore
from backroom_reporting.subscriptions.service import venues as known_venues
from backroom_reporting.warehouse.database import Database
from backroom_reporting.warehouse.migrate import upgrade

END = dt.date(2026, 11, 22)  # a Sunday: the week and the night before are complete
NOW = dt.datetime(2026, 11, 23, 12, tzinfo=dt.UTC)
STAGES = ("data", "charts", "html", "pdf", "xlsx", "csv")
BRANDS = (None, None, "NOSTALGIA", "LA FIESTA")
FORMATS = (("pdf", "xlsx"), ("pdf", "html"), ("xlsx", "csv"), ("pdf", "html", "xlsx", "csv"))


def layouts_with_a_monthly(folder: Path) -> Path:
    layouts = folder / "layouts"
    shutil.copytree(Path(__file__).parents[1] / "report_layouts", layouts)
    monthly = yaml.safe_load((layouts / "weekly_summary.yaml").read_text())
    monthly.update(key="monthly_summary", title="Monthly Summary", period="month")
    monthly["schedule"]["cron"] = "0 9 1 * *"
    (layouts / "monthly_summary.yaml").write_text(yaml.safe_dump(monthly, sort_keys=False))
    return layouts


def line(label: str, seconds: dict[str, float]) -> str:
    parts = "  ".join(f"{s} {seconds.get(s, 0.0):6.2f}" for s in STAGES)
    return f"   {label:<30} {parts}  total {sum(seconds.get(s, 0.0) for s in STAGES):6.2f}s"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--venues", type=int, default=5)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--subscriptions", type=int, default=50)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        source, warehouse = f"sqlite:///{folder}/booking.db", f"sqlite:///{folder}/warehouse.db"
        window = BusinessWindow(END - dt.timedelta(days=args.days - 1), END)
        began = time.perf_counter()
        generate(source, args.venues, window.first_day, window.last_day, seed=11)
        upgrade(warehouse)
        history = BusinessWindow(window.first_day - dt.timedelta(days=35), window.last_day)
        analytics = [
            k
            for k in defs.resolve_asset_graph().get_all_asset_keys()
            if k.to_user_string() not in ("subscription_reports", "report_generation_history")
        ]
        with dg.DagsterInstance.ephemeral() as instance:
            backfill(with_databases(defs, source, warehouse), history, instance, selection=analytics)
        print(
            f"{args.venues} venue(s) x {args.days} days generated and materialised in "
            f"{time.perf_counter() - began:.0f}s"
        )

        layouts = load_layouts(layouts_with_a_monthly(folder))
        store = ReportStore(folder / "reports")
        db = Database(warehouse)
        venues = sorted(known_venues(db))
        with ChartRenderer() as charts:
            print("\n== one report of each, all formats (seconds per stage)")
            for key in ("daily_summary", "weekly_summary"):
                layout = layouts[key]
                request = Request(
                    f"bench-{key}",
                    layout,
                    latest_completed(layout.period, NOW),
                    {"venue_id": venues[0]},
                    ("pdf", "html", "xlsx", "csv"),
                )
                _, seconds = generate_report(db, request, charts, store, NOW, layouts_dir=folder / "layouts")
                print(line(key, seconds))

            plan = list(
                itertools.islice(
                    itertools.cycle(
                        itertools.product(
                            venues, ("daily_summary", "weekly_summary", "monthly_summary"), BRANDS, FORMATS
                        )
                    ),
                    args.subscriptions,
                )
            )
            for attempt, moment in (
                ("cold", NOW + dt.timedelta(hours=1)),
                ("again within TTL", NOW + dt.timedelta(hours=1, minutes=5)),
            ):
                totals: dict[str, float] = defaultdict(float)
                walls, reused, made = [], 0, 0
                for i, (venue, key, brand, formats) in enumerate(plan):
                    layout = layouts[key]
                    filters = {"venue_id": venue} | ({"brand": brand} if brand else {})
                    request = Request(
                        f"bench-{i:03d}", layout, latest_completed(layout.period, moment), filters, formats
                    )
                    started = time.perf_counter()
                    generation, seconds = generate_report(
                        db, request, charts, store, moment, layouts_dir=folder / "layouts"
                    )
                    walls.append(time.perf_counter() - started)
                    for stage, value in seconds.items():
                        totals[stage] += value
                    reused += sum(1 for f in generation.files if f["reused_from"])
                    made += sum(1 for f in generation.files if not f["reused_from"])
                print(
                    f"\n== {len(plan)} subscriptions over 3 templates, {attempt}: {made} files rendered, "
                    f"{reused} reused"
                )
                print(line("all subscriptions (sum)", totals))
                print(
                    f"   wall {sum(walls):.1f}s; per subscription median {statistics.median(walls):.2f}s, "
                    f"max {max(walls):.2f}s"
                )
        db.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS {peak:,.0f} MB (Chromium not included)")


if __name__ == "__main__":
    main()
