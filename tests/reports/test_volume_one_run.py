"""At a report time, every subscription due is rendered and delivered in one Dagster run: the
deliveries_due sensor asks for one run over their partitions, each partition still gets its
own materialisation and history row, and a second tick asks for nothing again."""

import dataclasses
import datetime as dt

import dagster as dg

from backroom_reporting.delivery import ledger
from backroom_reporting.subscriptions import service
from tests.reports.volume import NEVER, SUNDAY_2200, due_copies, history, launch, materialised, sensor_tick

COPIES = {f"sub-volume-{i:02d}": "sub-owner-daily" if i % 2 else "sub-finance-daily" for i in range(8)}


def test_every_subscription_due_at_22_00_goes_in_one_run_with_its_own_partition(venue):
    due_copies(venue, COPIES)
    requests, cursor = sensor_tick(venue, SUNDAY_2200 + dt.timedelta(minutes=1))

    [request] = requests
    first, last = min(COPIES), max(COPIES)
    assert request.partition_key is None
    assert request.tags["dagster/asset_partition_range_start"] == first
    assert request.tags["dagster/asset_partition_range_end"] == last

    result = launch(venue, request)
    assert result.success
    assert len(venue.instance.get_runs()) == 1
    assert materialised(venue, "subscription_reports") == set(COPIES)
    assert materialised(venue, "report_generation_history") == set(COPIES)
    assert materialised(venue, "report_deliveries") == set(COPIES)
    # Each partition's materialisation carries its own subscription's facts.
    events = {
        e.materialization.partition: e.materialization.metadata
        for e in result.get_asset_materialization_events()
        if e.materialization.asset_key == dg.AssetKey("subscription_reports")
    }
    rows = history(venue, COPIES)
    assert {key: meta["period"].value for key, meta in events.items()} == dict.fromkeys(
        COPIES, "Saturday 21 November 2026"
    )
    assert {key: row["status"] for key, row in rows.items()} == dict.fromkeys(COPIES, "succeeded")
    for subscription_id, original in COPIES.items():
        formats = ["pdf", "xlsx"] if original == "sub-owner-daily" else ["xlsx", "csv"]
        assert sorted(events[subscription_id]["files"].value) == sorted(formats)
        sent = ledger.of_subscription(venue.db, subscription_id)
        assert sent and {d.status for d in sent} <= {"sent", "delivered"}, subscription_id

    # The next tick (the run still starting, or done) asks for none of them again.
    again, _ = sensor_tick(venue, SUNDAY_2200 + dt.timedelta(minutes=2), cursor)
    assert isinstance(again, dg.SkipReason)


def test_subscriptions_not_consecutive_in_the_partitions_go_in_one_run_per_stretch(venue):
    # sub-volume-02 is not due: Dagster runs ranges of partitions, so two runs, around it.
    due_copies(venue, COPIES)
    resting = service.get_subscription(venue.db, "sub-volume-02")
    service.store(venue.db, subscriptions=[dataclasses.replace(resting, next_delivery_at=NEVER)])
    requests, _ = sensor_tick(venue, SUNDAY_2200 + dt.timedelta(minutes=1))
    ranges = sorted(
        (
            r.tags.get("dagster/asset_partition_range_start", r.partition_key),
            r.tags.get("dagster/asset_partition_range_end", r.partition_key),
        )
        for r in requests
    )
    assert ranges == [("sub-volume-00", "sub-volume-01"), ("sub-volume-03", "sub-volume-07")]
