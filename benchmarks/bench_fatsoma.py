"""The Fatsoma connector's throughput against its stand-in on loopback: records per second.

    python -m benchmarks.bench_fatsoma [--orders 20000] [--events 100] [--page-size 100]

Run from the repository's root: the server is the connector tests' stand-in for Fatsoma
(tests/connectors/fatsoma/fatsoma_stub.py), serving JSON:API pages of `--page-size` records with
`links.next`, from one Python thread (it is likely the slower side). The warehouse is a
fresh SQLite file at head. Four figures:

- fetch: the pages alone (HTTP, JSON), no warehouse;
- first pull: events then orders fetched, mapped, collapsed to their latest versions and
  landed with the cursor, as the `fatsoma_sync` job's assets do;
- next pull: the same again, by cursor, when nothing changed (what every 15 minutes costs);
- raw load: raw_ticket_sales loaded from the landing table over every night the orders
  fall on, through the contract's validation, as `fatsoma_reload` does.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

import polars as pl

from backroom_reporting.connectors.fatsoma import (
    LANDED,
    ORDER_FIELDSET,
    FatsomaResource,
    fetch,
    pull_events,
    pull_orders,
)
from backroom_reporting.ingest.load import load_snapshot, load_window
from backroom_reporting.metrics.business_time import BusinessWindow
from backroom_reporting.warehouse.connections import REPORTING_SCHEMA
from backroom_reporting.warehouse.database import Database
from backroom_reporting.warehouse.migrate import upgrade
from backroom_reporting.warehouse.source_contract import CONTRACT, create_loose_source
from backroom_reporting.warehouse.tables.raw import RAW
from backroom_reporting.warehouse.types import table_schema
from tests.connectors.fatsoma.fatsoma_stub import FatsomaStub, event, order
from tests.delivery.loopback import Loopback

FIRST_NIGHT = dt.datetime(2026, 9, 4, 21, 0, tzinfo=dt.UTC)
EDITED = dt.datetime(2026, 8, 1, tzinfo=dt.UTC)


def feed(stub: FatsomaStub, orders: int, events: int) -> BusinessWindow:
    """`events` weekly-ish nights and `orders` orders spread over the three weeks before each."""
    nights = [FIRST_NIGHT + dt.timedelta(days=2 * i) for i in range(events)]
    stub.records["events"] = [
        event(f"ev-{i}", f"LA FIESTA {i}", start, start + dt.timedelta(hours=6), EDITED)
        for i, start in enumerate(nights)
    ]
    stub.records["orders"] = [
        order(
            f"ord-{n}",
            f"ev-{n % events}",
            nights[n % events] - dt.timedelta(minutes=7 * (n // events) % (21 * 24 * 60)),
            EDITED + dt.timedelta(seconds=n),
            quantity=1 + n % 4,
            total=1200 * (1 + n % 4),
            fee=120 * (1 + n % 4),
        )
        for n in range(orders)
    ]
    return BusinessWindow((nights[0] - dt.timedelta(days=22)).date(), nights[-1].date())


def rate(records: int, seconds: float) -> str:
    return f"{records:>7,} records in {seconds:6.2f} s = {records / seconds:>9,.0f} records/s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--page-size", type=int, default=100)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, Loopback() as server:
        stub = FatsomaStub(server, page_size_cap=args.page_size)
        window = feed(stub, args.orders, args.events)
        resource = FatsomaResource(
            tickets_source="fatsoma", base_url=stub.base_url, api_key="bench", venues="loc-leeds=leeds"
        )
        url = f"sqlite:///{Path(tmp) / 'warehouse.db'}"
        upgrade(url)
        warehouse = Database(url, search_path=REPORTING_SCHEMA)
        records = args.orders + args.events
        print(f"{args.orders:,} orders of {args.events} events, {args.page_size} a page, SQLite warehouse")

        with resource.api() as api:
            began = time.perf_counter()
            fetched = fetch(api, "orders", ORDER_FIELDSET, None, args.page_size)
            print(f"fetch       {rate(len(fetched), time.perf_counter() - began)} ({api.requests} pages)")

            now = dt.datetime.now(dt.UTC)
            began = time.perf_counter()
            pull_events(api, warehouse, resource.venue_map(), args.page_size, now)
            orders = pull_orders(api, warehouse, args.page_size, now)
            print(
                f"first pull  {rate(records, time.perf_counter() - began)} ({orders.landed:,} orders landed)"
            )

            # Nothing changed: the ten minutes before the cursor are read again, and none lands.
            began = time.perf_counter()
            pull_events(api, warehouse, resource.venue_map(), args.page_size, now)
            again = pull_orders(api, warehouse, args.page_size, now)
            print(f"next pull   {rate(again.records, time.perf_counter() - began)} ({again.landed} landed)")

        # The raw layer: the venue, the events (none in the booking system), then the orders.
        source_url = f"sqlite:///{Path(tmp) / 'booking.db'}"
        source = Database(source_url)
        create_loose_source(source.engine)
        venue = {"venue_id": "leeds", "name": "The Backroom Leeds", "city": "Leeds"}
        venue |= {"timezone": "Europe/London", "capacity": 300, "business_day_cutoff": "06:00"}
        warehouse.append(RAW["venues"], pl.DataFrame([venue], schema=table_schema(RAW["venues"])))
        load_snapshot(source, warehouse, CONTRACT["events"], landed=LANDED)
        began = time.perf_counter()
        loaded = load_window(warehouse, warehouse, CONTRACT["ticket_sales"], window, landed=LANDED)
        seconds = time.perf_counter() - began
        print(
            f"raw load    {rate(loaded.read, seconds)} ({window.first_day} to {window.last_day}, "
            f"{loaded.quarantined} quarantined)"
        )
        warehouse.close()
        source.close()


if __name__ == "__main__":
    main()
