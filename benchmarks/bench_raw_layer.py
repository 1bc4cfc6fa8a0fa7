"""Wall time of materialising the raw layer for N venues x D business days in one run.

Generates the demo source, upgrades a fresh warehouse and runs the raw assets through
Dagster (snapshots, then every fact table over the whole window as one single-run
backfill), on SQLite and, when --postgres is given, on PostgreSQL.

    python benchmarks/bench_raw_layer.py [--venues 1] [--days 365]
        [--postgres postgresql://backroom:backroom@127.0.0.1/backroom_test]
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import tempfile
import time
import uuid

import dagster as dg
import sqlalchemy as sa

from backroom_reporting.assets.step_metrics import WALL_SECONDS
from backroom_reporting.backfill import backfill, with_databases
from backroom_reporting.definitions import defs
from backroom_reporting.demo.generator import generate
from backroom_reporting.metrics.business_time import BusinessWindow
from backroom_reporting.warehouse.migrate import upgrade
from backroom_reporting.warehouse.source_contract import CONTRACT

END = dt.date(2026, 10, 31)


def run(label: str, source_url: str, warehouse_url: str, venues: int, days: int, seed: int) -> None:
    window = BusinessWindow(END - dt.timedelta(days=days - 1), END)
    began = time.perf_counter()
    counts = generate(source_url, venues, window.first_day, window.last_day, seed)
    generated = time.perf_counter() - began
    upgrade(warehouse_url)
    raw = [dg.AssetKey(f"raw_{name}") for name in CONTRACT]
    wired = with_databases(defs, source_url, warehouse_url)
    with dg.DagsterInstance.ephemeral() as instance:
        began = time.perf_counter()
        stages = backfill(wired, window, instance, selection=raw)
        total = time.perf_counter() - began
    rows = sum(counts.values())
    print(f"\n== {label}: {venues} venue(s) x {days} business days ({window}), {rows:,} source rows")
    print(f"   generate: {generated:.1f}s")
    for stage in stages:
        kind = f"{stage.partitions} partitions in one run" if stage.partitions else "snapshots"
        print(f"   {kind:<32} {stage.seconds:7.1f}s")
        # One materialisation per night of a fact table, each with that night's figures.
        assets: dict[str, dict] = {}
        for m in stage.materializations:
            meta = m.metadata
            asset = assets.setdefault(m.asset_key.to_user_string(), {"rows": 0, "quarantined": 0})
            asset["rows"] += meta["dagster/row_count"].value
            asset["quarantined"] += meta["quarantined"].value
            asset["seconds"] = meta[WALL_SECONDS].value
        for name, asset in assets.items():
            print(
                f"     {name:<24} {asset['rows']:>10,} rows {asset['quarantined']:>6} quarantined "
                f"{asset['seconds']:7.2f}s in the asset"
            )
    print(f"   raw layer total: {total:.1f}s ({rows / total:,.0f} rows/s)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--venues", type=int, default=1)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--postgres", help="a PostgreSQL URL whose role may CREATE DATABASE")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        run(
            "SQLite",
            f"sqlite:///{tmp}/booking.db",
            f"sqlite:///{tmp}/warehouse.db",
            args.venues,
            args.days,
            args.seed,
        )
    if args.postgres:
        admin = sa.create_engine(args.postgres, isolation_level="AUTOCOMMIT")
        name = f"bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = sa.make_url(args.postgres).set(database=name).render_as_string(hide_password=False)
        try:
            run("PostgreSQL", url, url, args.venues, args.days, args.seed)
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS {peak:,.0f} MB")


if __name__ == "__main__":
    main()
