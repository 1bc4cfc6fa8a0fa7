"""Runs whose process died: marked failed, so what they held can run again.

A run killed outright (SIGKILL, the out-of-memory killer, a reboot) never records its end:
Dagster would show it STARTED for ever, and the automation would wait for it for ever.
Run monitoring cannot see this with the default run launcher (it checks a worker's health
only for launchers that can report it, such as Kubernetes'), so this sensor does: a run
still marked in progress whose process is gone from this machine is marked failed, with a
sentence saying so. The next run of the same nights then goes ahead.
"""

import datetime as dt
from pathlib import Path

import dagster as dg
from dagster._core.launcher import DefaultRunLauncher

IN_PROGRESS = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]
# A run younger than this may still be starting its process.
GRACE = dt.timedelta(seconds=60)


def process_gone(pid: int) -> bool:
    """Whether no live process has this id here (a zombie, dead but not yet reaped, is gone)."""
    stat = Path(f"/proc/{pid}/stat")
    try:
        state = stat.read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    except OSError:
        return False  # unreadable: another user's live process
    return state in ("Z", "X")


def worker_pid(instance: dg.DagsterInstance, run_id: str) -> int | None:
    """The process that ran the run: the one that recorded its start."""
    started = instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_START)
    return started[-1].dagster_event.pid if started else None


@dg.sensor(
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Marks failed a run still in progress whose process has died on this machine.",
)
def dead_runs(context: dg.SensorEvaluationContext):
    instance = context.instance
    if not isinstance(instance.run_launcher, DefaultRunLauncher):
        return dg.SkipReason("runs are launched elsewhere: their launcher's run monitoring watches them")
    now = dt.datetime.now(dt.UTC)
    marked = []
    for record in instance.get_run_records(filters=dg.RunsFilter(statuses=IN_PROGRESS)):
        run = record.dagster_run
        started = dt.datetime.fromtimestamp(record.start_time, dt.UTC) if record.start_time else None
        pid = worker_pid(instance, run.run_id)
        if pid is None or started is None or now - started < GRACE or not process_gone(pid):
            continue
        instance.report_run_failed(
            run,
            f"The run's process (pid {pid}) died without recording its end (killed, or out of memory): "
            "marked failed, so the next run of the same partitions can go ahead.",
        )
        marked.append(run.run_id)
    if not marked:
        return dg.SkipReason("every run in progress has a live process")
    return dg.SkipReason(f"marked failed, their process gone: {', '.join(marked)}")
