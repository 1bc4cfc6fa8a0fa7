"""Stale deliveries in the ledger: a key of their own beside the period's fresh one, and the
periods still waiting for their fresh report (SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
import datetime as dt

from backroom_reporting.delivery import ledger
from backroom_reporting.delivery.model import Parcel, Stale
from tests.delivery import parcels

NOW = dt.datetime(2026, 11, 29, 22, 0, tzinfo=dt.UTC)
SUNDAY = dt.date(2026, 11, 29)
REASON = "the Daily Summary for Sunday 29 November 2026 failed: the figures are not ready"


def for_sunday(parcel: Parcel, *, stale: bool) -> Parcel:
    """The parcel of Sunday's delivery: Saturday's report marked stale, or Sunday's own."""
    if stale:
        report = dataclasses.replace(parcel.report, stale=Stale("2026-11-29", SUNDAY, SUNDAY, REASON))
    else:
        report = dataclasses.replace(
            parcel.report, period="2026-11-29", period_first_day=SUNDAY, period_last_day=SUNDAY
        )
    subscription = parcel.subscription.subscription_id
    key = ledger.delivery_id(subscription, "2026-11-29", "sms", parcel.address, stale=stale)
    return dataclasses.replace(parcel, delivery_id=key, report=report)


def test_a_stale_delivery_is_a_row_of_its_own_until_the_fresh_one_is_queued(warehouse, store, tmp_path):
    saturday = parcels.parcel("sms", parcels.PHONE, store, tmp_path / "layouts")
    stale, fresh = for_sunday(saturday, stale=True), for_sunday(saturday, stale=False)
    assert len({saturday.delivery_id, stale.delivery_id, fresh.delivery_id}) == 3

    ledger.queue(warehouse, [saturday, stale], NOW, "run-1")
    row = ledger.get(warehouse, stale.delivery_id)
    assert (row.period, row.period_first_day) == ("2026-11-29", SUNDAY)
    assert row.generation_id == "gen-2026-11-28-daily"  # Saturday's report, sent for Sunday
    assert row.stale_reason == REASON
    assert ledger.get(warehouse, saturday.delivery_id).stale_reason is None
    assert ledger.history(warehouse, stale.delivery_id)["detail"].to_list() == [
        f"stale: report gen-2026-11-28-daily of 2026-11-28; {REASON}"
    ]
    assert [d.delivery_id for d in ledger.awaiting_fresh(warehouse, since=NOW - dt.timedelta(days=7))] == [
        stale.delivery_id
    ]
    # Only stale deliveries queued since then are waited for.
    assert ledger.awaiting_fresh(warehouse, since=NOW + dt.timedelta(seconds=1)) == []

    ledger.queue(warehouse, [fresh], NOW, "run-2")
    assert ledger.awaiting_fresh(warehouse, since=NOW - dt.timedelta(days=7)) == []
