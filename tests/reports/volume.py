"""Many subscriptions due at one report time, asked for by the deliveries_due sensor and run
as Dagster runs them (shared by the tests of reports at volume)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import dagster as dg
from dagster._core.test_utils import freeze_time

from backroom_reporting.definitions import defs
from backroom_reporting.sensors.deliveries import deliveries_due
from backroom_reporting.sensors.subscriptions import sync_subscription_partitions
from backroom_reporting.subscriptions import service
from backroom_reporting.warehouse.tables.reports import report_generation_history
from tests.reports.venue import DELIVERIES, REPORTS

SUNDAY_2200 = dt.datetime(2026, 11, 22, 22, tzinfo=dt.UTC)
NEVER = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


def due_copies(venue, copies: dict[str, str], due: dt.datetime = SUNDAY_2200) -> None:
    """Add subscriptions copied from the demo ones (new id: demo id) and make them, alone, due
    at `due`; each gets its partition, after the demo ones."""
    existing = service.list_subscriptions(venue.db)
    by_id = {s.subscription_id: s for s in existing}
    added = [
        dataclasses.replace(by_id[original], subscription_id=new, next_delivery_at=due)
        for new, original in copies.items()
    ]
    others = [dataclasses.replace(s, next_delivery_at=NEVER) for s in existing]
    service.store(venue.db, subscriptions=[*others, *added])
    sync_subscription_partitions(venue.instance, [*by_id, *copies])


def sensor_tick(venue, at: dt.datetime, cursor: str | None = None):
    """One tick of deliveries_due at `at`: (its run requests or skip reason, its cursor)."""
    with (
        freeze_time(at),
        dg.build_sensor_context(instance=venue.instance, resources=venue.resources, cursor=cursor) as context,
    ):
        result = deliveries_due(context)
        return result, context.cursor


def launch(venue, request: dg.RunRequest) -> dg.ExecuteInProcessResult:
    """The run a request asks for, on the venue's instance, as the daemon would start it."""
    return dg.materialize(
        [*defs.assets],
        selection=request.asset_selection or REPORTS + DELIVERIES,
        partition_key=request.partition_key,
        instance=venue.instance,
        resources={**defs.resources, **venue.resources},
        tags=request.tags,
        raise_on_error=False,
    )


def history(venue, subscription_ids) -> dict[str, dict]:
    """Each subscription's latest report_generation_history row."""
    rows = venue.db.read_table(report_generation_history).sort("generated_at")
    latest = {row["subscription_id"]: row for row in rows.iter_rows(named=True)}
    return {s: latest[s] for s in subscription_ids if s in latest}


def files_of(row: dict) -> dict[str, dict]:
    return {f["format"]: f for f in json.loads(row["files"])}


def materialised(venue, asset: str) -> set[str]:
    return set(venue.instance.get_materialized_partitions(dg.AssetKey(asset)))
