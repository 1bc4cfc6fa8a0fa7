"""Reconciling the booking system's payments with Stripe's, night by night, with differences
injected and each expected sentence written out here from the rows the test made."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest

from backroom_reporting.assets.nights import AS_OF_TAG
from backroom_reporting.assets.policies import with_automation
from backroom_reporting.assets.stripe import stripe_definitions
from backroom_reporting.backfill import backfill, with_databases
from backroom_reporting.definitions import defs
from backroom_reporting.ingest.load import load_window
from backroom_reporting.metrics.business_time import BusinessWindow
from backroom_reporting.warehouse.source_contract import CONTRACT
from tests.connectors.stripe.conftest import MORNING, NIGHTS, unix
from tests.connectors.stripe.stripe_stub import charge
from tests.connectors.stripe.test_stripe_pull import rows
from tests.worlds import at, insert_raw, night_of, small_world, source_rows, write_source

pytestmark = pytest.mark.parametrize("databases", ["sqlite"], indirect=True)


def test_each_difference_named_on_its_night_and_a_matching_night_passes(world, stub, run_stripe):
    friday, saturday = NIGHTS
    # The small world has one deposit a night; which night each is on, by the rule stated in worlds.py.
    deposit_on = {
        night_of(dt.datetime.fromisoformat(p["created_at"]).replace(tzinfo=dt.UTC)): p
        for p in source_rows(world.source_url, "payments")
    }
    fri, sat = deposit_on[friday], deposit_on[saturday]
    b_fri, b_sat = fri["booking_id"], sat["booking_id"]
    stub.objects["/v1/charges"] = [
        charge("ch_fri", unix(at(friday, "23:40")), fri["amount_pence"], "leeds", b_fri),
        # Saturday: the deposit charged 1,500p short, a charge the booking system never recorded,
        charge("ch_sat", unix(at(saturday, "23:40")), sat["amount_pence"] - 1500, "leeds", b_sat),
        charge("ch_stray", unix(at(saturday, "01:00")), 2500, "leeds", "b-walkin"),
    ]
    # and a refund recorded in the booking system that Stripe never made.
    insert_raw(
        world.source_url,
        "payments",
        [
            dict(
                payment_id="p-refund",
                venue_id="leeds",
                booking_id=b_sat,
                customer_id="c1",
                kind="refund",
                amount_pence=1000,
                status="succeeded",
                created_at=at(saturday, "02:00").isoformat(),
            )
        ],
    )
    load_window(world.source, world.warehouse, CONTRACT["payments"], BusinessWindow(saturday, saturday))

    for night in NIGHTS:
        assert run_stripe(night, "stripe_charges", "stripe_refunds").success
        result = run_stripe(night, "payment_reconciliation")
        assert result.success
        (check,) = result.get_asset_check_evaluations()
        assert check.partition == night.isoformat()
        if night == friday:
            assert check.passed
        else:
            assert not check.passed
            assert "3 difference(s)" in check.description

    deposit = sat["amount_pence"]
    expected = [
        "booking b-walkin: Stripe charge ch_stray of 2,500p, no deposit in the booking system",
        f"booking {b_sat}: deposit {deposit:,}p in the booking system, "
        f"Stripe charge ch_sat of {deposit - 1500:,}p",
        f"booking {b_sat}: refund 1,000p in the booking system, no Stripe refund",
    ]
    found = rows(world.warehouse_url, "SELECT business_date, difference FROM payment_reconciliation")
    assert sorted(r["difference"] for r in found) == sorted(expected)
    assert {str(r["business_date"]) for r in found} == {saturday.isoformat()}


def test_a_rebuild_with_stripe_configured_loads_both_sources_and_reconciles(databases, stub, monkeypatch):
    """`backroom rebuild`'s backfill over the code location as it loads with STRIPE_API_KEY set:
    the raw layer, Stripe's pulls and the reconciliation, night by night, in one go."""
    monkeypatch.setenv("STRIPE_API_KEY", "sk_test_backroom")
    monkeypatch.setenv("STRIPE_BASE_URL", stub.url)
    world = small_world(NIGHTS)
    write_source(databases.source_url, world)
    friday, saturday = NIGHTS
    charges = []
    for p in world["payments"]:
        night = night_of(p["created_at"])
        short = 100 if night == friday else 0  # Friday's deposit charged 100p short
        charges.append(
            charge(
                f"ch_{p['payment_id']}",
                unix(p["created_at"]),
                p["amount_pence"] - short,
                "leeds",
                p["booking_id"],
            )
        )
    stub.objects["/v1/charges"] = charges
    configured = with_automation(dg.Definitions.merge(defs, stripe_definitions()))
    instance = dg.DagsterInstance.ephemeral()
    wanted = ["raw_venues", "raw_customers", "raw_venue_tables", "raw_events", "raw_bookings", "raw_payments"]
    wanted += ["stripe_charges", "stripe_refunds", "payment_reconciliation"]
    results = backfill(
        with_databases(configured, databases.source_url, databases.warehouse_url),
        BusinessWindow(friday, saturday),
        instance,
        selection=[dg.AssetKey(k) for k in wanted],
        tags={AS_OF_TAG: MORNING.isoformat()},
    )
    failed = {name: check for r in results for name, check in r.failed_checks.items()}
    assert list(failed) == ["payment_reconciliation:matches_stripe"]
    assert failed["payment_reconciliation:matches_stripe"].partitions == [str(friday)]
    deposit = next(p for p in world["payments"] if night_of(p["created_at"]) == friday)
    found = rows(databases.warehouse_url, "SELECT business_date, difference FROM payment_reconciliation")
    assert [(str(r["business_date"]), r["difference"]) for r in found] == [
        (
            str(friday),
            f"booking {deposit['booking_id']}: deposit {deposit['amount_pence']:,}p in the booking system, "
            f"Stripe charge ch_{deposit['payment_id']} of {deposit['amount_pence'] - 100:,}p",
        )
    ]
    instance.dispose()
