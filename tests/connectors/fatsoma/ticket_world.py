"""A booking system of four nights and Fatsoma's events and orders for two of them, with what
the issue says a real feed does: pages out of order, a duplicate, a later version served before
an earlier one, a record missing a field, and an event at a location no venue is mapped to.

`expected_ticket_figures` works out each night's ticket figures from the stand-in's records
with plain Python and the business-day rule stated in tests/worlds.py, not the project's code.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg

from backroom_reporting.backfill import backfill, with_databases
from backroom_reporting.definitions import defs
from backroom_reporting.metrics.business_time import BusinessWindow
from tests.connectors.fatsoma.fatsoma_stub import FatsomaStub, event, order
from tests.worlds import at, night_of, small_world, write_source

NIGHTS = [dt.date(2026, 3, 26), dt.date(2026, 3, 27), dt.date(2026, 3, 28), dt.date(2026, 3, 29)]
WINDOW = BusinessWindow(NIGHTS[0], NIGHTS[-1])
THU, FRI, SAT, SUN = NIGHTS
EDITED = dt.datetime(2026, 3, 25, 9, 0, tzinfo=dt.UTC)  # when the promoter set the events up
VENUES = {"loc-leeds": "leeds"}  # FATSOMA_VENUES of the test's resource


def stamp(minutes: int) -> dt.datetime:
    """Fatsoma's updated-at of a record's version: minutes after EDITED."""
    return EDITED + dt.timedelta(minutes=minutes)


def fatsoma_world(stub: FatsomaStub) -> None:
    stub.records["events"] = [
        event("fz-fri", "LA FIESTA Friday", at(FRI, "22:00"), at(FRI, "04:00"), stamp(1)),
        event("fz-sat", "SHHH! Saturday", at(SAT, "22:00"), at(SAT, "04:00"), stamp(2)),
        event(
            "fz-away", "NOSTALGIA on tour", at(SAT, "21:00"), at(SAT, "02:00"), stamp(3), location="loc-york"
        ),
    ]
    refunded = order(
        "o3", "fz-sat", at(FRI, "13:00"), stamp(300), status="refunded", refunded=at(SAT, "12:00")
    )
    missing_total = order("o5", "fz-sat", at(SAT, "23:30"), stamp(60))
    del missing_total["attributes"]["total-sub-unit"]
    # Served three to a page: [o3 refunded, o1, o2], [o4, o2 again, o5], [o3 as first paid, o6].
    stub.records["orders"] = [
        refunded,
        order("o1", "fz-fri", at(THU, "19:00"), stamp(10)),
        order("o2", "fz-fri", at(FRI, "23:00"), stamp(20), quantity=1, total=1200, fee=120),
        order("o4", "fz-sat", at(SAT, "21:00"), stamp(40), quantity=4, total=4800, fee=480),
        order("o2", "fz-fri", at(FRI, "23:00"), stamp(20), quantity=1, total=1200, fee=120),
        missing_total,
        order("o3", "fz-sat", at(FRI, "13:00"), stamp(30)),
        order("o6", "fz-away", at(SAT, "20:00"), stamp(50)),
    ]


def latest(records: list[dict]) -> dict[str, dict]:
    """Each record's latest version by updated-at."""
    found: dict[str, dict] = {}
    for record in records:
        held = found.get(record["id"])
        if held is None or record["attributes"]["updated-at"] >= held["attributes"]["updated-at"]:
            found[record["id"]] = record
    return found


def _instant(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def expected_ticket_figures(stub: FatsomaStub) -> tuple[dict[dt.date, int], dict[dt.date, int]]:
    """(ticket revenue by event night, ticket sales taken by purchase night), in pence, of the
    paid orders that can be read: a total and an event at a mapped venue."""
    events = {
        e["id"]: night_of(_instant(e["attributes"]["starts-at"]))
        for e in latest(stub.records["events"]).values()
        if e["relationships"]["location"]["data"]["id"] in VENUES
    }
    revenue: dict[dt.date, int] = {}
    taken: dict[dt.date, int] = {}
    for o in latest(stub.records["orders"]).values():
        a = o["attributes"]
        event_id = o["relationships"]["event"]["data"]["id"]
        if a["status"] != "completed" or "total-sub-unit" not in a or event_id not in events:
            continue
        net = a["total-sub-unit"] - a["fee-sub-unit"]
        revenue[events[event_id]] = revenue.get(events[event_id], 0) + net
        bought = night_of(_instant(a["created-at"]))
        taken[bought] = taken.get(bought, 0) + net
    return revenue, taken


# What a night's ticket figures are computed through.
FIGURES = [
    *(f"raw_{t}" for t in ("venues", "customers", "events", "venue_tables", "staff")),
    *(f"raw_{t}" for t in ("bookings", "payments", "ticket_sales", "check_ins", "bar_transactions")),
    *(f"raw_{t}" for t in ("feedback", "staff_shifts")),
    "customer_visits",
    "hourly_aggregations",
    "daily_aggregations",
]


def wired(databases, fatsoma) -> dg.Definitions:
    return with_databases(defs, databases.source_url, databases.warehouse_url, fatsoma=fatsoma)


def pull(databases, fatsoma, instance: dg.DagsterInstance, raise_on_error: bool = True):
    """One run of the fatsoma_sync job's assets, as its schedule would start it."""
    definitions = wired(databases, fatsoma)
    return dg.materialize(
        list(definitions.assets),
        selection=["fatsoma_events", "fatsoma_orders"],
        instance=instance,
        resources=definitions.resources,
        raise_on_error=raise_on_error,
    )


def build_nights(databases, fatsoma, instance: dg.DagsterInstance, window: BusinessWindow = WINDOW) -> None:
    backfill(wired(databases, fatsoma), window, instance, selection=[dg.AssetKey(k) for k in FIGURES])


# The door scanner reads Fatsoma's tickets: the order a scan names is Fatsoma's.
SCANNED_ORDERS = {FRI: "o2", SAT: "o4", SUN: "o-not-in-fatsoma"}


def booking_system(databases) -> None:
    """small_world's booking system, its scans of tickets naming Fatsoma's orders (one an
    order Fatsoma does not have)."""
    world = small_world(NIGHTS)
    for scan in world["check_ins"]:
        if scan["order_id"] is not None:
            scan["order_id"] = SCANNED_ORDERS.get(night_of(scan["scanned_at"]))
    write_source(databases.source_url, world)
