"""Opening databases from a SQLAlchemy URL: ADBC for bulk frames, SQLAlchemy for DDL and small writes.

PostgreSQL warehouse connections set `search_path` to the reporting schema, so every
statement names tables unqualified and the same SQL runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa

from backroom_reporting import settings

REPORTING_SCHEMA = "reporting"
SQLITE_BUSY_TIMEOUT_MS = 60_000  # dagster dev runs steps in parallel processes


def parse_url(url: str) -> sa.URL:
    parsed = sa.make_url(url)
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ValueError(f"unsupported database URL {parsed!r}: use sqlite:/// or postgresql://")
    return parsed


def backend(url: str) -> str:
    return parse_url(url).get_backend_name()


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (None for PostgreSQL)."""
    parsed = parse_url(url)
    return Path(parsed.database) if parsed.get_backend_name() == "sqlite" and parsed.database else None


def _sqlite_path(parsed: sa.URL) -> str:
    if not parsed.database or parsed.database == ":memory:":
        raise ValueError("SQLite URLs must name a file (sqlite:///path/to/file.db)")
    Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    return parsed.database


def _libpq_uri(parsed: sa.URL, search_path: str | None) -> str:
    uri = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    if search_path:
        # A warehouse query may sort or group many nights of rows at once:
        # with the server's default 4 MB those spill to disk.
        options = f"-csearch_path={search_path} -cwork_mem={settings.WAREHOUSE_WORK_MEM.get()}"
        sep = "&" if "?" in uri else "?"
        uri += f"{sep}options=" + quote(options, safe="")
    return uri


@contextlib.contextmanager
def adbc_connection(url: str, search_path: str | None = None) -> Iterator:
    """An ADBC DB-API connection: on SQLite autocommit off (the caller commits), on PostgreSQL
    autocommit on (the caller sends BEGIN and COMMIT)."""
    parsed = parse_url(url)
    if parsed.get_backend_name() == "sqlite":
        import adbc_driver_sqlite.dbapi as driver

        conn = driver.connect(_sqlite_path(parsed))
        with conn.cursor() as cur:
            cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    else:
        import adbc_driver_postgresql.dbapi as driver

        # Transactions are sent explicitly (Database._transaction).
        conn = driver.connect(_libpq_uri(parsed, search_path), autocommit=True)
    try:
        yield conn
    finally:
        conn.close()


def create_engine(url: str, search_path: str | None = None) -> sa.Engine:
    parsed = parse_url(url)
    if parsed.get_backend_name() == "sqlite":
        _sqlite_path(parsed)
        # Python's sqlite3 and ADBC's bundled SQLite are two copies of the library in one
        # process; a copy closing a file drops the other's POSIX locks on it. So sqlite3
        # connections (DDL, migrations) never linger: each closes as soon as it is done.
        engine = sa.create_engine(
            parsed, poolclass=sa.pool.NullPool, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        )

        @sa.event.listens_for(engine, "connect")
        def _rollback_journal(dbapi_conn, _record) -> None:
            # Not WAL: with two copies of SQLite in one process, one copy closing the file
            # believes it is the last connection, checkpoints and deletes the WAL under the
            # other's still-open connection ("database disk image is malformed"). With the
            # rollback journal an idle connection holds no shared state to go stale.
            dbapi_conn.execute("PRAGMA journal_mode=DELETE")

        return engine
    connect_args = {"options": f"-csearch_path={search_path}"} if search_path else {}
    return sa.create_engine(parsed, connect_args=connect_args)


def compile_sql(statement: sa.sql.ClauseElement, dialect_name: str) -> str:
    """Render a SQLAlchemy Core statement as literal SQL for ADBC (values are ours, not user input)."""
    dialect = sa.dialects.registry.load(dialect_name)()
    return str(statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
