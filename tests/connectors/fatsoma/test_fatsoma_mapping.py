"""The one module that knows Fatsoma's field names: what each record becomes, and what happens
to a value that is missing, malformed or unknown (it lands empty, or as it came, for the raw
layer to quarantine; the received value stays beside it)."""

from __future__ import annotations

import datetime as dt
import json

from backroom_reporting.connectors.fatsoma_mapping import brand_of, event_rows, order_rows
from tests.connectors.fatsoma.fatsoma_stub import event, order

T = dt.datetime(2026, 3, 27, 21, 0, tzinfo=dt.UTC)


def test_an_order_becomes_a_ticket_sale_at_its_events_venue():
    [row] = order_rows(
        [order("o1", "ev-1", T, T, quantity=3, total=3600, fee=360)], {"ev-1": "leeds"}
    ).to_dicts()
    assert row == {
        "order_id": "o1",
        "venue_id": "leeds",
        "event_id": "ev-1",
        "customer_id": None,
        "quantity": 3,
        "gross_pence": 3600,
        "fee_pence": 360,
        "status": "paid",
        "purchased_at": T,
        "refunded_at": None,
        "landing_key": "o1",
        "updated_at": T,
        "received": row["received"],
    }
    assert "buyer-email" not in json.loads(row["received"])["attributes"]


def test_malformed_and_unknown_values_land_empty_or_as_they_came():
    no_id = order("x", "ev-1", T, T)
    del no_id["id"]
    pence_with_decimals = order("o2", "ev-1", T, T)
    pence_with_decimals["attributes"]["total-sub-unit"] = "12.50"
    odd_status = order("o3", "ev-unknown", T, T, status="reserved")
    odd_status["attributes"]["created-at"] = "last Friday"
    rows = order_rows([no_id, pence_with_decimals, odd_status], {"ev-1": "leeds"}).to_dicts()
    assert rows[0]["order_id"] is None and rows[0]["landing_key"].startswith("no-id:")
    assert rows[1]["gross_pence"] is None
    assert json.loads(rows[1]["received"])["attributes"]["total-sub-unit"] == "12.50"
    assert rows[2]["status"] == "reserved" and rows[2]["purchased_at"] is None and rows[2]["venue_id"] is None


def test_an_event_takes_its_brand_from_its_name_and_its_venue_from_its_location():
    records = [
        event("e1", "SHHH! Silent Disco", T, T + dt.timedelta(hours=6), T, status="ended"),
        event("e2", "Quiz night", T, T + dt.timedelta(hours=3), T, location="loc-york", status="sold-out"),
    ]
    first, second = event_rows(records, {"loc-leeds": "leeds"}).to_dicts()
    assert (first["brand"], first["venue_id"], first["status"]) == ("SHHH!", "leeds", "completed")
    assert (second["brand"], second["venue_id"], second["status"]) == (
        None,
        "fatsoma-location:loc-york",
        "sold-out",
    )
    assert brand_of("la fiesta: halloween") == "LA FIESTA" and brand_of(None) is None
