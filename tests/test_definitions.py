"""The code location loads, and its shape is the one docs/operations.md describes."""

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

from backroom_reporting.definitions import defs
from backroom_reporting.partitions import business_days
from backroom_reporting.warehouse.source_contract import CONTRACT

ROOT = Path(__file__).parents[1]


def test_dagster_validates_the_workspace():
    done = subprocess.run(
        [Path(sys.executable).parent / "dagster", "definitions", "validate", "-w", "workspace.yaml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]


def test_one_raw_asset_per_source_table():
    graph = defs.resolve_asset_graph()
    for name, rules in CONTRACT.items():
        node = graph.get(dg.AssetKey(f"raw_{name}"))
        if rules.is_fact:
            assert node.partitions_def == business_days
            assert node.backfill_policy == dg.BackfillPolicy.single_run()
        else:
            assert node.partitions_def is None
        assert {c.name for c in node.check_keys} == {"load_guard", "quarantine_rate"}


def test_facts_depend_on_the_snapshots_they_reference():
    graph = defs.resolve_asset_graph()
    bookings = graph.get(dg.AssetKey("raw_bookings"))
    assert {k.to_user_string() for k in bookings.parent_keys} == {
        "booking_system/bookings",
        "raw_venues",
        "raw_customers",
        "raw_events",
        "raw_venue_tables",
    }


def test_business_days_run_six_to_six_in_london():
    window = business_days.time_window_for_partition_key("2026-03-28")
    assert window.start.isoformat() == "2026-03-28T06:00:00+00:00"
    assert window.end.isoformat() == "2026-03-29T06:00:00+01:00"


SNAPSHOT = ROOT / "tests" / "snapshots" / "asset_graph.txt"


def graph_outline(defs: dg.Definitions) -> str:
    """Every asset with its group, partitions, automation condition, inputs (with their
    mapping), checks and owners; then every job, schedule and sensor with its default."""
    graph = defs.resolve_asset_graph()
    lines = []
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        partitions = type(node.partitions_def).__name__ if node.partitions_def else "-"
        condition = node.automation_condition.get_label() if node.automation_condition else "-"
        lines.append(f"{key.to_user_string()} [{node.group_name}] {partitions} when: {condition}")
        for parent in sorted(node.parent_keys, key=lambda k: k.to_user_string()):
            mapping = graph.get_partition_mapping(key, parent) if node.partitions_def else None
            shown = ""
            if isinstance(mapping, dg.TimeWindowPartitionMapping):
                shown = f" ({mapping.start_offset:+d}..{mapping.end_offset:+d})"
            lines.append(f"  <- {parent.to_user_string()}{shown}")
        for check in sorted(node.check_keys, key=lambda k: k.name):
            lines.append(f"  check {check.name}")
    repo = defs.get_repository_def()
    for schedule in sorted(repo.schedule_defs, key=lambda s: s.name):
        lines.append(
            f"schedule {schedule.name} {schedule.cron_schedule} {schedule.execution_timezone} "
            f"{schedule.default_status.value}"
        )
    for sensor in sorted(repo.sensor_defs, key=lambda s: s.name):
        lines.append(f"sensor {sensor.name} {sensor.default_status.value}")
    return "\n".join(lines) + "\n"


def test_the_graph_is_the_one_recorded_in_its_snapshot():
    """A change to the graph shows in review as a change to tests/snapshots/asset_graph.txt
    (write it again with BACKROOM_UPDATE_SNAPSHOTS=1)."""
    outline = graph_outline(defs)
    if os.environ.get("BACKROOM_UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(outline)
    assert outline == SNAPSHOT.read_text()


def test_every_automation_condition_is_evaluated_by_a_sensor_that_is_on_by_default():
    graph = defs.resolve_asset_graph()
    conditioned = {k for k in graph.get_all_asset_keys() if graph.get(k).automation_condition is not None}
    assert dg.AssetKey("report_templates") in conditioned  # in the reports group, with a condition of its own
    sensors = [
        s
        for s in defs.get_repository_def().sensor_defs
        if isinstance(s, dg.AutomationConditionSensorDefinition)
    ]
    evaluated = {
        key
        for sensor in sensors
        if sensor.default_status == dg.DefaultSensorStatus.RUNNING
        for key in sensor.asset_selection.resolve(graph)
    }
    assert conditioned <= evaluated
