"""The run sensors on a real Dagster instance: a failed run raises one incident, a run Dagster
will retry raises none, and the next successful run resolves it."""

import dagster as dg

from backroom_reporting.alerting.incidents import list_incidents
from backroom_reporting.alerting.runs import RESOLVED_BY, RESOLVED_VIA
from tests.alerting.tiny_job import BROKEN, ERROR, execute, failure_sensor, success_sensor


def test_a_failure_raises_one_incident_per_rule_and_a_success_resolves_them(warehouse, db):
    with dg.instance_for_test() as instance:
        failed = execute(instance, BROKEN)
        assert not failed.success
        # The sensor sees the same failure on two ticks: still one incident per rule.
        failure_sensor(instance, failed.run_id, warehouse)
        failure_sensor(instance, failed.run_id, warehouse)
        raised = list_incidents(db, only_open=True)
        assert sorted(i.rule_key for i in raised) == ["anything_failed", "tiny_failed"]
        assert {i.occurrences for i in raised} == {2}
        tiny = next(i for i in raised if i.rule_key == "tiny_failed")
        assert tiny.dedup_key == "tiny_failed:job:tiny_job"
        assert tiny.title.startswith(f"tiny_job failed (run {failed.run_id}): ")
        assert ERROR in tiny.title
        assert "\n" not in tiny.title

        succeeded = execute(instance)
        assert succeeded.success
        success_sensor(instance, succeeded.run_id, succeeded.get_run_success_event(), warehouse)
        assert list_incidents(db, only_open=True) == []
        after = list_incidents(db)
        assert {(i.status, i.resolved_by, i.resolved_via) for i in after} == {
            ("resolved", RESOLVED_BY, RESOLVED_VIA)
        }


def test_a_run_dagster_will_retry_raises_nothing(warehouse, db):
    retries = {"run_retries": {"enabled": True, "max_retries": 2, "retry_on_asset_or_op_failure": True}}
    with dg.instance_for_test(overrides=retries) as instance:
        failed = execute(instance, BROKEN)
        assert not failed.success
        skipped = failure_sensor(instance, failed.run_id, warehouse)
        assert "will be retried by Dagster" in skipped.skip_message
        assert list_incidents(db) == []
