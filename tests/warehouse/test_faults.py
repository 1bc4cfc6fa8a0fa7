"""Faults end in one plain sentence saying what is wrong and what to do, on SQLite and
PostgreSQL: a missing table or column, a file that is not a database, a missing file (never
created), a server down or restarted mid-run (the connection comes back), a full disk."""

import datetime as dt
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from backroom_reporting.backfill import with_databases
from backroom_reporting.cli import main
from backroom_reporting.definitions import defs
from backroom_reporting.warehouse.database import Database
from backroom_reporting.warehouse.faults import Fault, Place, explain
from backroom_reporting.warehouse.tables.raw import RAW
from backroom_reporting.warehouse.types import table_schema
from tests.worlds import small_world, write_source

NIGHT = dt.date(2026, 3, 27)
PG_BIN = max(Path("/usr/lib/postgresql").glob("*/bin"), default=None)  # the newest installed


def load_raw_check_ins(databases, instance) -> dg.ExecuteInProcessResult:
    wired = with_databases(defs, databases.source_url, databases.warehouse_url)
    return dg.materialize(
        list(wired.assets),
        selection=[
            "raw_venues",
            "raw_customers",
            "raw_events",
            "raw_staff",
            "raw_venue_tables",
            "raw_check_ins",
        ],
        partition_key=NIGHT.isoformat(),
        resources=wired.resources,
        instance=instance,
        raise_on_error=False,
    )


def failure_of(result: dg.ExecuteInProcessResult, step: str = "raw_check_ins") -> tuple[str, int]:
    """A failed step's description and how many attempts it took."""
    [failure] = [
        e
        for e in result.all_events
        if e.event_type == dg.DagsterEventType.STEP_FAILURE and e.step_key == step
    ]
    attempts = len(
        [
            e
            for e in result.all_events
            if e.event_type == dg.DagsterEventType.STEP_START and e.step_key == failure.step_key
        ]
    )
    return failure.step_failure_data.user_failure_data.description, attempts


@pytest.fixture
def instance():
    with dg.DagsterInstance.ephemeral() as instance:
        yield instance


def broken_source(databases, statement: str) -> None:
    write_source(databases.source_url, small_world([NIGHT]))
    engine = sa.create_engine(databases.source_url)
    with engine.begin() as conn:
        conn.execute(sa.text(statement))
    engine.dispose()


def test_a_missing_source_table_is_named_and_not_retried(databases, instance):
    broken_source(databases, "DROP TABLE check_ins")
    description, attempts = failure_of(load_raw_check_ins(databases, instance))
    assert description == (
        f"The booking system at {sa.make_url(databases.source_url)!r} has no table check_ins: check that "
        "BACKROOM_SOURCE_URL points at the booking system's database."
    )
    assert attempts == 1  # it would fail the same way again


def test_a_renamed_source_column_is_named(databases, instance):
    broken_source(databases, "ALTER TABLE check_ins RENAME COLUMN scanned_at TO scan_time")
    description, attempts = failure_of(load_raw_check_ins(databases, instance))
    assert "has no column" in description and "scanned_at" in description
    assert attempts == 1


def test_a_file_that_is_not_a_database_is_named(tmp_path, databases, instance):
    if databases.backend != "sqlite":
        pytest.skip("a file is a SQLite matter")
    Path(databases.source_url.removeprefix("sqlite:///")).write_text("booking export, not a database\n" * 200)
    description, attempts = failure_of(load_raw_check_ins(databases, instance), step="raw_venues")
    assert description.endswith("is not a SQLite database: point BACKROOM_SOURCE_URL at the right file.")
    assert attempts == 1


def test_a_missing_sqlite_file_is_never_created(tmp_path, instance):
    missing = tmp_path / "typo" / "bookings.db"
    warehouse = tmp_path / "warehouse.db"
    from backroom_reporting.warehouse.migrate import upgrade

    upgrade(f"sqlite:///{warehouse}")
    wired = with_databases(defs, f"sqlite:///{missing}", f"sqlite:///{warehouse}")
    result = dg.materialize(
        list(wired.assets),
        selection=["raw_venues"],
        resources=wired.resources,
        instance=instance,
        raise_on_error=False,
    )
    description, _ = failure_of(result, step="raw_venues")
    assert description.startswith(f"There is no SQLite database at {missing} for the booking system: set ")
    assert not missing.exists() and not missing.parent.exists()


def test_the_cli_says_it_in_one_sentence(tmp_path):
    missing = tmp_path / "nowhere" / "warehouse.db"
    result = CliRunner().invoke(
        main,
        ["report", "render", "daily_summary", "--date", "2026-03-27"],
        env={"BACKROOM_WAREHOUSE_URL": f"sqlite:///{missing}"},
    )
    assert result.exit_code == 1
    assert result.output.strip() == (
        f"Error: There is no SQLite database at {missing} for the warehouse: "
        "create it with `backroom db upgrade`."
    )
    assert not missing.exists()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def own_postgres():
    """A PostgreSQL server of this test's own, so restarting it disturbs no other test."""
    if PG_BIN is None:
        pytest.skip("PostgreSQL server binaries are not installed")
    # initdb refuses root: as root, the server runs as postgres, in a folder it can reach.
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    home = Path(tempfile.mkdtemp(prefix="backroom-pg-"))
    data, port = home / "data", free_port()
    data.mkdir()
    if as_user:
        shutil.chown(home, "postgres")
        shutil.chown(data, "postgres")
    subprocess.run(
        [*as_user, PG_BIN / "initdb", "-D", data, "-U", "backroom", "--auth=trust"],
        check=True,
        capture_output=True,
    )
    log = home / "pg.log"

    def ctl(*args):
        subprocess.run(
            [
                *as_user,
                PG_BIN / "pg_ctl",
                "-D",
                data,
                "-l",
                log,
                "-o",
                f"-p {port} -k {home} -h 127.0.0.1",
                "-w",
                *args,
            ],
            check=True,
            capture_output=True,
        )

    ctl("start")
    try:
        yield f"postgresql://backroom@127.0.0.1:{port}/postgres", ctl
    finally:
        ctl("stop", "-m", "immediate")
        shutil.rmtree(home, ignore_errors=True)


def test_a_restarted_server_is_named_and_the_connection_comes_back(own_postgres):
    url, ctl = own_postgres
    engine = sa.create_engine(url)
    table = RAW["staff_shifts"]
    with engine.begin() as conn:
        conn.execute(sa.schema.CreateTable(table))
    engine.dispose()
    db = Database(url, place=Place("the warehouse", url, "BACKROOM_WAREHOUSE_URL"))
    rows = pl.DataFrame(schema=table_schema(table))
    db.replace(table, rows)  # the connection is open
    ctl("restart", "-m", "fast")
    with pytest.raises(Fault) as lost:
        db.read_table(table)
    assert lost.value.transient
    assert str(lost.value).startswith("PostgreSQL at 127.0.0.1:") and "is not reachable or restarted" in str(
        lost.value
    )
    assert "Failed to rollback" not in str(lost.value)
    assert db.read_table(table).is_empty()  # the next operation reconnects
    db.close()


def test_an_unreachable_server_is_named(databases):
    url = f"postgresql://backroom:backroom@127.0.0.1:{free_port()}/nothing"
    db = Database(url, place=Place("the booking system", url, "BACKROOM_SOURCE_URL"))
    with pytest.raises(Fault) as down:
        db.read("select 1")
    assert down.value.transient and "BACKROOM_SOURCE_URL" in str(down.value)


@pytest.mark.parametrize(
    ("error", "sentence"),
    [
        (OSError(28, "No space left on device"), "is full: free some space, then run again."),
        (
            Exception("INTERNAL: [SQLite] database or disk is full"),
            "is full: free some space, then run again.",
        ),
        (Exception("database is locked"), "stayed locked by another writer"),
    ],
)
def test_disk_full_and_locks_are_named(error, sentence):
    place = Place("the warehouse", "sqlite:///var/warehouse.db", "BACKROOM_WAREHOUSE_URL")
    fault = explain(error, place)
    assert fault is not None and sentence in fault.sentence


def test_a_full_disk_is_named_for_real(tmp_path):
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small filesystem needs root")
    small = tmp_path / "small"
    small.mkdir()
    if subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", small], capture_output=True
    ).returncode:
        pytest.skip("tmpfs cannot be mounted here")
    try:
        url = f"sqlite:///{small}/warehouse.db"
        engine = sa.create_engine(url)
        table = RAW["staff_shifts"]
        with engine.begin() as conn:
            conn.execute(sa.schema.CreateTable(table))
        engine.dispose()
        db = Database(url, place=Place("the warehouse", url, "BACKROOM_WAREHOUSE_URL"))
        start = dt.datetime(2026, 3, 27, 20, tzinfo=dt.UTC)
        many = pl.DataFrame(
            {
                "shift_id": [f"shift-{i:08d}" for i in range(20_000)],
                "venue_id": "v" * 40,
                "staff_id": "s" * 40,
                "starts_at": start,
                "ends_at": start + dt.timedelta(hours=7),
                "business_date": NIGHT,
            },
            schema=table_schema(table),
        )
        with pytest.raises(Fault) as full:
            db.replace(table, many)
        assert full.value.kind == "disk"
        db.close()
    finally:
        subprocess.run(["umount", small], capture_output=True)
        time.sleep(0.1)
