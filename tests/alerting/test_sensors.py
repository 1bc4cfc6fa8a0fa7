"""The run sensors on a real Dagster instance: a failed run raises one incident, a run Dagster
will retry raises none, and the next successful run resolves it."""

import dagster as dg
import pytest

from backroom_reporting.alerting.incidents import list_incidents
from backroom_reporting.alerting.runs import RESOLVED_BY, RESOLVED_VIA
from backroom_reporting.resources.databases import WarehouseResource
from backroom_reporting.sensors.alerts import alert_on_run_failure, resolve_on_run_success
from tests.alerting import write_rules

BROKEN = {"broken": True}


@dg.asset
def tiny_figures(context: dg.AssetExecutionContext) -> int:
    if context.run.tags.get("broken"):
        raise ValueError("the booking system refused the connection")
    return 1


tiny_job = dg.define_asset_job("tiny_job", selection=[tiny_figures])
tiny_defs = dg.Definitions(assets=[tiny_figures], jobs=[tiny_job])


@pytest.fixture
def warehouse(databases, tmp_path, monkeypatch):
    monkeypatch.setenv("BACKROOM_ALERT_RULES", str(write_rules(tmp_path / "alerts")))
    return WarehouseResource(url=databases.warehouse_url)


@pytest.fixture
def db(databases):
    with databases.warehouse as db:
        yield db


def run(instance: dg.DagsterInstance, tags: dict | None = None) -> dg.ExecuteInProcessResult:
    job = tiny_defs.resolve_job_def("tiny_job")
    return job.execute_in_process(instance=instance, tags=tags or {}, raise_on_error=False)


def failure_sensor(instance, result, warehouse):
    with dg.build_run_status_sensor_context(
        sensor_name="alert_on_run_failure",
        dagster_event=result.get_run_failure_event(),
        dagster_instance=instance,
        dagster_run=instance.get_run_by_id(result.run_id),
        resources={"warehouse": warehouse},
    ) as context:
        return alert_on_run_failure(context.for_run_failure())


def success_sensor(instance, result, warehouse):
    with dg.build_run_status_sensor_context(
        sensor_name="resolve_on_run_success",
        dagster_event=result.get_run_success_event(),
        dagster_instance=instance,
        dagster_run=instance.get_run_by_id(result.run_id),
        resources={"warehouse": warehouse},
    ) as context:
        return resolve_on_run_success(context)


def test_a_failure_raises_one_incident_per_rule_and_a_success_resolves_them(warehouse, db):
    with dg.instance_for_test() as instance:
        failed = run(instance, BROKEN)
        assert not failed.success
        # The sensor sees the same failure on two ticks: still one incident per rule.
        failure_sensor(instance, failed, warehouse)
        failure_sensor(instance, failed, warehouse)
        raised = list_incidents(db, only_open=True)
        assert sorted(i.rule_key for i in raised) == ["anything_failed", "tiny_failed"]
        assert {i.occurrences for i in raised} == {2}
        tiny = next(i for i in raised if i.rule_key == "tiny_failed")
        assert tiny.dedup_key == "tiny_failed:job:tiny_job"
        assert tiny.title.startswith(f"tiny_job failed (run {failed.run_id}): ")
        assert "the booking system refused the connection" in tiny.title
        assert "\n" not in tiny.title

        succeeded = run(instance)
        assert succeeded.success
        success_sensor(instance, succeeded, warehouse)
        assert list_incidents(db, only_open=True) == []
        after = list_incidents(db)
        assert {(i.status, i.resolved_by, i.resolved_via) for i in after} == {
            ("resolved", RESOLVED_BY, RESOLVED_VIA)
        }


def test_a_run_dagster_will_retry_raises_nothing(warehouse, db):
    retries = {"run_retries": {"enabled": True, "max_retries": 2, "retry_on_asset_or_op_failure": True}}
    with dg.instance_for_test(overrides=retries) as instance:
        failed = run(instance, BROKEN)
        assert not failed.success
        skipped = failure_sensor(instance, failed, warehouse)
        assert "will be retried by Dagster" in skipped.skip_message
        assert list_incidents(db) == []
