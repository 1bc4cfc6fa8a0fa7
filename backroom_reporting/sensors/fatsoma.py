"""Reload the nights a Fatsoma pull changed (docs/connectors.md).

Each landing of Fatsoma's events or orders names, in its metadata, the nights whose raw
ticket sales must be reloaded: the purchase nights of new, changed or refunded orders, and
the old and new nights of an event renamed or moved. This sensor asks for those raw loads,
a run per run of consecutive nights; each raw load updates its nights, and the automation
recomputes every figure that reads them (docs/operations.md).
"""

import datetime as dt

import dagster as dg

from backroom_reporting.assets.nights import AS_OF_TAG
from backroom_reporting.partitions import HISTORY_START
from backroom_reporting.schedules.fatsoma import fatsoma_reload
from backroom_reporting.schedules.nightly import contiguous, open_night

LANDINGS = (dg.AssetKey("fatsoma_events"), dg.AssetKey("fatsoma_orders"))


def nights_requested(metadata: dict) -> set[dt.date]:
    value = metadata.get("nights_to_reload")
    return {dt.date.fromisoformat(day) for day in (value.value if value is not None else [])}


def reload_requests(nights: set[dt.date], now: dt.datetime, key: str) -> list[dg.RunRequest]:
    """Runs of fatsoma_reload for the nights that have partitions (from the first night kept
    to the open night: a night in the future has no figures yet)."""
    kept = [d for d in nights if HISTORY_START <= d <= open_night(now)]
    requests = []
    for first, last in contiguous(kept):
        tags = {AS_OF_TAG: now.isoformat()}
        if first == last:
            requests.append(
                dg.RunRequest(run_key=f"{key}:{first}", partition_key=first.isoformat(), tags=tags)
            )
        else:
            tags |= {
                "dagster/asset_partition_range_start": first.isoformat(),
                "dagster/asset_partition_range_end": last.isoformat(),
            }
            requests.append(dg.RunRequest(run_key=f"{key}:{first}..{last}", tags=tags))
    return requests


@dg.sensor(
    job=fatsoma_reload,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Reloads the raw ticket sales and door scans of the nights each Fatsoma pull changed.",
)
def fatsoma_nights(context: dg.SensorEvaluationContext):
    after = int(context.cursor or 0)
    nights: set[dt.date] = set()
    newest = after
    for key in LANDINGS:
        records = context.instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, after_storage_id=after), limit=1000, ascending=True
        ).records
        for record in records:
            newest = max(newest, record.storage_id)
            nights |= nights_requested(record.asset_materialization.metadata)
    if newest == after:
        return dg.SkipReason("No Fatsoma pull landed anything since the last look.")
    context.update_cursor(str(newest))
    requests = reload_requests(nights, dt.datetime.now(dt.UTC), f"fatsoma-nights:{newest}")
    return requests or dg.SkipReason("The Fatsoma pulls since the last look changed no night.")
