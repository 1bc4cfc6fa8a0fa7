"""The Stripe connector in the code location: absent without STRIPE_API_KEY (the embedded default
needs no Stripe), present with it, with its own job and schedules, and the pulls left to them."""

from __future__ import annotations

import dagster as dg

from backroom_reporting.assets.policies import with_automation
from backroom_reporting.assets.stripe import stripe_definitions
from backroom_reporting.definitions import defs

STRIPE_ASSETS = {
    "stripe_charges",
    "stripe_refunds",
    "stripe_disputes",
    "stripe_payouts",
    "payment_reconciliation",
}


def keys(definitions: dg.Definitions) -> set[str]:
    return {k.to_user_string() for k in definitions.resolve_asset_graph().get_all_asset_keys()}


def test_without_a_key_there_is_no_stripe(monkeypatch):
    monkeypatch.delenv("STRIPE_API_KEY", raising=False)
    assert stripe_definitions() is None
    assert not keys(defs) & STRIPE_ASSETS


def test_with_a_key_the_assets_job_and_schedules_load(monkeypatch):
    monkeypatch.setenv("STRIPE_API_KEY", "sk_test_backroom")
    merged = with_automation(dg.Definitions.merge(defs, stripe_definitions()))
    merged.validate_loadable(merged)
    graph = merged.resolve_asset_graph()
    assert keys(merged) >= STRIPE_ASSETS
    # Pulls run on their schedules only; the reconciliation follows its inputs.
    assert graph.get(dg.AssetKey("stripe_charges")).automation_condition is None
    assert graph.get(dg.AssetKey("payment_reconciliation")).automation_condition is not None
    assert {s.name for s in merged.schedules} >= {"stripe_open_night_schedule", "stripe_closing_schedule"}
    refunds = graph.get(dg.AssetKey("stripe_refunds"))
    assert dg.AssetKey("stripe_charges") in refunds.parent_keys
