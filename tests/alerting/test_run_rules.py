"""The run-based kinds on a real Dagster instance, their incidents in a real warehouse:
timeout (a run stopped by Dagster's own run monitoring), slow_execution (against a history of
runs exported to job_execution_history), consecutive_failures, and a success resolving them."""

import datetime as dt
import logging
import statistics

import dagster as dg
import pytest
from dagster._core.storage.tags import WILL_RETRY_TAG
from dagster._daemon.monitoring.run_monitoring import check_run_timeout

from backroom_reporting.alerting.incidents import Incident, list_incidents
from backroom_reporting.alerting.runs import RESOLVED_BY, RESOLVED_VIA
from tests.alerting import RULES, write_rules
from tests.alerting.tiny_job import (
    BROKEN,
    ERROR,
    ended,
    execute,
    export_history,
    failure_sensor,
    started,
    success_sensor,
)

RUN_RULES = """\
rules:
  - key: tiny_failed
    kind: run_failure
    jobs: [tiny_job]
    severity: critical
    channels: [slack]
    escalation: on_call
  - key: tiny_timed_out
    kind: timeout
    jobs: [tiny_job]
    severity: critical
    channels: [slack]
    escalation: on_call
  - key: tiny_slow
    kind: slow_execution
    jobs: [tiny_job]
    severity: warning
    channels: [slack]
    escalation: none
    multiple: 2
    min_runs: 5
  - key: tiny_failing
    kind: consecutive_failures
    jobs: all
    severity: critical
    channels: [slack, sms]
    escalation: on_call
    count: 3
"""
RETRIES = {"run_retries": {"enabled": True, "max_retries": 2, "retry_on_asset_or_op_failure": False}}
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
MINUTE = dt.timedelta(minutes=1)


@pytest.fixture
def rules_text() -> str:
    return RUN_RULES


def open_incidents(db) -> dict[str, Incident]:
    return {i.rule_key: i for i in list_incidents(db, only_open=True)}


def timed_out(instance: dg.DagsterInstance) -> dg.DagsterRun:
    """A run of tiny_job with a two-hour maximum, started 2h 01 min ago, as run monitoring
    finds and stops it (the daemon's own function, as it calls it on each pass)."""
    run = started(instance, NOW - 121 * MINUTE, tags={"dagster/max_runtime": "7200"})
    check_run_timeout(instance, instance.get_run_record_by_id(run.run_id), logging.getLogger(__name__), 0.0)
    run = instance.get_run_by_id(run.run_id)
    assert run.status == dg.DagsterRunStatus.FAILURE
    return run


# --- timeout ---------------------------------------------------------------------------------


def test_a_run_stopped_for_its_maximum_raises_the_timeout_not_the_failure(warehouse, db):
    with dg.instance_for_test() as instance:
        run = timed_out(instance)
        failure_sensor(instance, run.run_id, warehouse)
        failure_sensor(instance, run.run_id, warehouse)
        raised = open_incidents(db)
        assert sorted(raised) == ["tiny_timed_out"]
        incident = raised["tiny_timed_out"]
        assert incident.title == "tiny_job ran past its 2h maximum and was stopped"
        assert (incident.dedup_key, incident.occurrences) == ("tiny_timed_out:job:tiny_job", 2)
        assert incident.detail.startswith(f"run {run.run_id}: ")

        succeeded = execute(instance)
        success_sensor(instance, succeeded.run_id, succeeded.get_run_success_event(), warehouse)
        assert open_incidents(db) == {}
        (resolved,) = list_incidents(db)
        assert (resolved.status, resolved.resolved_by, resolved.resolved_via) == (
            "resolved",
            RESOLVED_BY,
            RESOLVED_VIA,
        )


def test_a_timed_out_run_dagster_will_retry_still_raises_the_timeout(warehouse, db):
    with dg.instance_for_test(overrides=RETRIES) as instance:
        run = timed_out(instance)
        assert run.tags[WILL_RETRY_TAG] == "true"  # Dagster retries a run that ran out of time
        skipped = failure_sensor(instance, run.run_id, warehouse)
        assert "will be retried by Dagster" in skipped.skip_message
        raised = open_incidents(db)
        assert sorted(raised) == ["tiny_timed_out"]
        assert raised["tiny_timed_out"].title == (
            "tiny_job ran past its 2h maximum and was stopped; Dagster will retry it"
        )


def test_without_a_timeout_rule_a_timed_out_run_is_a_failure(warehouse, db, monkeypatch, tmp_path):
    with dg.instance_for_test() as instance:
        run = timed_out(instance)
        monkeypatch.setenv("BACKROOM_ALERT_RULES", str(write_rules(tmp_path / "plain", RULES)))
        failure_sensor(instance, run.run_id, warehouse)
        assert sorted(open_incidents(db)) == ["anything_failed", "tiny_failed"]


# --- slow_execution --------------------------------------------------------------------------

# Twenty earlier runs whose p95 is 18 minutes (worked out in test_pace.py), in no order.
HISTORY = [14, 10, 17.5, 13, 16, 12, 27.5, 15, 13, 17, 14, 16, 11, 15, 13, 17, 12, 16, 14, 15]


def with_history(instance: dg.DagsterInstance, minutes: list[float]) -> None:
    """Successful runs of tiny_job, one a day until yesterday, that took `minutes` (oldest first)."""
    for days_ago, took in zip(range(len(minutes), 0, -1), minutes, strict=True):
        begin = NOW - dt.timedelta(days=days_ago)
        ended(instance, started(instance, begin), begin + took * MINUTE)


def judged(instance, warehouse, db, begin: dt.datetime, minutes: float) -> str:
    """A run of tiny_job from `begin` that took `minutes`, exported to job_execution_history
    with the others (as if the hourly export had already run), and the success sensor's say."""
    run = started(instance, begin)
    event = ended(instance, run, begin + minutes * MINUTE)
    export_history(instance, db)
    return success_sensor(instance, run.run_id, event, warehouse).skip_message


def test_a_slow_run_raises_and_only_a_run_that_is_not_slow_resolves(warehouse, db):
    with dg.instance_for_test() as instance:
        with_history(instance, HISTORY)
        failed = execute(instance, BROKEN)
        failure_sensor(instance, failed.run_id, warehouse)
        assert sorted(open_incidents(db)) == ["tiny_failed"]

        # 41 minutes is over twice 18: slow. It ran to the end, so the failure is over.
        said = judged(instance, warehouse, db, NOW + 60 * MINUTE, 41)
        assert "incidents resolved" in said and "slow: incidents" in said
        assert sorted(open_incidents(db)) == ["tiny_slow"]
        slow = open_incidents(db)["tiny_slow"]
        assert slow.title == "tiny_job took 41 min, over 2x its usual 18 min (p95 of 20 runs)"
        assert slow.dedup_key == "tiny_slow:job:tiny_job"

        # The next run is slow too (its twenty earlier runs now end with the 41-minute one):
        # the incident stays open, one more occurrence.
        window = [*HISTORY[1:], 41]
        usual = statistics.quantiles(window, n=20, method="inclusive")[-1]
        assert 2 * usual < 70
        judged(instance, warehouse, db, NOW + 3 * 60 * MINUTE, 70)
        slow = open_incidents(db)["tiny_slow"]
        assert (slow.occurrences, slow.status) == (2, "triggered")
        assert slow.title.startswith("tiny_job took 41 min")  # the title is the first sighting's

        # A run of usual length resolves it.
        said = judged(instance, warehouse, db, NOW + 5 * 60 * MINUTE, 15)
        assert open_incidents(db) == {}
        assert f"incidents resolved {slow.incident_number}" in said


def test_too_few_earlier_runs_to_judge_raise_nothing(warehouse, db):
    with dg.instance_for_test() as instance:
        with_history(instance, HISTORY[:4])
        said = judged(instance, warehouse, db, NOW, 600)
        assert "tiny_slow: fewer than 5 earlier successful runs, too few to judge its pace" in said
        assert list_incidents(db) == []


# --- consecutive_failures --------------------------------------------------------------------


def failures_in_a_row(db) -> list:
    return [i for i in list_incidents(db) if i.rule_key == "tiny_failing"]


def test_three_failures_in_a_row_raise_one_incident_that_counts_what_follows(warehouse, db):
    with dg.instance_for_test() as instance:
        for _ in range(2):
            failure_sensor(instance, execute(instance, BROKEN).run_id, warehouse)
        assert failures_in_a_row(db) == []

        third = execute(instance, BROKEN)
        for _ in range(5):  # the same failure seen on five ticks
            failure_sensor(instance, third.run_id, warehouse)
        (incident,) = failures_in_a_row(db)
        assert incident.title == f"tiny_job failed 3 times in a row; latest: ValueError: {ERROR}"
        assert (incident.occurrences, incident.status) == (5, "triggered")
        assert third.run_id in incident.detail

        failure_sensor(instance, execute(instance, BROKEN).run_id, warehouse)
        (incident,) = failures_in_a_row(db)
        assert incident.occurrences == 6
        assert sorted(open_incidents(db)) == ["tiny_failed", "tiny_failing"]

        succeeded = execute(instance)
        said = success_sensor(instance, succeeded.run_id, succeeded.get_run_success_event(), warehouse)
        assert open_incidents(db) == {}
        resolved = {i.rule_key: i.incident_number for i in list_incidents(db)}
        assert f"incidents resolved {resolved['tiny_failed']}, {resolved['tiny_failing']}; paging: sent " in (
            said.skip_message
        )
        assert said.skip_message.endswith(
            "; tiny_slow: fewer than 5 earlier successful runs, too few to judge its pace"
        )


def test_a_success_or_a_retried_run_breaks_no_streak_it_should_not(warehouse, db):
    with dg.instance_for_test() as instance:
        # failed, failed, succeeded, failed: not three in a row.
        for tags in (BROKEN, BROKEN, None, BROKEN):
            execute(instance, tags)
        failure_sensor(instance, instance.get_runs(limit=1)[0].run_id, warehouse)
        assert failures_in_a_row(db) == []

        # A run Dagster will retry is not counted: its retry tells how it ended.
        retried = execute(instance, {**BROKEN, WILL_RETRY_TAG: "true"})
        assert "will be retried" in failure_sensor(instance, retried.run_id, warehouse).skip_message
        failure_sensor(instance, execute(instance, BROKEN).run_id, warehouse)
        assert failures_in_a_row(db) == []  # failed, (retried), failed
        failure_sensor(instance, execute(instance, BROKEN).run_id, warehouse)
        assert len(failures_in_a_row(db)) == 1  # failed, (retried), failed, failed
