"""The Fatsoma connector's assets: Fatsoma's events and ticket orders, landed (docs/connectors.md).

They run on their own schedule (schedules/fatsoma.py) when the deployment's tickets come
from Fatsoma, and do nothing otherwise (the embedded default: no network). What they land,
raw_events and raw_ticket_sales load; the sensor `fatsoma_nights` reloads the nights each
pull changed, and everything downstream follows those raw loads.
"""

import datetime as dt

import dagster as dg

from backroom_reporting.assets.policies import RETRY_TRANSIENT_FAULTS
from backroom_reporting.connectors.fatsoma import FatsomaResource, Pull, pull_events, pull_orders
from backroom_reporting.connectors.http import ConnectorFault
from backroom_reporting.resources.databases import WarehouseResource

GROUP = "fatsoma"
COMMON = dict(
    group_name=GROUP, kinds={"http", "sql"}, retry_policy=RETRY_TRANSIENT_FAULTS, owners=["team:data"]
)


def _pulled(context: dg.AssetExecutionContext, fatsoma: FatsomaResource, pull) -> dg.MaterializeResult:
    if not fatsoma.for_tickets():
        context.log.info("Tickets come from the booking system (BACKROOM_TICKETS_SOURCE): nothing pulled.")
        return dg.MaterializeResult(metadata={"pulled": False})
    try:
        with fatsoma.api() as api:
            result: Pull = pull(api, dt.datetime.now(dt.UTC))
    except ConnectorFault as fault:
        raise dg.Failure(fault.sentence, allow_retries=fault.transient) from fault
    context.log.info(
        f"fatsoma {result.resource}: {result.records} received, {result.landed} landed, "
        f"{result.stale} stale versions ignored; nights to reload: {sorted(map(str, result.nights))}"
    )
    return dg.MaterializeResult(metadata={"pulled": True, **result.metadata()})


@dg.asset(**COMMON)
def fatsoma_events(
    context: dg.AssetExecutionContext, fatsoma: FatsomaResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Fatsoma's events changed since the last pull, landed as rows of the contract's `events`
    (latest version of each); raw_events loads them beside the booking system's."""
    venues = fatsoma.venue_map() if fatsoma.for_tickets() else {}
    return _pulled(
        context,
        fatsoma,
        lambda api, now: pull_events(api, warehouse.database(), venues, fatsoma.page_size, now),
    )


@dg.asset(**COMMON, deps=[fatsoma_events])
def fatsoma_orders(
    context: dg.AssetExecutionContext, fatsoma: FatsomaResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Fatsoma's ticket orders changed since the last pull, landed as rows of the contract's
    `ticket_sales` at their event's venue; raw_ticket_sales loads them when tickets come from Fatsoma."""
    return _pulled(
        context, fatsoma, lambda api, now: pull_orders(api, warehouse.database(), fatsoma.page_size, now)
    )
