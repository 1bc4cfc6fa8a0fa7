"""Pulling Stripe into the warehouse: pages, a 429 and a 500 along the way, duplicated records,
records missing a field or in another currency quarantined, and a second run changing nothing."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from tests.connectors.stripe.conftest import API_KEY, NIGHTS, unix
from tests.connectors.stripe.stripe_stub import charge, dispute, payout, refund
from tests.worlds import LONDON, at

NIGHT = NIGHTS[1]


def rows(url: str, sql: str) -> list[dict]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("SET search_path TO reporting"))
        found = [dict(r._mapping) for r in conn.execute(sa.text(sql))]
    engine.dispose()
    return found


def night_of_charges(count: int) -> list[dict]:
    """`count` deposits over the night, a minute apart from 21:00, each for booking b<i>."""
    start = unix(at(NIGHT, "21:00"))
    return [charge(f"ch_{i:04d}", start + 60 * i, 1000 + i, "leeds", f"b{i}") for i in range(count)]


def test_charges_pulled_through_faults_and_duplicates_then_pulled_again_change_nothing(
    world, stub, run_stripe
):
    good = night_of_charges(230)  # three pages of 100
    missing_amount = charge("ch_noamount", unix(at(NIGHT, "23:00")), 0, "leeds", "b1")
    del missing_amount["amount"]
    dollars = charge("ch_usd", unix(at(NIGHT, "23:01")), 2500, "leeds", "b2", currency="usd")
    no_venue = charge("ch_novenue", unix(at(NIGHT, "23:02")), 2500, None, "b3")
    other_night = charge("ch_friday", unix(at(NIGHTS[0], "23:00")), 700, "leeds", "b9")
    stub.objects["/v1/charges"] = [*good, missing_amount, dollars, no_venue, other_night]
    stub.faults["/v1/charges"] = [429, 500]
    stub.overlap = True  # every page after the first repeats the record before it

    result = run_stripe(NIGHT, "stripe_charges")
    assert result.success

    landed = rows(
        world.warehouse_url, "SELECT charge_id, venue_id, booking_id, amount_pence FROM stripe_charges"
    )
    expected = {(c["id"], "leeds", c["metadata"]["booking_id"], c["amount"]) for c in good}
    assert {tuple(r.values()) for r in landed} == expected
    quarantined = rows(
        world.warehouse_url,
        "SELECT record_id, reason, detail, raw_values FROM raw_quarantine "
        "WHERE source_table = 'stripe_charges'",
    )
    by_id = {r["record_id"]: r for r in quarantined}
    assert set(by_id) == {"ch_noamount", "ch_usd", "ch_novenue"}
    assert by_id["ch_noamount"]["reason"] == "missing_required"
    assert "amount_pence is required" in by_id["ch_noamount"]["detail"]
    assert "currency='usd'" in by_id["ch_usd"]["detail"] and "GBP" in by_id["ch_usd"]["detail"]
    assert "venue_id is required" in by_id["ch_novenue"]["detail"]
    # Nothing lost: the whole record as Stripe sent it is kept with the reason.
    kept = json.loads(json.loads(by_id["ch_usd"]["raw_values"])["record_json"])
    assert kept == dollars
    # The 429 was asked again by the connector, the 500 by the SDK; the key went with every call.
    pages = [q for path, q in stub.requests if path == "/v1/charges"]
    assert len(pages) == 2 + 3
    assert all(a == f"Bearer {API_KEY}" for a in stub.auth)
    # Never pulled before: the whole night, 06:00 to 06:00 London.
    opens = dt.datetime(NIGHT.year, NIGHT.month, NIGHT.day, 6, tzinfo=LONDON)
    assert pages[0]["created[gte]"] == [str(unix(opens))] and pages[0]["created[lt]"] == [
        str(unix(at(NIGHT, "06:00")))
    ]
    check = result.get_asset_check_evaluations()[0]
    assert not check.passed and "3 of 233 rows quarantined" in check.description

    # Again: the night is final, so the pull starts just before the latest charge landed.
    stub.requests.clear()
    assert run_stripe(NIGHT, "stripe_charges").success
    again = rows(
        world.warehouse_url, "SELECT charge_id, venue_id, booking_id, amount_pence FROM stripe_charges"
    )
    assert {tuple(r.values()) for r in again} == expected
    assert (
        len(rows(world.warehouse_url, "SELECT 1 FROM raw_quarantine WHERE source_table = 'stripe_charges'"))
        == 3
    )
    latest = max(c["created"] for c in good)
    assert int(stub.requests[0][1]["created[gte]"][0]) == latest - 600


@pytest.mark.parametrize("databases", ["sqlite"], indirect=True)
def test_refunds_and_disputes_take_venue_and_booking_from_their_charge(world, stub, run_stripe):
    deposit = charge("ch_1", unix(at(NIGHTS[0], "22:00")), 6000, "leeds", "b1")
    del deposit["disputed"], deposit["amount_refunded"]  # a sparser charge than Stripe's still lands
    stub.objects["/v1/charges"] = [deposit]
    stub.objects["/v1/refunds"] = [
        refund("re_1", unix(at(NIGHT, "22:00")), 2000, "ch_1"),
        refund("re_stranger", unix(at(NIGHT, "22:05")), 500, "ch_unknown"),
        refund(
            "re_own", unix(at(NIGHT, "22:10")), 700, None, metadata={"venue_id": "leeds", "booking_id": "b7"}
        ),
    ]
    stub.objects["/v1/disputes"] = [dispute("dp_1", unix(at(NIGHT, "23:00")), 6000, "ch_1")]
    stub.objects["/v1/payouts"] = [payout("po_1", unix(at(NIGHT, "12:30")), 48_000)]
    assert run_stripe(NIGHTS[0], "stripe_charges").success
    assert run_stripe(NIGHT, "stripe_charges", "stripe_refunds", "stripe_disputes", "stripe_payouts").success

    refunds = rows(
        world.warehouse_url,
        "SELECT refund_id, charge_id, venue_id, booking_id, amount_pence FROM stripe_refunds",
    )
    assert sorted(tuple(r.values()) for r in refunds) == [
        ("re_1", "ch_1", "leeds", "b1", 2000),
        ("re_own", None, "leeds", "b7", 700),
    ]
    stranger = rows(world.warehouse_url, "SELECT detail FROM raw_quarantine WHERE record_id = 're_stranger'")
    assert "venue_id is required" in stranger[0]["detail"]
    disputes = rows(
        world.warehouse_url, "SELECT dispute_id, venue_id, booking_id, business_date FROM stripe_disputes"
    )
    assert [(d["dispute_id"], d["venue_id"], d["booking_id"], str(d["business_date"])) for d in disputes] == [
        ("dp_1", "leeds", "b1", NIGHT.isoformat())
    ]
    payouts = rows(world.warehouse_url, "SELECT payout_id, amount_pence, arrival_date FROM stripe_payouts")
    assert [(p["payout_id"], p["amount_pence"]) for p in payouts] == [("po_1", 48_000)]


@pytest.mark.parametrize("databases", ["sqlite"], indirect=True)
def test_a_bad_version_never_replaces_a_good_one_and_a_record_without_id_is_kept_once(
    world, stub, run_stripe
):
    good = charge("ch_a", unix(at(NIGHT, "23:00")), 1000, "leeds", "b1")
    nameless = charge("ch_x", unix(at(NIGHT, "22:00")), 800, "leeds", "b2")
    del nameless["id"]
    stub.objects["/v1/charges"] = [good, nameless]

    def landed():
        return rows(world.warehouse_url, "SELECT charge_id, amount_pence FROM stripe_charges")

    def quarantine():
        found = rows(world.warehouse_url, "SELECT record_id, reason FROM raw_quarantine")
        return sorted((r["record_id"] or "", r["reason"]) for r in found)

    assert run_stripe(NIGHT, "stripe_charges").success
    assert landed() == [{"charge_id": "ch_a", "amount_pence": 1000}]
    assert quarantine() == [("", "missing_required")]

    stub.objects["/v1/charges"] = [{**good, "amount": 12.5}, nameless]  # half a penny: not Stripe's
    assert run_stripe(NIGHT, "stripe_charges").success
    assert landed() == [{"charge_id": "ch_a", "amount_pence": 1000}]
    assert quarantine() == [("", "missing_required"), ("ch_a", "invalid_value")]

    stub.objects["/v1/charges"] = [{**good, "amount": 1200}, nameless]
    assert run_stripe(NIGHT, "stripe_charges").success
    assert landed() == [{"charge_id": "ch_a", "amount_pence": 1200}]
    assert quarantine() == [("", "missing_required")]
