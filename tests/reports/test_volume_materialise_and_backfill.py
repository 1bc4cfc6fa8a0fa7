"""The UI's ways in still work with many subscriptions per run: materialising one
subscription's partition, and a backfill over many of them (one run, as `backroom demo`)."""

import dagster as dg

from backroom_reporting.assets.reports import REPORT_DAY_TAG
from backroom_reporting.backfill import backfill, with_databases
from backroom_reporting.definitions import defs
from backroom_reporting.metrics.business_time import BusinessWindow
from tests.reports.venue import DELIVERIES, REPORTS, SATURDAY
from tests.reports.volume import due_copies, history, materialised

COPIES = {f"sub-many-{i:02d}": "sub-manager-daily" for i in range(5)}


def test_materialising_one_subscription_renders_that_one_alone(venue):
    result = venue.render("sub-owner-weekly")

    assert result.success
    [event] = [
        e.materialization
        for e in result.get_asset_materialization_events()
        if e.materialization.asset_key == dg.AssetKey("subscription_reports")
    ]
    assert event.partition == "sub-owner-weekly"
    assert event.metadata["template"].value == "weekly_summary"
    assert materialised(venue, "subscription_reports") == {"sub-owner-weekly"}
    assert set(history(venue, [s.subscription_id for s in venue.subscriptions])) == {"sub-owner-weekly"}


def test_a_backfill_over_many_subscriptions_is_one_run(venue):
    due_copies(venue, COPIES)
    everyone = [s.subscription_id for s in venue.subscriptions] + list(COPIES)
    definitions = with_databases(
        defs, venue.source_url, venue.databases.warehouse_url, str(venue.store.root), str(venue.outbox)
    )

    [stage] = backfill(
        definitions,
        BusinessWindow(SATURDAY, SATURDAY),
        venue.instance,
        selection=REPORTS + DELIVERIES,
        tags={REPORT_DAY_TAG: SATURDAY.isoformat()},
    )

    assert stage.partitions == len(everyone)
    assert len(venue.instance.get_runs()) == 1
    assert materialised(venue, "subscription_reports") == set(everyone)
    assert materialised(venue, "report_deliveries") == set(everyone)
    rows = history(venue, everyone)
    assert {s: rows[s]["status"] for s in everyone} == dict.fromkeys(everyone, "succeeded")
