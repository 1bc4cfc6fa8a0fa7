"""Landing Fatsoma's events and orders: the latest version of each record once, whatever the
order of the pages or how often a record repeats; by cursor; nothing landed by a failed pull.
Against real SQLite and PostgreSQL warehouses and a stand-in for Fatsoma on loopback."""

from __future__ import annotations

import datetime as dt

import pytest

from backroom_reporting.connectors.fatsoma import pull_orders
from backroom_reporting.connectors.http import ConnectorFault
from backroom_reporting.warehouse.tables.connectors import connector_cursors, fatsoma_events, fatsoma_orders
from tests.connectors.fatsoma.fatsoma_stub import order
from tests.connectors.fatsoma.ticket_world import FRI, SAT, THU, latest, pull, stamp
from tests.delivery.loopback import Reply
from tests.worlds import at


def landed(databases, table) -> dict[str, dict]:
    return {r["landing_key"]: r for r in databases.warehouse.read_table(table).to_dicts()}


def metadata_of(result, asset: str) -> dict:
    [m] = [m for m in result.asset_materializations_for_node(asset)]
    return {k: v.value for k, v in m.metadata.items()}


def test_the_latest_version_of_each_record_lands_once(world, stub, fatsoma, instance):
    result = pull(world, fatsoma, instance)
    orders = landed(world, fatsoma_orders)
    versions = latest(stub.records["orders"])
    assert sorted(orders) == sorted(versions) == ["o1", "o2", "o3", "o4", "o5", "o6"]
    # Served before its older version, the refund stays; the duplicate of o2 lands once.
    assert orders["o3"]["status"] == "refunded"
    assert orders["o3"]["refunded_at"] == at(SAT, "12:00")
    for key, record in versions.items():
        a = record["attributes"]
        assert orders[key]["quantity"] == a["quantity"]
        assert orders[key]["gross_pence"] == a.get("total-sub-unit")  # o5's is missing: empty
        assert orders[key]["fee_pence"] == a["fee-sub-unit"]
        assert orders[key]["event_id"] == record["relationships"]["event"]["data"]["id"]
        assert orders[key]["customer_id"] is None
        # Only the fields the mapping reads are kept: never the buyer's email.
        assert "buyer-email" not in orders[key]["received"] and "@" not in orders[key]["received"]
    # The venue is the event's: Leeds, or the unmapped location named (the raw layer quarantines it).
    assert {k: r["venue_id"] for k, r in orders.items()} == {
        **dict.fromkeys(["o1", "o2", "o3", "o4", "o5"], "leeds"),
        "o6": "fatsoma-location:loc-york",
    }
    events = landed(world, fatsoma_events)
    assert events["fz-away"]["venue_id"] == "fatsoma-location:loc-york"
    assert events["fz-fri"]["brand"] == "LA FIESTA" and events["fz-sat"]["brand"] == "SHHH!"
    assert events["fz-sat"]["status"] == "scheduled" and events["fz-sat"]["ticket_price_pence"] == 1200
    meta = metadata_of(result, "fatsoma_orders")
    assert meta["records_received"] == 8 and meta["records_landed"] == 6
    # Purchase nights of what landed: Thursday's presale, Friday's and Saturday's orders.
    assert meta["nights_to_reload"] == [str(THU), str(FRI), str(SAT)]
    # Each request asked for the mapped fields only, with the key.
    for request in stub.pages_served("orders"):
        assert request.query["fields[orders]"] == [
            "quantity,total-sub-unit,fee-sub-unit,status,created-at,refunded-at,updated-at,event"
        ]
        assert request.headers["authorization"] == "Bearer fatsoma-test-key"


def test_a_second_pull_asks_since_the_cursor_and_lands_nothing_twice(world, stub, fatsoma, instance):
    pull(world, fatsoma, instance)
    before = landed(world, fatsoma_orders)
    first_requests = len(stub.pages_served("orders"))
    result = pull(world, fatsoma, instance)
    again = stub.pages_served("orders")[first_requests:]
    # From ten minutes before the newest updated-at landed (o3's refund at stamp 300).
    assert again[0].query["filter[updated-at][gte]"] == [
        (stamp(300) - (stamp(10) - stamp(0))).isoformat().replace("+00:00", "Z")
    ]
    meta = metadata_of(result, "fatsoma_orders")
    assert meta["records_received"] == 1 and meta["records_landed"] == 0
    assert meta["nights_to_reload"] == []
    after = landed(world, fatsoma_orders)
    assert {k: {c: v for c, v in r.items() if c != "landed_at"} for k, r in after.items()} == {
        k: {c: v for c, v in r.items() if c != "landed_at"} for k, r in before.items()
    }
    cursors = world.warehouse.read_table(connector_cursors).to_dicts()
    assert {(c["resource"], c["updated_since"]) for c in cursors} == {
        ("events", stamp(3)),
        ("orders", stamp(300)),
    }


def test_a_version_older_than_the_landed_one_is_ignored(world, stub, fatsoma, instance):
    pull(world, fatsoma, instance)
    # A replica lagging behind serves o3 as it was before the refund, stamped later than the cursor.
    stub.records["orders"] = [order("o3", "fz-sat", at(FRI, "13:00"), stamp(30))]
    stub.records["orders"][0]["attributes"]["updated-at"] = stamp(299).isoformat()
    fatsoma_cursor_overlap = pull(world, fatsoma, instance)
    meta = metadata_of(fatsoma_cursor_overlap, "fatsoma_orders")
    assert meta["stale_versions_ignored"] == 1 and meta["records_landed"] == 0
    assert landed(world, fatsoma_orders)["o3"]["status"] == "refunded"


def test_a_failed_pull_lands_nothing_and_keeps_its_cursor(world, stub, fatsoma, instance):
    pull(world, fatsoma, instance)
    stub.records["orders"].append(order("o7", "fz-sat", at(SAT, "22:00"), stamp(400)))
    stub.records["orders"].append(order("o8", "fz-sat", at(SAT, "22:30"), stamp(401)))
    original = stub._collection

    def second_page_fails(request, match):
        if request.query.get("page[cursor]"):
            return Reply(500, "down")
        return original(request, match)

    stub.server._routes.clear()
    stub.server.route("GET", r"/v1/(events|orders)", second_page_fails)
    stub.records["orders"].append(order("o9", "fz-sat", at(SAT, "23:00"), stamp(402)))
    # Four orders changed since the cursor (o3's refund, o7, o8, o9): the first page of three
    # comes, the second never does, and nothing of the pull lands.
    with fatsoma.api() as api, pytest.raises(ConnectorFault) as raised:
        pull_orders(api, world.warehouse, fatsoma.page_size, dt.datetime.now(dt.UTC))
    assert raised.value.sentence.startswith("Fatsoma answered 500 at /v1/orders on all 4 tries")
    assert not {"o7", "o8", "o9"} & set(landed(world, fatsoma_orders))
    cursors = world.warehouse.read_table(connector_cursors).to_dicts()
    assert {c["resource"]: c["updated_since"] for c in cursors}["orders"] == stamp(300)


def test_a_refused_key_fails_the_step_in_one_sentence_without_retries(world, stub, fatsoma, instance):
    stub.fail_next(Reply(401, {"errors": [{"title": "Unauthorized"}]}))
    result = pull(world, fatsoma, instance, raise_on_error=False)
    failures = [e for e in result.all_events if e.is_step_failure]
    assert len(failures) == 1 and len(stub.pages_served("events")) == 1
    assert failures[0].step_failure_data.user_failure_data.description == (
        "Fatsoma refused the credentials (401 at /v1/events): check FATSOMA_API_KEY."
    )


def test_an_event_put_at_a_mapped_location_takes_its_orders_to_that_venue(world, stub, fatsoma, instance):
    pull(world, fatsoma, instance)
    assert landed(world, fatsoma_orders)["o6"]["venue_id"] == "fatsoma-location:loc-york"
    away = next(e for e in stub.records["events"] if e["id"] == "fz-away")
    away["relationships"]["location"]["data"]["id"] = "loc-leeds"
    away["attributes"]["updated-at"] = stamp(700).isoformat()
    result = pull(world, fatsoma, instance)
    assert landed(world, fatsoma_events)["fz-away"]["venue_id"] == "leeds"
    assert landed(world, fatsoma_orders)["o6"]["venue_id"] == "leeds"
    # The event's night, and the purchase night of its order (both Saturday), are reloaded.
    assert metadata_of(result, "fatsoma_events")["nights_to_reload"] == [str(SAT)]
