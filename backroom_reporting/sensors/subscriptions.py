"""Keep the `subscriptions` dynamic partitions in step with report_subscriptions.

One partition per subscription, so each subscription's reports are materialised,
backfilled and browsed on their own in Dagster. A paused subscription keeps its
partition and its history; a deleted subscription loses its partition.
"""

from collections.abc import Iterable

import dagster as dg

from backroom_reporting.partitions import subscriptions
from backroom_reporting.resources.databases import WarehouseResource
from backroom_reporting.subscriptions.service import list_subscriptions


def _partition_changes(known: Iterable[str], subscription_ids: Iterable[str]) -> tuple[list[str], list[str]]:
    """(partitions to add, partitions to delete), each sorted."""
    known, wanted = set(known), set(subscription_ids)
    return sorted(wanted - known), sorted(known - wanted)


def sync_subscription_partitions(
    instance: dg.DagsterInstance, subscription_ids: Iterable[str]
) -> tuple[list[str], list[str]]:
    """Add and delete partitions on the instance at once, for callers that run without the
    sensor (the demo job, tests); returns (added, removed)."""
    added, removed = _partition_changes(instance.get_dynamic_partitions(subscriptions.name), subscription_ids)
    if added:
        instance.add_dynamic_partitions(subscriptions.name, added)
    for key in removed:
        instance.delete_dynamic_partition(subscriptions.name, key)
    return added, removed


@dg.sensor(
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Adds a `subscriptions` partition for each new report subscription and deletes "
    "the partitions of deleted ones (paused subscriptions keep theirs). Starts no runs.",
)
def subscription_partitions(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
    subscription_ids = [s.subscription_id for s in list_subscriptions(warehouse.database())]
    known = context.instance.get_dynamic_partitions(subscriptions.name)
    added, removed = _partition_changes(known, subscription_ids)
    if not added and not removed:
        return dg.SkipReason(f"all {len(subscription_ids)} subscriptions already have their partition")
    requests = []
    if added:
        requests.append(subscriptions.build_add_request(added))
    if removed:
        requests.append(subscriptions.build_delete_request(removed))
    # The skip reason is the tick's message in the UI: what changed, and that no run was asked for.
    changes = f"partitions added: {', '.join(added) or 'none'}; deleted: {', '.join(removed) or 'none'}"
    return dg.SensorResult(dynamic_partitions_requests=requests, skip_reason=changes)
