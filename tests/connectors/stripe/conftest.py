"""The Stripe connector run as Dagster runs it: its assets materialised with real resources, a
real warehouse (SQLite or PostgreSQL) and a Stripe stub on loopback."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import dagster as dg
import pytest

from backroom_reporting.assets.nights import AS_OF_TAG
from backroom_reporting.assets.stripe import payment_reconciliation_asset, pull_assets
from backroom_reporting.ingest.load import load_snapshot, load_window
from backroom_reporting.metrics.business_time import BusinessWindow
from backroom_reporting.resources.databases import WarehouseResource
from backroom_reporting.resources.stripe import StripeResource
from backroom_reporting.warehouse.source_contract import CONTRACT
from tests.connectors.stripe.stripe_stub import StripeStub
from tests.worlds import small_world, write_source

NIGHTS = [dt.date(2026, 11, 27), dt.date(2026, 11, 28)]
# The morning after the second night: both nights are closed.
MORNING = dt.datetime(2026, 11, 29, 9, 0, tzinfo=dt.UTC)
API_KEY = "sk_test_backroom"


@pytest.fixture
def stub() -> Iterator[StripeStub]:
    with StripeStub() as server:
        yield server


@pytest.fixture
def world(databases):
    """The small world's booking system, with venues, customers, bookings and payments loaded."""
    write_source(databases.source_url, small_world(NIGHTS))
    source, warehouse = databases.source, databases.warehouse
    for table in ("venues", "customers", "venue_tables", "events", "staff"):
        load_snapshot(source, warehouse, CONTRACT[table])
    window = BusinessWindow(NIGHTS[0], NIGHTS[-1])
    for table in ("bookings", "payments"):
        load_window(source, warehouse, CONTRACT[table], window, MORNING)
    return databases


@pytest.fixture
def run_stripe(world, stub):
    """run_stripe(night, *asset names, as_of=MORNING): materialise Stripe's assets for a night."""
    instance = dg.DagsterInstance.ephemeral()
    resources = {
        "stripe": StripeResource(api_key=API_KEY, base_url=stub.url, rate_limit_wait_seconds=0.0),
        "warehouse": WarehouseResource(url=world.warehouse_url),
    }

    def run(night: dt.date, *names: str, as_of: dt.datetime = MORNING) -> dg.ExecuteInProcessResult:
        return dg.materialize(
            [*pull_assets, payment_reconciliation_asset],
            selection=list(names) or None,
            partition_key=night.isoformat(),
            resources=resources,
            instance=instance,
            tags={AS_OF_TAG: as_of.isoformat()},
        )

    run.instance = instance
    yield run
    instance.dispose()


def unix(moment: dt.datetime) -> int:
    return int(moment.timestamp())
