"""The `subscriptions` dynamic partitions follow report_subscriptions: new ones added, deleted ones
removed, paused ones kept, and nothing asked when nothing changed."""

import dagster as dg
import pytest

from backroom_reporting.partitions import subscriptions as subscription_partitions_def
from backroom_reporting.resources.databases import WarehouseResource
from backroom_reporting.sensors.subscriptions import subscription_partitions, sync_subscription_partitions
from backroom_reporting.subscriptions import service
from backroom_reporting.warehouse.tables.subscriptions import report_subscriptions
from tests.subscriptions import LEEDS, set_venues, write_layouts

PARTITIONS = subscription_partitions_def.name


@pytest.fixture
def instance():
    with dg.DagsterInstance.ephemeral() as instance:
        yield instance


def evaluate(instance: dg.DagsterInstance, warehouse_url: str):
    with dg.build_sensor_context(
        instance=instance, resources={"warehouse": WarehouseResource(url=warehouse_url)}
    ) as context:
        return subscription_partitions(context)


def apply(instance: dg.DagsterInstance, result: dg.SensorResult) -> None:
    """What the sensor daemon does with the tick's partition requests."""
    for request in result.dynamic_partitions_requests:
        if isinstance(request, dg.AddDynamicPartitionsRequest):
            instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
        else:
            for key in request.partition_keys:
                instance.delete_dynamic_partition(request.partitions_def_name, key)


def requested(result: dg.SensorResult) -> dict[str, list[str]]:
    return {
        ("add" if isinstance(r, dg.AddDynamicPartitionsRequest) else "delete"): list(r.partition_keys)
        for r in result.dynamic_partitions_requests
    }


def test_the_sensor_adds_new_deletes_removed_keeps_paused_and_then_skips(databases, instance, tmp_path):
    layouts = write_layouts(tmp_path / "layouts")
    with databases.warehouse as db:
        set_venues(db, LEEDS)
        service.add_recipient(
            db, "Jo Bloggs", "manager", recipient_id="rcp-jo", email="jo@example.com", email_consent=True
        )
        for key, template in (("sub-daily", "daily_summary"), ("sub-weekly", "weekly_summary")):
            service.add_subscription(db, "rcp-jo", template, subscription_id=key, layouts_dir=layouts)

    first = evaluate(instance, databases.warehouse_url)
    assert isinstance(first, dg.SensorResult)
    assert requested(first) == {"add": ["sub-daily", "sub-weekly"]}
    assert not first.run_requests
    apply(instance, first)

    with databases.warehouse as db:
        service.pause(db, "sub-daily")
        # Deleted in the warehouse (no command deletes a subscription yet).
        nothing = db.read_table(report_subscriptions).clear()
        db.replace(
            report_subscriptions, nothing, where=report_subscriptions.c.subscription_id == "sub-weekly"
        )
        service.add_subscription(
            db, "rcp-jo", "weekly_summary", subscription_id="sub-new", layouts_dir=layouts
        )

    second = evaluate(instance, databases.warehouse_url)
    assert requested(second) == {"add": ["sub-new"], "delete": ["sub-weekly"]}
    assert "added: sub-new; deleted: sub-weekly" in second.skip_reason.skip_message
    apply(instance, second)
    assert sorted(instance.get_dynamic_partitions(PARTITIONS)) == ["sub-daily", "sub-new"]

    third = evaluate(instance, databases.warehouse_url)
    assert isinstance(third, dg.SkipReason)
    assert third.skip_message == "all 2 subscriptions already have their partition"


def test_sync_adds_and_deletes_on_the_instance_at_once(instance):
    instance.add_dynamic_partitions(PARTITIONS, ["sub-gone", "sub-kept"])
    assert sync_subscription_partitions(instance, ["sub-kept", "sub-b", "sub-a"]) == (
        ["sub-a", "sub-b"],
        ["sub-gone"],
    )
    assert sorted(instance.get_dynamic_partitions(PARTITIONS)) == ["sub-a", "sub-b", "sub-kept"]
    assert sync_subscription_partitions(instance, ["sub-a", "sub-b", "sub-kept"]) == ([], [])


def test_the_sensor_runs_every_minute_from_the_start_and_loads_in_definitions():
    assert subscription_partitions.minimum_interval_seconds == 60
    assert subscription_partitions.default_status == dg.DefaultSensorStatus.RUNNING
    assert subscription_partitions.required_resource_keys == {"warehouse"}
    defs = dg.Definitions(sensors=[subscription_partitions], resources={"warehouse": WarehouseResource()})
    dg.Definitions.validate_loadable(defs)
    assert defs.resolve_sensor_def("subscription_partitions").name == "subscription_partitions"
