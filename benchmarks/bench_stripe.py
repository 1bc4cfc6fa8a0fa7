"""The Stripe connector's throughput: records per second pulled, checked and landed, against the
tests' Stripe stub on loopback (tests/connectors/stripe/stripe_stub.py).

    python -m benchmarks.bench_stripe [--records 20000] [--records 100000] [--postgres URL]

Run from the repository's root. One night of N charges (a venue's deposits; one in a hundred
missing its amount, so quarantine is exercised), pulled whole into a fresh warehouse (a first
pull: every page, 100 records each), then pulled again (the night is final: from the cursor,
so a handful of records). Each pull is `land()`, what the stripe_charges asset runs, without
Dagster's fixed cost per step (see bench_analytics.py step for that).
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
import uuid

import polars as pl
import sqlalchemy as sa

from backroom_reporting.connectors.stripe import client
from backroom_reporting.connectors.stripe_load import land
from backroom_reporting.metrics.business_time import BusinessWindow
from backroom_reporting.warehouse.connections import REPORTING_SCHEMA
from backroom_reporting.warehouse.database import Database
from backroom_reporting.warehouse.migrate import upgrade
from backroom_reporting.warehouse.tables.raw import RAW
from backroom_reporting.warehouse.types import table_schema
from tests.connectors.stripe.stripe_stub import StripeStub, charge

NIGHT = dt.date(2026, 11, 28)
MORNING = dt.datetime(2026, 11, 29, 9, 0, tzinfo=dt.UTC)


def warehouse(postgres: str | None) -> tuple[str, callable]:
    if postgres is None:
        folder = tempfile.mkdtemp(prefix="bench-connectors-")
        url = f"sqlite:///{folder}/warehouse.db"
        upgrade(url)
        return url, lambda: None
    admin = sa.create_engine(postgres, isolation_level="AUTOCOMMIT")
    name = f"bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(postgres).set(database=name).render_as_string(hide_password=False)
    upgrade(url)

    def drop():
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    return url, drop


def run(records: int, postgres: str | None) -> None:
    url, drop = warehouse(postgres)
    try:
        db = Database(url, search_path=REPORTING_SCHEMA)
        venue = {"venue_id": "leeds", "name": "Leeds", "city": "Leeds", "timezone": "Europe/London"}
        venue |= {"capacity": 300, "business_day_cutoff": "06:00"}
        db.append(RAW["venues"], pl.DataFrame([venue], schema=table_schema(RAW["venues"])))
        window = BusinessWindow(NIGHT, NIGHT)
        start = int(window.start.timestamp())
        seconds = int((window.end - window.start).total_seconds())
        with StripeStub() as stub:
            made = [
                charge(f"ch_{i:07d}", start + i * seconds // records, 1000 + i % 5000, "leeds", f"b{i}")
                for i in range(records)
            ]
            for broken in made[::100]:
                del broken["amount"]
            stub.objects["/v1/charges"] = made
            sdk = client("sk_test_bench", stub.url, 3)
            for label in ("first pull", "again"):
                began = time.perf_counter()
                landing = land(sdk, db, "stripe_charges", window, MORNING)
                seconds = time.perf_counter() - began
                pulled = len(landing.pulled.records)
                print(
                    f"{db.dialect:10} {records:>7} charges  {label:10}: {pulled:>7} pulled in "
                    f"{landing.pulled.pages:>4} pages, {landing.landed:>7} landed, {landing.quarantined:>5} "
                    f"quarantined, {seconds:6.2f} s, {pulled / seconds:8.0f} records/s"
                )
        db.close()
    finally:
        drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, action="append")
    parser.add_argument("--postgres", help="a PostgreSQL URL whose role may create databases")
    args = parser.parse_args()
    for records in args.records or [20_000]:
        run(records, None)
        if args.postgres:
            run(records, args.postgres)


if __name__ == "__main__":
    main()
