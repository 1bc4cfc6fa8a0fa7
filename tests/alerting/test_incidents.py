"""The incident ledger: one open incident per dedup key, and its steps answered clearly."""

import datetime as dt

import pytest

from backroom_reporting.alerting.incidents import (
    IncidentRefused,
    acknowledge,
    job_dedup_key,
    list_incidents,
    raise_incident,
    resolve,
)
from backroom_reporting.alerting.rules import parse_rules
from tests.alerting import write_rules

T0 = dt.datetime(2026, 11, 28, 23, 40, tzinfo=dt.UTC)
TICK = dt.timedelta(seconds=30)


@pytest.fixture
def ledger(databases, tmp_path):
    rule = parse_rules(write_rules(tmp_path)).by_key("tiny_failed")
    with databases.warehouse as db:
        yield db, rule


def test_five_ticks_of_one_failure_are_one_incident(ledger):
    db, rule = ledger
    key = job_dedup_key(rule, "tiny_job")
    raised = [raise_incident(db, rule, key, "tiny_job failed", f"tick {n}", T0 + n * TICK) for n in range(5)]
    assert len({i.incident_number for i in raised}) == 1
    incident = raised[-1]
    assert (incident.occurrences, incident.status, incident.severity) == (5, "triggered", "critical")
    assert (incident.first_seen_at, incident.last_seen_at) == (T0, T0 + 4 * TICK)
    assert incident.detail == "tick 4"
    assert len(list_incidents(db)) == 1


def test_another_job_or_a_resolved_incident_opens_a_new_one(ledger):
    db, rule = ledger
    first = raise_incident(db, rule, job_dedup_key(rule, "tiny_job"), "t", None, T0)
    other = raise_incident(db, rule, job_dedup_key(rule, "closing_run"), "c", None, T0)
    assert other.incident_number != first.incident_number
    resolve(db, first.incident_number, "jo", "cli", T0 + TICK)
    again = raise_incident(db, rule, job_dedup_key(rule, "tiny_job"), "t", None, T0 + 2 * TICK)
    assert again.incident_number not in (first.incident_number, other.incident_number)
    assert again.occurrences == 1
    assert [i.incident_number for i in list_incidents(db, only_open=True)] == sorted(
        [again.incident_number, other.incident_number], reverse=True
    )


def test_acknowledge_then_resolve_record_who_when_and_how(ledger):
    db, rule = ledger
    number = raise_incident(db, rule, "k", "t", None, T0).incident_number
    acked = acknowledge(db, number, "Jo Bloggs", "sms", T0 + TICK)
    assert (acked.status, acked.acknowledged_by, acked.acknowledged_via, acked.acknowledged_at) == (
        "acknowledged",
        "Jo Bloggs",
        "sms",
        T0 + TICK,
    )
    done = resolve(db, number, "Sam", "cli", T0 + 2 * TICK)
    assert (done.status, done.resolved_by, done.resolved_via, done.resolved_at) == (
        "resolved",
        "Sam",
        "cli",
        T0 + 2 * TICK,
    )
    assert done.acknowledged_by == "Jo Bloggs"  # the acknowledgement stays on the record


def test_acknowledging_twice_says_who_did_first(ledger):
    db, rule = ledger
    number = raise_incident(db, rule, "k", "t", None, T0).incident_number
    acknowledge(db, number, "Jo Bloggs", "slack", T0 + TICK)
    with pytest.raises(
        IncidentRefused,
        match=f"^Incident {number} was already acknowledged by Jo Bloggs at 2026-11-28 23:40 UTC.$",
    ):
        acknowledge(db, number, "Sam", "cli", T0 + 2 * TICK)


def test_a_resolved_incident_cannot_be_acknowledged_or_resolved_again(ledger):
    db, rule = ledger
    number = raise_incident(db, rule, "k", "t", None, T0).incident_number
    resolve(db, number, "dagster", "run succeeded", T0 + TICK)
    with pytest.raises(
        IncidentRefused, match=f"^Incident {number} is already resolved .*nothing to acknowledge"
    ):
        acknowledge(db, number, "Sam", "cli", T0 + 2 * TICK)
    with pytest.raises(IncidentRefused, match=f"^Incident {number} was already resolved by dagster"):
        resolve(db, number, "Sam", "cli", T0 + 2 * TICK)


def test_an_unknown_number_is_refused(ledger):
    db, _ = ledger
    with pytest.raises(IncidentRefused, match=r"^There is no incident 4821\.$"):
        acknowledge(db, 4821, "Sam", "cli", T0)
    with pytest.raises(IncidentRefused, match=r"^There is no incident 4821\.$"):
        resolve(db, 4821, "Sam", "cli", T0)
