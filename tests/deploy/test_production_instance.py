"""The production deployment on one machine, as deploy/ describes it: Dagster's storage in
PostgreSQL (deploy/dagster.yaml as it is), the code location served by its own
`dagster code-server` process (deploy/workspace.yaml as it is), and `dagster-daemon run` as
another process. A job is launched as an operator would, queued, taken off the queue by the
daemon and run by the code server in a process of its own; its rows land in the warehouse.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import dagster as dg
import grpc
import pytest
import sqlalchemy as sa
import yaml
from dagster._grpc.client import DagsterGrpcClient
from dagster_postgres import PostgresRunStorage

from backroom_reporting.warehouse.migrate import upgrade
from backroom_reporting.warehouse.source_contract import CONTRACT
from tests.worlds import night_of, small_world, source_rows, write_source

pytestmark = [pytest.mark.postgres, pytest.mark.deploy]

ROOT = Path(__file__).parents[2]
BIN = Path(sys.executable).parent
NIGHT = dt.date(2026, 3, 28)  # the 23-hour night: clocks go forward at 01:00


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(command: list, cwd: Path, env: dict, log: Path) -> subprocess.Popen:
    """A server in a session of its own, so stopping it stops whatever it spawned."""
    return subprocess.Popen(
        command, cwd=cwd, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True
    )


def stop(*processes: subprocess.Popen) -> None:
    """Ask every server to stop at once, then wait for each (a kill after 30 seconds)."""
    for process in processes:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture
def deployment(postgres_url, tmp_path, monkeypatch):
    """PostgreSQL holding Dagster's storage, the booking system (public) and the warehouse
    (reporting); a code server and a daemon, each a process of its own."""
    url = sa.make_url(postgres_url)
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    port = free_port()
    settings = {
        "DAGSTER_HOME": str(home),
        "DAGSTER_PG_USERNAME": url.username,
        "DAGSTER_PG_PASSWORD": url.password,
        "DAGSTER_PG_HOST": url.host,
        "DAGSTER_PG_PORT": str(url.port or 5432),
        "DAGSTER_PG_DB": url.database,
        "DAGSTER_CODE_SERVER_HOST": "127.0.0.1",
        "DAGSTER_CODE_SERVER_PORT": str(port),
        "BACKROOM_SOURCE_URL": postgres_url,
        "BACKROOM_WAREHOUSE_URL": postgres_url,
        "BACKROOM_HISTORY_START": "2026-03-01",
        # The image's working directory holds report_layouts/; this test's does not.
        "BACKROOM_LAYOUTS_DIR": str(ROOT / "report_layouts"),
        "BACKROOM_ALERT_RULES": str(ROOT / "report_layouts" / "alerts" / "rules.yaml"),
        "BACKROOM_ON_CALL": str(ROOT / "report_layouts" / "alerts" / "on_call.yaml"),
        "BACKROOM_RETENTION": str(ROOT / "report_layouts" / "privacy" / "retention.yaml"),
        "BACKROOM_BACKFILL_POLICY": "multi_run:30",
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    env = {**os.environ, **settings}
    # Dagster's tables made once, before the processes start, so they do not race to make them.
    dg.DagsterInstance.get().dispose()
    workspace = ROOT / "deploy" / "workspace.yaml"
    code_server = start(
        [
            *(BIN / "dagster", "code-server", "start", "-m", "backroom_reporting.definitions"),
            *("-h", "127.0.0.1", "-p", str(port), "--location-name", "backroom_reporting"),
        ],
        tmp_path,
        env,
        tmp_path / "code-server.log",
    )
    # While the code location loads: what `backroom db upgrade` does before a release, and the
    # booking system's night.
    upgrade(postgres_url)
    write_source(postgres_url, small_world([NIGHT]))
    daemon = start([BIN / "dagster-daemon", "run", "-w", workspace], tmp_path, env, tmp_path / "daemon.log")
    try:
        client = DagsterGrpcClient(port=port, host="127.0.0.1")
        deadline = time.monotonic() + 60
        while not serving(client):
            assert code_server.poll() is None, (tmp_path / "code-server.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the code server did not start within a minute"
            time.sleep(0.5)
        yield tmp_path, env, workspace
    finally:
        stop(daemon, code_server)


def serving(client: DagsterGrpcClient) -> bool:
    try:
        return client.health_check_query() == "SERVING"
    except grpc.RpcError:  # not listening yet
        return False


def expected_ids(table: str) -> set[str]:
    """The source rows a raw load of NIGHT takes: every snapshot row, and the facts whose
    business time falls in that night (by the 06:00 London rule, stated in tests/worlds.py)."""
    rules = CONTRACT[table]
    rows = source_rows(os.environ["BACKROOM_SOURCE_URL"], table)
    if rules.is_fact:
        rows = [r for r in rows if night_of(r[rules.business_time]) == NIGHT]
    return {r[rules.key] for r in rows}


def test_a_job_runs_through_the_queue_daemon_and_code_server_on_postgresql(deployment):
    folder, env, workspace = deployment
    # The daemon also runs every schedule and sensor, which are on from the start and may launch
    # runs of their own: this run is known by its id.
    run_id = str(uuid.uuid4())
    launched = subprocess.run(
        [
            *(BIN / "dagster", "job", "launch", "-w", workspace, "-j", "closing_run", "--run-id", run_id),
            *("--tags", f'{{"dagster/partition": "{NIGHT}"}}'),
        ],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert launched.returncode == 0, launched.stderr[-3000:]

    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        # The run queue's limits are the file's, as Dagster reads them.
        runs = yaml.safe_load((ROOT / "deploy" / "dagster.yaml").read_text())["concurrency"]["runs"]
        queue = instance.get_concurrency_config().run_queue_config
        assert (queue.max_concurrent_runs, list(queue.tag_concurrency_limits)) == (
            runs["max_concurrent_runs"],
            runs["tag_concurrency_limits"],
        )
        deadline = time.monotonic() + 120
        while (run := instance.get_run_by_id(run_id)).status not in (
            dg.DagsterRunStatus.SUCCESS,
            dg.DagsterRunStatus.FAILURE,
            dg.DagsterRunStatus.CANCELED,
        ):
            assert time.monotonic() < deadline, f"run still {run.status.value} after two minutes"
            time.sleep(1)
        failure = [e.message for e in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_FAILURE)]
        daemon_log = (folder / "daemon.log").read_text()[-3000:]
        assert run.status == dg.DagsterRunStatus.SUCCESS, failure or daemon_log
        # Queued by the launch, taken off the queue by the daemon, tagged with its code location
        # (the key of the per-database limit).
        kinds = [e.dagster_event.event_type for e in instance.all_logs(run_id) if e.dagster_event]
        assert kinds.index(dg.DagsterEventType.RUN_ENQUEUED) < kinds.index(dg.DagsterEventType.RUN_STARTING)
        assert kinds.index(dg.DagsterEventType.RUN_STARTING) < kinds.index(dg.DagsterEventType.RUN_START)
        assert run.tags["dagster/code_location"] == "backroom_reporting"
        # The run's process was neither this one nor a server's: the code server launched it.
        [began] = instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_START)
        assert began.dagster_event.pid not in (os.getpid(), None)
        # The schedules and sensors are on, as in production, and what they launched meanwhile
        # (the catalogue, the layouts, the alert rules) did not fail either.
        failed = [
            sorted(k.to_user_string() for k in r.dagster_run.asset_selection or ())
            for r in instance.get_run_records()
            if r.dagster_run.status == dg.DagsterRunStatus.FAILURE
        ]
        assert failed == []

    # Dagster's records are in the PostgreSQL database, read here with plain SQL.
    engine = sa.create_engine(os.environ["BACKROOM_WAREHOUSE_URL"])
    try:
        with engine.connect() as conn:
            status = conn.execute(sa.text("SELECT status FROM runs WHERE run_id = :r"), {"r": run_id})
            daemons = conn.execute(sa.text("SELECT daemon_type FROM daemon_heartbeats")).scalars().all()
            loaded = {
                table: set(conn.execute(sa.text(f"SELECT {rules.key} FROM reporting.raw_{table}")).scalars())
                for table, rules in CONTRACT.items()
            }
    finally:
        engine.dispose()
    assert status.scalar() == "SUCCESS"
    assert "QUEUED_RUN_COORDINATOR" in daemons
    for table in CONTRACT:
        assert loaded[table] == expected_ids(table), table
    assert loaded["check_ins"]  # the night had facts to load
