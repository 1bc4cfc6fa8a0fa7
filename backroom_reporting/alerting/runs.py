"""What a finished run means for on call: a failed run raises an incident for each
run_failure rule watching its job; a later success resolves them."""

from __future__ import annotations

import datetime as dt

import dagster as dg
from dagster._core.execution.retries import auto_reexecution_should_retry_run
from dagster._core.storage.tags import WILL_RETRY_TAG
from dagster._utils.error import SerializableErrorInfo

from backroom_reporting.alerting.incidents import (
    Incident,
    job_dedup_key,
    open_incident,
    raise_incident,
    resolve,
)
from backroom_reporting.alerting.rules import AlertRules
from backroom_reporting.warehouse.database import Database

RESOLVED_BY, RESOLVED_VIA = "dagster", "run succeeded"


def will_be_retried(instance: dg.DagsterInstance, run: dg.DagsterRun) -> bool:
    """Whether Dagster's run retries (dagster.yaml run_retries) will run this failed run again:
    the tag Dagster sets when the run fails, else Dagster's own reckoning."""
    tagged = run.tags.get(WILL_RETRY_TAG)
    if tagged is not None:
        return tagged.lower() == "true"
    return auto_reexecution_should_retry_run(instance, run, None)


def first_error(step_errors: list[SerializableErrorInfo], run_message: str | None) -> str:
    """The first thing that went wrong, in one line: the root cause of the first failed step
    (Dagster wraps it in "Error occurred while executing op ..."), else the run's message."""
    if step_errors:
        error = step_errors[0]
        while error.cause is not None:
            error = error.cause
        return (error.message.strip().splitlines() or [error.cls_name or "an error"])[0]
    return (run_message or "no error recorded").strip().splitlines()[0]


def run_failed(
    db: Database, rules: AlertRules, job_name: str, run_id: str, error: str, now: dt.datetime
) -> list[Incident]:
    """One incident per run_failure rule watching the job (or another occurrence of it)."""
    return [
        raise_incident(
            db,
            rule,
            job_dedup_key(rule, job_name),
            f"{job_name} failed (run {run_id}): {error}",
            f"run {run_id}: {error}",
            now,
        )
        for rule in rules.of_kind("run_failure", job_name)
    ]


def run_succeeded(
    db: Database, rules: AlertRules, job_name: str, run_id: str, now: dt.datetime
) -> list[Incident]:
    """Resolve the open run_failure incidents of the job: it has run cleanly since."""
    resolved = []
    for rule in rules.of_kind("run_failure", job_name):
        found = open_incident(db, job_dedup_key(rule, job_name))
        if found is not None:
            resolved.append(resolve(db, found.incident_number, RESOLVED_BY, RESOLVED_VIA, now))
    return resolved
