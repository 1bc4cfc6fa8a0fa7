"""Runs that go wrong are ended and recorded: a run past its job's maximum run time is failed
and retried (a real dagster-daemon on the embedded configuration, with a one-second poll,
watches a real run), and a run whose process was killed is marked failed."""

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._daemon.auto_run_reexecution.event_log_consumer import _create_cursor_key

import backroom_reporting
from backroom_reporting.sensors.dead_runs import dead_runs, process_gone

HERE = Path(__file__).parent
# The configuration the `backroom` commands install in DAGSTER_HOME.
EMBEDDED = Path(backroom_reporting.__file__).parent / "dagster_embedded.yaml"
BIN = Path(sys.executable).parent


@pytest.fixture
def daemon(tmp_path):
    config = yaml.safe_load(EMBEDDED.read_text())
    config["run_monitoring"]["poll_interval_seconds"] = 1
    home = tmp_path / "dagster"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    (tmp_path / "workspace.yaml").write_text(
        yaml.safe_dump(
            {
                "load_from": [
                    {
                        "python_file": {
                            "relative_path": str(HERE / "slow_location.py"),
                            "location_name": "slow",
                        }
                    }
                ]
            }
        )
    )
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    # Storage made before the daemon and the CLI start, so they do not race to create it.
    dg.DagsterInstance.from_config(str(home)).dispose()
    # The daemon's log is kept so that a failing test can say what the daemon was doing.
    log = (tmp_path / "daemon.log").open("w")
    process = subprocess.Popen(
        [BIN / "dagster-daemon", "run", "-w", "workspace.yaml"],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        # The retry daemon ignores failures from before its first look at the event log, so
        # a run that fails while the daemon is still starting would never be retried.
        retry_cursor = _create_cursor_key(dg.DagsterEventType.RUN_FAILURE)
        deadline = time.monotonic() + 180
        with dg.DagsterInstance.from_config(str(home)) as instance:
            while not instance.daemon_cursor_storage.get_cursor_values({retry_cursor}):
                assert time.monotonic() < deadline, "the retry daemon did not start in 180 s"
                assert process.poll() is None, (tmp_path / "daemon.log").read_text()[-3000:]
                time.sleep(0.5)
        yield tmp_path, env
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)
        log.close()


def test_a_run_past_its_maximum_run_time_is_failed_recorded_and_retried(daemon):
    folder, env = daemon
    launched = subprocess.run(
        [BIN / "dagster", "job", "launch", "-w", "workspace.yaml", "-j", "runs_past_its_limit"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert launched.returncode == 0, launched.stderr[-2000:]
    with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        failed = []
        # Generous: on two busy cores the retry waits for the queue, a new run process and
        # the monitor in turn; the test ends as soon as both runs have failed.
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and len(failed) < 2:
            time.sleep(1)
            records = instance.get_run_records(ascending=True)
            failed = [r for r in records if r.dagster_run.status == dg.DagsterRunStatus.FAILURE]
        runs = [(r.dagster_run.run_id[:8], r.dagster_run.status.value) for r in records]
        daemon_log = (folder / "daemon.log").read_text()[-3000:]
        assert len(failed) >= 2, (
            f"the run and its retry should both have been stopped; runs: {runs}\n{daemon_log}"
        )
        first, retry = failed[0].dagster_run, failed[1].dagster_run
        messages = [
            e.message for e in instance.all_logs(first.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
        ]
        assert messages == ["Exceeded maximum runtime of 3 seconds."]
        assert retry.tags.get("dagster/parent_run_id") == first.run_id


def test_a_run_whose_process_was_killed_is_marked_failed(home_instance, monkeypatch):
    killed = subprocess.run(
        [BIN / "dagster", "job", "execute", "-f", HERE / "slow_location.py", "-j", "dies_mid_run"],
        env=os.environ,
        capture_output=True,
        timeout=120,
    )
    assert killed.returncode == -signal.SIGKILL
    [record] = home_instance.get_run_records()
    assert record.dagster_run.status == dg.DagsterRunStatus.STARTED  # what it would say for ever
    # A run younger than the grace period is left alone: it may still be starting.
    with dg.build_sensor_context(instance=home_instance) as context:
        assert "every run in progress has a live process" in dead_runs(context).skip_message
    monkeypatch.setattr("backroom_reporting.sensors.dead_runs.GRACE", dt.timedelta(0))
    with dg.build_sensor_context(instance=home_instance) as context:
        result = dead_runs(context)
    assert record.dagster_run.run_id in result.skip_message
    run = home_instance.get_run_by_id(record.dagster_run.run_id)
    assert run.status == dg.DagsterRunStatus.FAILURE
    [failure] = home_instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
    assert (
        failure.message.startswith("The run's process (pid ")
        and "died without recording its end" in failure.message
    )


def test_a_live_run_is_left_alone(home_instance):
    # The test's own process stands for a run worker that is alive and well.
    assert not process_gone(os.getpid())
    assert process_gone(2**22 + 12345)  # above any pid this machine hands out
