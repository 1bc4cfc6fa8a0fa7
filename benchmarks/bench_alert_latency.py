"""From a failed run to the first message on call: measured through a real Dagster daemon.

    python -m benchmarks.bench_alert_latency [--runs 5]

Run from the repository's root. A Dagster daemon (its own process, on a fresh SQLite instance)
loads benchmarks/alert_latency/location.py: jobs whose asset fails, with the project's
alert_on_run_failure and page_on_call sensors. Slack's Web API and a mail relay stand in on
loopback (tests/delivery/standins.py). Each of N jobs is run once and fails (a separate process,
as `dagster job execute`); the figure is the time from the run's failure, as Dagster recorded
it, to the Slack stand-in receiving the incident's post. The run-failure sensor ticks every
30 s, so the wait is at most one tick plus the sensor's own work.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg
from aiosmtpd.controller import Controller

from backroom_reporting.warehouse.migrate import upgrade
from tests.delivery.conftest import Relay, free_port
from tests.delivery.loopback import Loopback
from tests.delivery.standins import SLACK_POST, SLACK_TOKEN, SlackStandIn

ROOT = Path(__file__).resolve().parents[1]
LOCATION = "benchmarks/alert_latency/location.py"
RULES = """\
rules:
  - key: night_failed
    kind: run_failure
    jobs: all
    severity: critical
    channels: [slack, email]
    escalation: on_call
"""
ON_CALL = """\
people:
  - {name: Sam Okafor, email: sam@backroom-leeds.example, phone: "+447700900111"}
rota: {hand_over: monday 10:00, starting: 2026-11-23}
slack_channel: C0ALERTS01
escalation: {on_call: {sms_after: 15}, working_hours: {sms_after: 60}, none: {}}
"""


def failure_time(home: Path, job_name: str) -> float:
    """When Dagster recorded the launched run's failure (the run runs in its own process)."""
    deadline = time.time() + 120
    with dg.DagsterInstance.from_config(str(home)) as instance:
        while time.time() < deadline:
            records = instance.get_run_records(dg.RunsFilter(job_name=job_name), limit=1)
            if records and records[0].dagster_run.status == dg.DagsterRunStatus.FAILURE:
                return records[0].end_time
            time.sleep(0.2)
    raise SystemExit(f"{job_name} did not fail within 120 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="failed runs to time (at most 5)")
    runs = min(parser.parse_args().runs, 5)
    with tempfile.TemporaryDirectory() as folder, Loopback() as slack_server:
        home, work = Path(folder, "dagster_home"), Path(folder)
        home.mkdir()
        (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        (work / "rules.yaml").write_text(RULES)
        (work / "on_call.yaml").write_text(ON_CALL)
        slack = SlackStandIn(slack_server)
        relay, port = Relay(), free_port()
        controller = Controller(relay, hostname="127.0.0.1", port=port)
        controller.start()
        warehouse = f"sqlite:///{work}/warehouse.db"
        upgrade(warehouse)
        env = {
            **os.environ,
            "DAGSTER_HOME": str(home),
            "PYTHONPATH": str(ROOT),
            "BACKROOM_WAREHOUSE_URL": warehouse,
            "BACKROOM_ALERT_RULES": str(work / "rules.yaml"),
            "BACKROOM_ON_CALL": str(work / "on_call.yaml"),
            "BACKROOM_OUTBOX": str(work / "outbox"),
            "BACKROOM_SMTP_URL": f"smtp://127.0.0.1:{port}",
            "SLACK_BOT_TOKEN": SLACK_TOKEN,
            "SLACK_BASE_URL": f"{slack_server.url}/api/",
        }
        bin_dir = Path(sys.executable).parent
        daemon = subprocess.Popen(
            [bin_dir / "dagster-daemon", "run", "-f", LOCATION],
            cwd=ROOT,
            env=env,
            stdout=open(os.environ.get("DAEMON_LOG", os.devnull), "w"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            time.sleep(20)  # the daemon loads the location and starts its sensors' first ticks
            waits = []
            for n in range(runs):
                subprocess.run(
                    [bin_dir / "dagster", "job", "launch", "-f", LOCATION, "-j", f"night_{n}"],
                    cwd=ROOT,
                    env=env,
                    capture_output=True,
                    check=False,
                )
                failed_at = failure_time(home, f"night_{n}")
                deadline = time.time() + 120
                while len(slack.posts()) <= n:
                    if time.time() > deadline:
                        raise SystemExit(f"no Slack post within 120 s of night_{n}'s failure")
                    time.sleep(0.05)
                post = slack_server.received("POST", SLACK_POST)[n]
                arrived = time.time() - (time.monotonic() - post.at)
                waits.append(arrived - failed_at)
                print(f"night_{n}: first message {arrived - failed_at:5.1f} s after the run failed")
            emails = len(relay.received)
            print(
                f"{runs} failed runs: from failure to the first message mean {statistics.mean(waits):.1f} s, "
                f"max {max(waits):.1f} s (the run-failure sensor ticks every 30 s); {emails} emails too"
            )
        finally:
            os.killpg(daemon.pid, 15)
            daemon.wait(30)
            controller.stop()


if __name__ == "__main__":
    main()
