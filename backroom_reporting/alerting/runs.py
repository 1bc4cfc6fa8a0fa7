"""What a finished run means for on call.

A failed run raises the job's run_failure incidents, or its timeout incidents when Dagster's
run monitoring stopped it for its maximum run time, and its consecutive_failures incidents
when the job's latest runs all failed. A successful run slower than usual raises the job's
slow_execution incidents. A later success resolves them all (a slow one only when it is not
slow itself). Each function returns the incidents it raised or resolved.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping

import dagster as dg
import sqlalchemy as sa
from dagster._core.execution.retries import auto_reexecution_should_retry_run
from dagster._core.storage.tags import WILL_RETRY_TAG
from dagster._utils.error import SerializableErrorInfo

from backroom_reporting.alerting.incidents import (
    Incident,
    job_dedup_key,
    raise_incident,
    resolve_open,
)
from backroom_reporting.alerting.pace import RECENT_RUNS, Pace, pace, spoken_duration
from backroom_reporting.alerting.rules import AlertRules
from backroom_reporting.operations.records import RUN_ROW
from backroom_reporting.warehouse.database import Database
from backroom_reporting.warehouse.tables.operations import job_execution_history

RESOLVED_BY, RESOLVED_VIA = "dagster", "run succeeded"
# The incidents a job's next success ends: it has run, and run to the end, since.
RESOLVED_BY_A_SUCCESS = ("run_failure", "timeout", "consecutive_failures")
# Dagster's run monitoring (dagster/_daemon/monitoring/run_monitoring.py, check_run_timeout)
# announces a run it stops for its maximum run time with this message, then fails it. The
# failure's own message varies ("Exceeded maximum runtime of N seconds.", or "This job is
# being forcibly marked as failed" when the run worker cannot be reached); this one does not.
STOPPED_FOR_ITS_MAXIMUM = re.compile(r"Canceling due to exceeding maximum runtime of (\d+) seconds\.")


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


def stopped_for_its_maximum(instance: dg.DagsterInstance, run_id: str) -> int | None:
    """The maximum run time, in seconds, run monitoring stopped the run for exceeding; None
    when it did not."""
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_CANCELING):
        found = STOPPED_FOR_ITS_MAXIMUM.match(record.dagster_event.message or "")
        if found:
            return int(found.group(1))
    return None


def latest_finished(instance: dg.DagsterInstance, job_name: str, count: int) -> list[dg.DagsterRun]:
    """The job's latest `count` runs that succeeded or failed for good, newest first. A failed
    run Dagster will retry is left out (its retry tells how it ended), and so is a cancelled
    run (someone stopped it: it says nothing either way)."""
    finished = dg.RunsFilter(
        job_name=job_name, statuses=[dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE]
    )
    found: list[dg.DagsterRun] = []
    cursor = None
    while len(found) < count:
        page = instance.get_runs(filters=finished, cursor=cursor, limit=count)
        found += [
            r for r in page if r.status == dg.DagsterRunStatus.SUCCESS or not will_be_retried(instance, r)
        ]
        if len(page) < count:
            break
        cursor = page[-1].run_id
    return found[:count]


def earlier_durations(db: Database, job_name: str, before: dt.datetime, limit: int) -> list[float]:
    """How long the job's latest `limit` successful runs started before `before` took, in
    seconds, newest first.

    From job_execution_history rather than Dagster's run storage: it is the spec's record of
    every run's duration, so the usual time on call is told is the one the reports show. It
    is exported hourly (at :25), so a run of the last hour may be missing: one run fewer
    among twenty barely moves a p95. The run being judged ended moments ago: its own
    duration comes from Dagster's record (job_paces)."""
    history = job_execution_history
    query = (
        sa.select(history.c.duration_seconds)
        .where(
            history.c.job_name == job_name,
            history.c.step_key == RUN_ROW,
            history.c.status == dg.DagsterRunStatus.SUCCESS.value,
            history.c.started_at < before,
            history.c.duration_seconds.is_not(None),
        )
        .order_by(history.c.started_at.desc())
        .limit(limit)
    )
    return db.read(query)["duration_seconds"].to_list()


def job_paces(db: Database, rules: AlertRules, job_name: str, record: dg.RunRecord) -> dict[str, Pace | None]:
    """Each slow_execution rule watching the job, by key: the successful run's pace against
    the job's earlier runs (None: too few of them to say). Empty when no rule watches the job
    or the run's start or end is not recorded."""
    watching = rules.of_kind("slow_execution", job_name)
    if not watching or record.start_time is None or record.end_time is None:
        return {}
    started = dt.datetime.fromtimestamp(record.start_time, dt.UTC)
    most = max(max(RECENT_RUNS, r.thresholds["min_runs"]) for r in watching)
    earlier = earlier_durations(db, job_name, started, most)
    seconds = record.end_time - record.start_time
    return {
        r.key: pace(seconds, earlier, r.thresholds["multiple"], r.thresholds["min_runs"]) for r in watching
    }


def run_failed(
    db: Database,
    rules: AlertRules,
    job_name: str,
    run_id: str,
    error: str,
    now: dt.datetime,
    timed_out: bool = False,
) -> list[Incident]:
    """One incident per run_failure rule watching the job (or another occurrence of it). A run
    stopped for its maximum run time is the timeout rules' when one watches the job: one page
    for one run, not two."""
    if timed_out and rules.of_kind("timeout", job_name):
        return []
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


def run_timed_out(
    db: Database,
    rules: AlertRules,
    job_name: str,
    run_id: str,
    maximum_seconds: int,
    retried: bool,
    now: dt.datetime,
) -> list[Incident]:
    """One incident per timeout rule watching the job (or another occurrence of it)."""
    retry = "; Dagster will retry it" if retried else ""
    return [
        raise_incident(
            db,
            rule,
            job_dedup_key(rule, job_name),
            f"{job_name} ran past its {spoken_duration(maximum_seconds)} maximum and was stopped{retry}",
            f"run {run_id}: stopped by run monitoring after {maximum_seconds} s (dagster/max_runtime)",
            now,
        )
        for rule in rules.of_kind("timeout", job_name)
    ]


def failed_in_a_row(
    db: Database,
    instance: dg.DagsterInstance,
    rules: AlertRules,
    job_name: str,
    error: str,
    now: dt.datetime,
) -> list[Incident]:
    """One incident per consecutive_failures rule watching the job whose `count` latest
    finished runs (latest_finished) all failed; `error` is the latest one's."""
    watching = rules.of_kind("consecutive_failures", job_name)
    if not watching:
        return []
    latest = latest_finished(instance, job_name, max(r.thresholds["count"] for r in watching))
    raised = []
    for rule in watching:
        count = rule.thresholds["count"]
        runs = latest[:count]
        if len(runs) < count or any(r.status != dg.DagsterRunStatus.FAILURE for r in runs):
            continue
        raised.append(
            raise_incident(
                db,
                rule,
                job_dedup_key(rule, job_name),
                f"{job_name} failed {count} times in a row; latest: {error}",
                f"runs {', '.join(r.run_id for r in runs)}: {error}",
                now,
            )
        )
    return raised


def run_was_slow(
    db: Database,
    rules: AlertRules,
    job_name: str,
    run_id: str,
    paces: Mapping[str, Pace | None],
    now: dt.datetime,
) -> list[Incident]:
    """One incident per slow_execution rule that found the run slow (job_paces)."""
    raised = []
    for rule in rules.of_kind("slow_execution", job_name):
        found = paces.get(rule.key)
        if found is None or not found.slow:
            continue
        raised.append(
            raise_incident(
                db,
                rule,
                job_dedup_key(rule, job_name),
                f"{job_name} took {spoken_duration(found.seconds)}, over {found.multiple:g}x its usual "
                f"{spoken_duration(found.usual)} (p95 of {found.runs} runs)",
                f"run {run_id}: {found.seconds:.0f} s, over the limit of {found.limit:.0f} s",
                now,
            )
        )
    return raised


def run_succeeded(
    db: Database, rules: AlertRules, job_name: str, paces: Mapping[str, Pace | None], now: dt.datetime
) -> list[Incident]:
    """Resolve the job's open run_failure, timeout and consecutive_failures incidents (it has
    run to the end since), and its slow_execution ones whose rule found this run not slow
    (job_paces; a run too early to judge leaves them open)."""
    ended = [r for kind in RESOLVED_BY_A_SUCCESS for r in rules.of_kind(kind, job_name)]
    ended += [
        r
        for r in rules.of_kind("slow_execution", job_name)
        if paces.get(r.key) is not None and not paces[r.key].slow
    ]
    resolved = [
        resolve_open(db, job_dedup_key(rule, job_name), RESOLVED_BY, RESOLVED_VIA, now) for rule in ended
    ]
    return [incident for incident in resolved if incident is not None]
