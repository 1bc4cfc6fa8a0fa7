"""Two nights and a late refund, run by the platform on its own.

A test instance keeps its schedules and sensors exactly as they start; a simulated daemon
(tests/automation/daemon.py) takes it through Friday 27 March 2026 and the spring-forward
Saturday, with the booking system filling up as the nights go on, and a ticket of Friday's
refunded on the Sunday afternoon. Nobody touches anything in between. Afterwards every
night's figures equal the independent implementation of docs/metrics.md, and every
partition downstream is newer than what it reads.
"""

import copy
import datetime as dt
import json

import dagster as dg
import pytest

from backroom_reporting.backfill import with_databases
from backroom_reporting.definitions import defs as project_defs
from backroom_reporting.rendering.build import ReportBuilder, ReportInputError, Subject
from backroom_reporting.rendering.layouts import load_layouts
from backroom_reporting.rendering.periods import period_containing
from backroom_reporting.warehouse.source_contract import CONTRACT
from backroom_reporting.warehouse.tables.aggregations import (
    daily_aggregations,
    hourly_aggregations,
    night_status,
)
from backroom_reporting.warehouse.tables.raw import raw_loads
from tests.automation.daemon import SimulatedDaemon
from tests.automation.test_policy import NIGHTLY, london
from tests.design_section_5 import assert_same, daily_figures
from tests.rendering.conftest import LAYOUTS_DIR
from tests.worlds import UTC, small_world, write_source

FRIDAY, SATURDAY = dt.date(2026, 3, 27), dt.date(2026, 3, 28)
REFUNDED_AT = london(2026, 3, 29, 14, 0)


class BookingSystem:
    """The source as it stands at a moment: facts whose time has come, and Friday's first
    ticket order refunded from Sunday afternoon."""

    def __init__(self, url: str):
        self.url = url
        self.world = small_world([FRIDAY, SATURDAY])
        self.refunded = self.world["ticket_sales"][0]["order_id"]

    def at(self, moment: dt.datetime) -> None:
        now = moment.astimezone(UTC)
        world = copy.deepcopy(self.world)
        for name, rules in CONTRACT.items():
            if rules.is_fact:
                world[name] = [r for r in world[name] if r[rules.business_time] <= now]
        if now >= REFUNDED_AT:
            for order in world["ticket_sales"]:
                if order["order_id"] == self.refunded:
                    order.update(status="refunded", refunded_at=REFUNDED_AT.astimezone(UTC))
        write_source(self.url, world)


@pytest.fixture
def platform(databases, tmp_path):
    source = BookingSystem(databases.source_url)
    source.at(london(2026, 3, 27, 11, 0))
    defs = with_databases(
        project_defs, databases.source_url, databases.warehouse_url, str(tmp_path / "reports")
    )
    with dg.DagsterInstance.ephemeral() as instance:
        daemon = SimulatedDaemon(defs, instance, london(2026, 3, 27, 11, 0))
        yield source, daemon, databases


def advance(source: BookingSystem, daemon: SimulatedDaemon, moment: dt.datetime) -> None:
    daemon.advance_to(moment, on_tick=source.at)
    source.at(moment)
    daemon.advance_to(moment)


def table(databases, name) -> list[dict]:
    with databases.warehouse as db:
        return db.read_table(name).to_dicts()


def current(daemon: SimulatedDaemon, keys: list[str], partitions: list[str | None]) -> list[str]:
    """Partitions of `keys` older than something they read (the graph's own mappings);
    unpartitioned inputs read as context (the venues, the catalogue) do not count."""
    instance, graph = daemon.instance, daemon.graph

    def latest(key: dg.AssetKey, partition: str | None) -> int | None:
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, asset_partitions=[partition] if partition else None), limit=1
        ).records
        return records[0].storage_id if records else None

    stale = []
    for name in keys:
        key = dg.AssetKey(name)
        node = graph.get(key)
        for partition in partitions if node.partitions_def else [None]:
            mine = latest(key, partition)
            for parent in node.parent_keys:
                parent_node = graph.get(parent)
                if not parent_node.is_materializable or (parent_node.partitions_def is None and partition):
                    continue
                if partition is None:
                    parents = (
                        [None]
                        if parent_node.partitions_def is None
                        else list(instance.get_materialized_partitions(parent))
                    )
                else:
                    parents = graph.get_parent_partition_keys_for_child(
                        partition, parent, key
                    ).partitions_subset
                    parents = parents.get_partition_keys()
                for parent_partition in parents:
                    theirs = latest(parent, parent_partition)
                    if theirs is not None and (mine is None or mine < theirs):
                        stale.append(
                            f"{name}[{partition}] older than {parent.to_user_string()}[{parent_partition}]"
                        )
    return stale


def test_two_nights_and_a_late_refund_run_themselves(platform):
    source, daemon, databases = platform

    # Friday evening: the open night is loaded every hour, its hours so far shown live.
    advance(source, daemon, london(2026, 3, 27, 23, 30))
    hours = [h for h in table(databases, hourly_aggregations) if h["business_date"] == FRIDAY]
    assert hours and max(h["hour_start"] for h in hours) <= london(2026, 3, 27, 23, 0).astimezone(UTC)
    assert sum(h["check_ins"] for h in hours) == 1  # c1 came in at 22:00; c2 comes at 00:30
    assert table(databases, daily_aggregations) == []  # nothing reads a night that is not over
    loads = {r["source_table"]: r for r in table(databases, raw_loads) if r["business_date"] == FRIDAY}
    assert set(loads) == {n for n, r in CONTRACT.items() if r.is_fact} and not any(
        r["final"] for r in loads.values()
    )

    # Saturday morning: the closing run at 06:15 makes Friday final, everything follows, and
    # at 07:00 the freshness check finds it ready.
    advance(source, daemon, london(2026, 3, 28, 7, 30))
    friday = {r["business_date"]: r for r in table(databases, night_status)}[FRIDAY]
    assert friday["final"] and friday["failed_checks"] is None
    assert len([h for h in table(databases, hourly_aggregations) if h["business_date"] == FRIDAY]) == 24
    freshness = daemon.instance.event_log_storage.get_latest_asset_check_execution_by_key(
        [dg.AssetCheckKey(dg.AssetKey("daily_aggregations"), "figures_ready_by_0700")]
    )
    assert all(r.status.value == "SUCCEEDED" for r in freshness.values()) and freshness

    # The spring-forward night: 23 hours, closed at 06:00 BST.
    advance(source, daemon, london(2026, 3, 29, 7, 30))
    saturday_hours = [h for h in table(databases, hourly_aggregations) if h["business_date"] == SATURDAY]
    assert len(saturday_hours) == 23

    # Sunday 14:00 a ticket of Friday's is refunded; Monday's closing run re-checks the past
    # nights, finds Friday changed, and reloads it alone; everything downstream follows.
    advance(source, daemon, london(2026, 3, 30, 7, 30))
    closing = [r for name, r in daemon.runs if name == "closing_run_schedule"]
    monday = [r for r in closing if r.tags["backroom/as_of"].startswith("2026-03-30")]
    assert {r.partition_key for r in monday} == {"2026-03-29", "2026-03-27"}
    changed = json.loads(
        next(r for r in monday if r.partition_key == "2026-03-27").tags["backroom/changed_tables"]
    )
    assert changed == {"2026-03-27": ["ticket_sales"]}

    expected = daily_figures(databases.source_url)
    actual = {(r["venue_id"], r["business_date"]): r for r in table(databases, daily_aggregations)}
    assert {k for k in actual if k[1] in (FRIDAY, SATURDAY)} == {("leeds", FRIDAY), ("leeds", SATURDAY)}
    for key in (("leeds", FRIDAY), ("leeds", SATURDAY)):
        assert_same(expected[key], actual[key], key)
    assert actual[("leeds", FRIDAY)]["ticket_revenue_pence"] == 0  # the refunded order no longer counts

    nights = [d.isoformat() for d in (FRIDAY, SATURDAY)]
    stale = current(daemon, sorted(NIGHTLY), nights)
    assert stale == [], "\n".join(stale) + "\n" + "\n".join(map(str, daemon.requests[-6:]))
    assert current(daemon, ["weekly_summary"], ["2026-03-23"]) == []  # the week closed on Monday
    assert current(daemon, ["customer_analytics", "revenue_forecast"], [None]) == []


def test_a_night_not_loaded_since_it_closed_is_never_reported_as_closed(platform):
    source, daemon, databases = platform
    # The hourly refreshes ran, then the closing run never did (the daemon was down at 06:15).
    advance(source, daemon, london(2026, 3, 28, 5, 30))
    job = daemon.repo.get_job("morning_freshness_check")
    result = job.execute_in_process(
        instance=daemon.instance, tags={"backroom/as_of": london(2026, 3, 28, 7, 0).isoformat()}
    )
    [evaluation] = [
        e.event_specific_data
        for e in result.all_events
        if e.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION
    ]
    assert not evaluation.passed
    assert evaluation.description == (
        "The figures for Friday 27 March 2026 are not ready: the night has not been loaded since it closed."
    )
    layout = load_layouts(LAYOUTS_DIR)["daily_summary"]
    with databases.warehouse as db, pytest.raises(ReportInputError, match="27 March 2026 are not ready"):
        ReportBuilder(
            db, layout, period_containing("business_day", FRIDAY), Subject("leeds"), dt.datetime.now(dt.UTC)
        ).build()
