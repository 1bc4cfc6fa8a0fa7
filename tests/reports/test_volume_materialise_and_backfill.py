"""The UI's ways in still work with many subscriptions per run: materialising one
subscription's partition, and a backfill over many of them (one run, as `backroom demo`)."""

import datetime as dt
import logging

import dagster as dg
from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill
from dagster._core.test_utils import create_test_daemon_workspace_context, instance_for_test
from dagster._core.workspace.load_target import ModuleTarget
from dagster._daemon.backfill import execute_backfill_iteration

from backroom_reporting.assets.reports import REPORT_DAY_TAG
from backroom_reporting.backfill import backfill, with_databases
from backroom_reporting.definitions import defs
from backroom_reporting.metrics.business_time import BusinessWindow
from backroom_reporting.sensors.subscriptions import sync_subscription_partitions
from tests.reports.venue import DELIVERIES, LAYOUTS, REPORTS, SATURDAY
from tests.reports.volume import due_copies, history, materialised
from tests.test_dagster_backfill import LAUNCH_HERE

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


def test_a_backfill_launched_as_the_ui_does_is_one_run_by_the_daemon(venue, monkeypatch, tmp_path):
    """The UI's backfill over every subscription (Dagster's own PartitionBackfill, carried out
    by the daemon's backfill iteration in the code location as the daemon loads it): one run."""
    due_copies(venue, COPIES)
    everyone = [s.subscription_id for s in venue.subscriptions] + list(COPIES)
    monkeypatch.chdir(tmp_path)
    for name, value in {
        "BACKROOM_LAYOUTS_DIR": str(LAYOUTS),
        "BACKROOM_SOURCE_URL": venue.source_url,
        "BACKROOM_WAREHOUSE_URL": venue.databases.warehouse_url,
        "BACKROOM_REPORT_STORE": str(venue.store.root),
        "BACKROOM_OUTBOX": str(venue.outbox),
    }.items():
        monkeypatch.setenv(name, value)
    target = ModuleTarget("backroom_reporting.definitions", None, None, "backroom_reporting")
    with (
        instance_for_test(overrides=LAUNCH_HERE) as instance,
        create_test_daemon_workspace_context(target, instance) as daemon,
    ):
        sync_subscription_partitions(instance, everyone)
        instance.add_backfill(
            PartitionBackfill.from_asset_partitions(
                backfill_id="reports",
                asset_graph=daemon.create_request_context().asset_graph,
                partition_names=everyone,
                asset_selection=REPORTS + DELIVERIES,
                backfill_timestamp=dt.datetime.now(dt.UTC).timestamp(),
                tags={REPORT_DAY_TAG: SATURDAY.isoformat()},
                dynamic_partitions_store=instance,
                all_partitions=False,
                title=None,
                description=None,
                run_config=None,
            )
        )
        for _ in range(5):
            errors = [e for e in execute_backfill_iteration(daemon, logging.getLogger("backfill")) if e]
            assert not errors, errors[0].to_string()
            if instance.get_backfill("reports").status != BulkActionStatus.REQUESTED:
                break
        assert instance.get_backfill("reports").status == BulkActionStatus.COMPLETED_SUCCESS
        [run] = instance.get_run_records()
        assert run.dagster_run.status == dg.DagsterRunStatus.SUCCESS
        for asset in ("subscription_reports", "report_deliveries"):
            assert set(instance.get_materialized_partitions(dg.AssetKey(asset))) == set(everyone)
    rows = history(venue, everyone)
    assert {s: rows[s]["status"] for s in everyone} == dict.fromkeys(everyone, "succeeded")
    # The backfill's tag names the day: each report is of the period holding it.
    assert all(rows[s]["period_first_day"] <= SATURDAY <= rows[s]["period_last_day"] for s in everyone)
