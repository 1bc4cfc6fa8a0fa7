"""A backfill of daily_aggregations with everything upstream of it, asked of Dagster as an
operator would: on Dagster's own command line, in a process of its own, against the databases
and DAGSTER_HOME named by the environment; and as the UI does, a backfill that the daemon
carries out tick by tick.

Upstream of daily_aggregations are the booking system's tables (external assets: Dagster
records nothing for them and runs nothing), the snapshot tables (unpartitioned) and the
nightly facts: one run takes them all, the snapshots once and the nights as one range.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill
from dagster._core.test_utils import create_test_daemon_workspace_context, instance_for_test
from dagster._core.workspace.load_target import ModuleTarget
from dagster._daemon.backfill import execute_backfill_iteration

from backroom_reporting.assets.policies import FEEDBACK_NIGHTS, PRESALE_NIGHTS
from backroom_reporting.definitions import defs
from backroom_reporting.metrics.business_time import BusinessWindow
from backroom_reporting.warehouse.tables.aggregations import daily_aggregations
from tests.design_section_5 import assert_same, daily_figures
from tests.worlds import small_world, write_source

ROOT = Path(__file__).parents[1]
NIGHTS = BusinessWindow(dt.date(2026, 3, 23), dt.date(2026, 3, 29))  # clocks go forward on the 29th
WITH_UPSTREAM = "*daily_aggregations"  # "+daily_aggregations" would be its direct parents only


def dagster_materialize(databases, home: Path, cwd: Path, *partitions: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "BACKROOM_SOURCE_URL": databases.source_url,
        "BACKROOM_WAREHOUSE_URL": databases.warehouse_url,
        "BACKROOM_LAYOUTS_DIR": str(ROOT / "report_layouts"),
        "DAGSTER_HOME": str(home),
    }
    command = [Path(sys.executable).parent / "dagster", "asset", "materialize", "--select", WITH_UPSTREAM]
    command += [*partitions, "-m", "backroom_reporting.definitions"]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def materialised(instance: dg.DagsterInstance, run_id: str) -> set[str]:
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records
    return {r.event_log_entry.dagster_event.asset_key.to_user_string() for r in records}


def upstream_of_daily_aggregations(graph=None) -> set[dg.AssetKey]:
    graph = graph or defs.resolve_asset_graph()
    keys = dg.AssetSelection.assets("daily_aggregations").upstream().resolve(graph)
    return {k for k in keys if graph.get(k).is_materializable}


def assert_figures(databases, nights: list[dt.date]) -> None:
    expected = {day: f for (_, day), f in daily_figures(databases.source_url).items() if day in nights}
    rows = {r["business_date"]: r for r in databases.warehouse.read_table(daily_aggregations).to_dicts()}
    assert rows.keys() == expected.keys() == set(nights)
    for day, figures in expected.items():
        assert_same(figures, rows[day], day)
    assert all(rows[day]["check_ins"] == 2 for day in nights)  # every fact loaded, none quarantined


@pytest.mark.parametrize(
    "partitions, nights",
    [
        (["--partition-range", f"{NIGHTS.first_day}...{NIGHTS.last_day}"], NIGHTS.days),
        (["--partition", "2026-03-28"], [dt.date(2026, 3, 28)]),  # the 23-hour night
    ],
    ids=["range", "one-night"],
)
def test_daily_aggregations_with_its_upstream_over_a_range_of_nights(
    databases, home, home_instance, tmp_path, partitions, nights
):
    # The booking system holds the nights asked for (customers new on the first of them).
    write_source(databases.source_url, small_world(nights))
    done = dagster_materialize(databases, home, tmp_path, *partitions)
    assert done.returncode == 0, done.stderr[-3000:]

    (run,) = home_instance.get_run_records()
    assert run.dagster_run.status == dg.DagsterRunStatus.SUCCESS
    tags = run.dagster_run.tags
    if len(nights) > 1:
        assert (tags["dagster/asset_partition_range_start"], tags["dagster/asset_partition_range_end"]) == (
            str(NIGHTS.first_day),
            str(NIGHTS.last_day),
        )
    else:
        assert tags["dagster/partition"] == str(nights[0])
    loaded = materialised(home_instance, run.dagster_run.run_id)
    assert loaded == {k.to_user_string() for k in upstream_of_daily_aggregations()}
    assert "raw_venues" in loaded and not any(k.startswith("booking_system/") for k in loaded)
    assert_figures(databases, nights)


# The daemon's runs are launched in this process and start at once (no queue, no code server).
LAUNCH_HERE = {
    "run_launcher": {
        "module": "dagster._core.launcher.sync_in_memory_run_launcher",
        "class": "SyncInMemoryRunLauncher",
    },
    "run_coordinator": {"module": "dagster._core.run_coordinator", "class": "DefaultRunCoordinator"},
}


def test_the_same_backfill_launched_as_the_ui_does_and_run_by_the_daemon(databases, monkeypatch, tmp_path):
    write_source(databases.source_url, small_world(NIGHTS.days))
    # The code server reads a .env in its working directory (`backroom demo` writes one).
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BACKROOM_LAYOUTS_DIR", str(ROOT / "report_layouts"))
    monkeypatch.setenv("BACKROOM_SOURCE_URL", databases.source_url)
    monkeypatch.setenv("BACKROOM_WAREHOUSE_URL", databases.warehouse_url)
    target = ModuleTarget("backroom_reporting.definitions", None, None, "backroom_reporting")
    with (
        instance_for_test(overrides=LAUNCH_HERE) as instance,
        create_test_daemon_workspace_context(target, instance) as daemon,
    ):
        graph = daemon.create_request_context().asset_graph
        instance.add_backfill(
            PartitionBackfill.from_asset_partitions(
                backfill_id="nights",
                asset_graph=graph,
                partition_names=[str(day) for day in NIGHTS.days],
                asset_selection=sorted(upstream_of_daily_aggregations(graph)),
                backfill_timestamp=dt.datetime.now(dt.UTC).timestamp(),
                tags={},
                dynamic_partitions_store=instance,
                all_partitions=False,
                title=None,
                description=None,
                run_config=None,
            )
        )
        for _ in range(10):  # a tick requests what is ready; the runs finish before the next
            errors = [e for e in execute_backfill_iteration(daemon, logging.getLogger("backfill")) if e]
            assert not errors, errors[0].to_string()
            if instance.get_backfill("nights").status != BulkActionStatus.REQUESTED:
                break
        assert instance.get_backfill("nights").status == BulkActionStatus.COMPLETED_SUCCESS
        runs = instance.get_run_records(ascending=True)
        assert [r.dagster_run.status for r in runs] == [dg.DagsterRunStatus.SUCCESS] * 3
        # The snapshots first, then the week's nights in one run (the single-run backfill
        # policy), then daily_aggregations over every night the week's raw rows hold facts
        # for: the feedback of the week before, the presales of the months after.
        snapshots, nights, figures = (r.dagster_run.tags for r in runs)
        assert "dagster/asset_partition_range_start" not in snapshots
        assert (
            nights["dagster/asset_partition_range_start"],
            nights["dagster/asset_partition_range_end"],
        ) == (str(NIGHTS.first_day), str(NIGHTS.last_day))
        assert (
            figures["dagster/asset_partition_range_start"],
            figures["dagster/asset_partition_range_end"],
        ) == (
            str(NIGHTS.first_day - dt.timedelta(days=FEEDBACK_NIGHTS)),
            str(NIGHTS.last_day + dt.timedelta(days=PRESALE_NIGHTS)),
        )
        assert materialised(instance, runs[2].dagster_run.run_id) == {"daily_aggregations"}
        loaded = set().union(*(materialised(instance, r.dagster_run.run_id) for r in runs))
        assert loaded == {k.to_user_string() for k in upstream_of_daily_aggregations()}
    assert_figures(databases, NIGHTS.days)
