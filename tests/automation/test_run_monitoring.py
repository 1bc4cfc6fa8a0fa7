"""Run monitoring as configured: a run past its job's maximum run time is failed and recorded,
and retried (a time-out is not a step's fault). A real dagster-daemon, on the embedded
configuration with a one-second poll, watches a real run."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
import yaml

import backroom_reporting

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
    process = subprocess.Popen(
        [BIN / "dagster-daemon", "run", "-w", "workspace.yaml"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        yield tmp_path, env
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)


def test_a_run_past_its_maximum_run_time_is_failed_recorded_and_retried(daemon):
    folder, env = daemon
    subprocess.run(
        [BIN / "dagster", "job", "launch", "-w", "workspace.yaml", "-j", "runs_past_its_limit"],
        cwd=folder,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        failed = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and len(failed) < 2:
            time.sleep(1)
            failed = [
                r
                for r in instance.get_run_records(ascending=True)
                if r.dagster_run.status == dg.DagsterRunStatus.FAILURE
            ]
        assert len(failed) >= 2, "the run and its retry should both have been stopped"
        first, retry = failed[0].dagster_run, failed[1].dagster_run
        messages = [
            e.message for e in instance.all_logs(first.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
        ]
        assert messages == ["Exceeded maximum runtime of 3 seconds."]
        assert retry.tags.get("dagster/parent_run_id") == first.run_id
