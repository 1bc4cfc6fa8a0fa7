"""Fixtures shared by the suite: real SQLite files and real PostgreSQL databases.

Every PostgreSQL test gets a database of its own, created on the local server that
`make test` starts, and dropped afterwards. A warehouse at head is migrated once per test
process and copied for each test (a file copy, or PostgreSQL's CREATE DATABASE … TEMPLATE):
running the migrations anew cost each test seconds.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from backroom_reporting.instance import EVENT_BATCH_SIZE, dagster_home, instance
from backroom_reporting.warehouse.connections import REPORTING_SCHEMA
from backroom_reporting.warehouse.database import Database
from backroom_reporting.warehouse.migrate import upgrade

POSTGRES_URL = os.environ.get(
    "BACKROOM_TEST_POSTGRES_URL", "postgresql://backroom:backroom@127.0.0.1:5432/backroom_test"
)


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[sa.Engine]:
    engine = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_URL} (run scripts/ensure-postgres.sh): {exc}")
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_url(postgres_admin: sa.Engine) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test."""
    name = f"bt_{uuid.uuid4().hex[:12]}"
    with postgres_admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(POSTGRES_URL).set(database=name)
    yield url.render_as_string(hide_password=False)
    _drop(postgres_admin, name)


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory) -> Path:
    """A SQLite warehouse at head, for tests to copy."""
    path = tmp_path_factory.mktemp("migrated") / "warehouse.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def migrated_postgres(postgres_admin: sa.Engine) -> Iterator[str]:
    """The name of a PostgreSQL database at head, for tests' databases to be created from."""
    name = f"bt_head_{uuid.uuid4().hex[:10]}"
    with postgres_admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    upgrade(sa.make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False))
    yield name
    with postgres_admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@dataclass
class Databases:
    """A booking system and a warehouse (schema at head), on one backend."""

    backend: str
    source_url: str
    warehouse_url: str

    @property
    def source(self) -> Database:
        return Database(self.source_url)

    @property
    def warehouse(self) -> Database:
        return Database(self.warehouse_url, search_path=REPORTING_SCHEMA)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def databases(request, tmp_path) -> Databases:
    """Source and warehouse on SQLite files, or both in one PostgreSQL database
    (the source in `public`, the warehouse in `reporting`), as production may run."""
    if request.param == "sqlite":
        shutil.copyfile(request.getfixturevalue("migrated_sqlite"), tmp_path / "warehouse.db")
        return Databases("sqlite", f"sqlite:///{tmp_path}/booking.db", f"sqlite:///{tmp_path}/warehouse.db")
    template = request.getfixturevalue("migrated_postgres")
    admin = request.getfixturevalue("postgres_admin")
    name = f"bt_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    request.addfinalizer(lambda: _drop(admin, name))
    url = sa.make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    return Databases("postgresql", url, url)


def _drop(admin: sa.Engine, name: str) -> None:
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """DAGSTER_HOME in a folder of the test's, with the embedded configuration the commands
    write there (SQLite storage, schedule state, run retries and monitoring)."""
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", EVENT_BATCH_SIZE)
    return dagster_home()


@pytest.fixture
def home_instance(home) -> Iterator[dg.DagsterInstance]:
    """The Dagster instance in DAGSTER_HOME, as `backroom` and `dagster dev` open it."""
    with instance() as dagster:
        yield dagster
