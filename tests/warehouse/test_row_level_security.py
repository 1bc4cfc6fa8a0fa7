"""Row-level security on PostgreSQL (migration 0016, docs/portal.md): each database role reads
what its people may read and nothing else, on the real server.

Every table gets rows written as the warehouse user (the owner), then is read back two ways:
through `as_person`, as the web app reads, and through a plain `SET ROLE` and
`set_config('backroom.staff_id', ...)` on a connection of the test's own, as anyone with the
role would. On SQLite there are no roles: the last test shows the app's rules are all there is.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import multiprocessing
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from backroom_reporting.portal import accounts, sessions
from backroom_reporting.portal.people import Person
from backroom_reporting.portal.scoped import as_person
from backroom_reporting.warehouse.connections import REPORTING_SCHEMA
from backroom_reporting.warehouse.database import Database
from backroom_reporting.warehouse.migrate import alembic_config, current_revisions, head_revisions, upgrade
from backroom_reporting.warehouse.tables import WAREHOUSE
from backroom_reporting.warehouse.types import UtcTimestamp

NOW = dt.datetime(2026, 12, 2, 14, 0, tzinfo=dt.UTC)
AMY, BEN = "stf-amy", "stf-ben"
ROLE_OF = {  # stated here, not taken from people.py, so a change there shows up here
    "admin": "reporting_admin",
    "manager": "reporting_manager",
    "finance": "reporting_manager",
    "events": "reporting_manager",
    "staff": "reporting_staff",
}
# The rule: customer-level tables, and the app's own accounts, sessions, tokens and
# access log, are the admin's alone. A table added later must be placed here or granted to
# managers by its migration: test_every_warehouse_table_is_classified fails until it is.
ADMIN_ONLY = frozenset(
    {
        "raw_customers",
        "customer_visits",
        "customer_analytics",
        "top_customers",
        "raw_quarantine",
        "portal_users",
        "portal_sessions",
        "api_tokens",
        "access_log",
        "portal_sign_in_links",  # migration 0017
        "erased_customers",  # migration 0020
        # migration 0021: Stripe's records, its webhook events and the reconciliation
        "stripe_charges",
        "stripe_refunds",
        "stripe_disputes",
        "stripe_payouts",
        "stripe_events",
        "stripe_loads",
        "payment_reconciliation",
        "connector_cursors",  # migration 0022
        "fatsoma_events",
        "fatsoma_orders",
    }
)
STAFF_ROWS = frozenset({"staff_performance", "raw_staff_shifts", "raw_staff"})
# Columns a manager may not read in tables it otherwise reads.
WITHHELD = {
    "report_subscriptions": frozenset({"webhook_secret", "webhook_previous_secret"}),
    "raw_bookings": frozenset({"customer_id"}),
    "raw_payments": frozenset({"customer_id"}),
    "raw_ticket_sales": frozenset({"customer_id"}),
    "raw_check_ins": frozenset({"customer_id"}),
    "raw_feedback": frozenset({"customer_id"}),
}
REFUSED = "42501"  # insufficient_privilege: "permission denied for table ..."


def person(role: str, staff_id: str | None = None) -> Person:
    return Person(f"usr-{role}", f"{role}@backroom.test", role.title(), role, staff_id, None)


def a_row(table: sa.Table, tag: str) -> dict:
    """A row of `table` with every column filled by its type; text says which row it is."""
    values: dict = {}
    for column in table.columns:
        kind = column.type
        if isinstance(kind, UtcTimestamp | sa.DateTime):
            values[column.name] = NOW
        elif isinstance(kind, sa.Date):
            values[column.name] = NOW.date()
        elif isinstance(kind, sa.Boolean):
            values[column.name] = True
        elif isinstance(kind, sa.Integer):
            values[column.name] = 1
        elif isinstance(kind, sa.Float | sa.Numeric):
            values[column.name] = 1.5
        elif isinstance(kind, sa.JSON):
            values[column.name] = {}
        else:
            values[column.name] = f"{column.name}-{tag}"
    if "staff_id" in values:
        values["staff_id"] = tag
    return values


# How many rows the owner writes: one a table; the staff tables one for Amy and one for Ben,
# and raw_staff also a row whose staff_id is empty (no staff member's: nobody's to read).
OWNERS_ROWS = {name: [""] for name in WAREHOUSE.tables} | {name: [AMY, BEN] for name in STAFF_ROWS}
OWNERS_ROWS["raw_staff"] = [AMY, BEN, ""]


@pytest.fixture
def warehouse(postgres_url) -> Iterator[Database]:
    upgrade(postgres_url)
    db = Database(postgres_url, search_path=REPORTING_SCHEMA)
    with db.engine.begin() as conn:
        for table in WAREHOUSE.sorted_tables:
            conn.execute(sa.insert(table), [a_row(table, tag) for tag in OWNERS_ROWS[table.name]])
    yield db
    db.close()


@contextlib.contextmanager
def set_role(db: Database, who: Person, staff_id_setting: str | None) -> Iterator[sa.Connection]:
    """A connection of its own that does what anyone holding the role could do by hand."""
    engine = sa.create_engine(
        db.url, poolclass=sa.pool.NullPool, connect_args={"options": f"-csearch_path={REPORTING_SCHEMA}"}
    )
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f"SET ROLE {ROLE_OF[who.role]}")
            if staff_id_setting is not None:
                conn.execute(sa.select(sa.func.set_config("backroom.staff_id", staff_id_setting, False)))
            yield conn
            conn.rollback()
    finally:
        engine.dispose()


Reader = Callable[[Database, Person], contextlib.AbstractContextManager[sa.Connection]]


@pytest.fixture(params=["as_person", "set_role"])
def read_as(request) -> Reader:
    """Reading as a person: the app's way, or by SET ROLE with the person's staff id set."""
    if request.param == "as_person":
        return as_person
    return lambda db, who: set_role(db, who, who.staff_id or "")


def schema_tables(db: Database) -> list[str]:
    with db.engine.connect() as conn:
        return list(
            conn.execute(
                sa.text("SELECT tablename FROM pg_tables WHERE schemaname = :schema ORDER BY tablename"),
                {"schema": REPORTING_SCHEMA},
            ).scalars()
        )


def refused(conn: sa.Connection, sql: str) -> bool:
    """Whether the server refuses `sql` for want of a privilege (any other error is raised)."""
    try:
        with conn.begin_nested():
            conn.exec_driver_sql(sql)
    except sa.exc.DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) != REFUSED:
            raise
        return True
    return False


def rows(conn: sa.Connection, sql: str) -> list:
    with conn.begin_nested():
        return conn.exec_driver_sql(sql).all()


def staff_ids(conn: sa.Connection, table: str) -> list[str]:
    return sorted(staff_id for (staff_id,) in rows(conn, f'SELECT staff_id FROM "{table}"'))


@pytest.mark.postgres
def test_staff_read_only_their_own_rows_of_the_staff_tables(warehouse, read_as):
    for staff_id in (AMY, BEN):
        with read_as(warehouse, person("staff", staff_id)) as conn:
            for table in sorted(STAFF_ROWS):
                assert staff_ids(conn, table) == [staff_id], table


@pytest.mark.postgres
def test_staff_are_refused_every_other_table(warehouse, read_as):
    others = [table for table in schema_tables(warehouse) if table not in STAFF_ROWS]
    assert {"raw_customers", "daily_aggregations", "raw_bar_transactions", "alembic_version"} <= set(others)
    with read_as(warehouse, person("staff", AMY)) as conn:
        assert [t for t in others if not refused(conn, f'SELECT * FROM "{t}"')] == []


@pytest.mark.postgres
def test_a_filter_cannot_widen_what_staff_may_read(warehouse, read_as):
    with read_as(warehouse, person("staff", AMY)) as conn:
        for table in sorted(STAFF_ROWS):
            assert rows(conn, f"SELECT * FROM \"{table}\" WHERE staff_id = '{BEN}'") == [], table
            asked = f"SELECT staff_id FROM \"{table}\" WHERE staff_id IN ('{AMY}', '{BEN}') OR true"
            assert [r.staff_id for r in rows(conn, asked)] == [AMY], table


@pytest.mark.postgres
def test_a_staff_account_without_a_staff_id_reads_no_row(warehouse):
    """Neither an empty setting (what as_person sets) nor none at all matches a row, even
    raw_staff's row whose staff_id is empty."""
    nobody = person("staff", None)
    with as_person(warehouse, nobody) as app, set_role(warehouse, nobody, None) as unset:
        for conn in (app, unset):
            for table in sorted(STAFF_ROWS):
                assert staff_ids(conn, table) == [], table
    with warehouse.engine.connect() as conn:  # the row is there, for the owner
        assert "" in staff_ids(conn, "raw_staff")


@pytest.mark.postgres
@pytest.mark.parametrize("role", ["manager", "finance", "events"])
def test_managers_read_every_staff_row_and_no_customer_or_account_table(warehouse, read_as, role):
    with read_as(warehouse, person(role)) as conn:
        for table in sorted(STAFF_ROWS):
            assert staff_ids(conn, table) == sorted(OWNERS_ROWS[table]), table
        assert [t for t in sorted(ADMIN_ONLY) if not refused(conn, f'SELECT * FROM "{t}"')] == []
        for table in sorted(set(WAREHOUSE.tables) - ADMIN_ONLY - STAFF_ROWS - set(WITHHELD)):
            assert len(rows(conn, f'SELECT * FROM "{table}"')) == 1, table


@pytest.mark.postgres
@pytest.mark.parametrize("role", ["manager", "finance", "events"])
@pytest.mark.parametrize("table", sorted(WITHHELD))
def test_managers_read_facts_and_subscriptions_but_not_the_customer_or_the_secrets(warehouse, role, table):
    columns = [c.name for c in WAREHOUSE.tables[table].columns]
    readable = [c for c in columns if c not in WITHHELD[table]]
    with as_person(warehouse, person(role)) as conn:
        assert len(rows(conn, f"SELECT {', '.join(readable)} FROM {table}")) == 1
        assert rows(conn, f"SELECT count(*) FROM {table}") == [(1,)]
        for withheld in sorted(WITHHELD[table]):
            assert refused(conn, f"SELECT {withheld} FROM {table}"), withheld
        assert refused(conn, f"SELECT * FROM {table}")


@pytest.mark.postgres
def test_admins_read_every_row_of_every_table(warehouse, read_as):
    expected = {table: len(OWNERS_ROWS.get(table, [""])) for table in schema_tables(warehouse)}
    with read_as(warehouse, person("admin")) as conn:
        counts = {table: rows(conn, f'SELECT count(*) FROM "{table}"')[0][0] for table in expected}
    assert counts == expected


@pytest.mark.postgres
@pytest.mark.parametrize("role", ["admin", "manager", "staff"])
def test_no_role_may_write_any_table(warehouse, read_as, role):
    who = person(role, AMY if role == "staff" else None)
    tables = schema_tables(warehouse)
    writes = [
        'INSERT INTO "{t}" DEFAULT VALUES',
        'UPDATE "{t}" SET "{c}" = "{c}"',
        'DELETE FROM "{t}"',
        'TRUNCATE "{t}"',
    ]
    first_column = {
        t: (WAREHOUSE.tables[t].columns[0].name if t in WAREHOUSE.tables else "version_num") for t in tables
    }
    with read_as(warehouse, who) as conn:
        allowed = [
            write.format(t=t, c=first_column[t])
            for t in tables
            for write in writes
            if not refused(conn, write.format(t=t, c=first_column[t]))
        ]
    assert allowed == []
    with warehouse.engine.connect() as conn:  # and every row is still there
        assert staff_ids(conn, "raw_staff") == sorted(OWNERS_ROWS["raw_staff"])


@pytest.mark.postgres
def test_a_staff_account_and_a_manager_account_try_each_others_data(warehouse):
    """Real accounts and sessions: what each may not read is refused by the server itself."""
    amy = accounts.add(warehouse, "amy@backroom.test", "Amy", "staff", NOW, staff_id=AMY).person
    jo = accounts.add(warehouse, "jo@backroom.test", "Jo", "manager", NOW).person
    for who in (amy, jo):
        sessions.open_session(warehouse, who, "password", NOW)
    managers_figures = [
        "daily_aggregations",
        "kpi_calculations",
        "report_generation_history",
        "report_deliveries",
    ]
    with as_person(warehouse, amy) as conn:
        for table in managers_figures:
            assert refused(conn, f"SELECT * FROM {table}"), table
        assert refused(conn, f"SELECT * FROM portal_users WHERE user_id = '{jo.user_id}'")
        assert refused(conn, f"SELECT * FROM portal_sessions WHERE user_id = '{jo.user_id}'")
    with as_person(warehouse, jo) as conn:
        # Staff performance is a manager's to read (people.py); Amy's account and session are not.
        assert AMY in staff_ids(conn, "staff_performance")
        assert refused(conn, f"SELECT * FROM portal_users WHERE user_id = '{amy.user_id}'")
        assert refused(conn, f"SELECT * FROM portal_sessions WHERE user_id = '{amy.user_id}'")
        for table in managers_figures:
            assert len(rows(conn, f"SELECT * FROM {table}")) == 1, table


@pytest.mark.postgres
def test_the_staff_id_is_the_apps_word_not_the_persons(warehouse):
    """The trust boundary (docs/portal.md): the setting and the role are the app's to set.
    Whoever could run their own SQL on the app's connection could change either; a person
    only ever reaches the database through queries the app composes."""
    with as_person(warehouse, person("staff", AMY)) as conn:
        conn.execute(sa.select(sa.func.set_config("backroom.staff_id", BEN, True)))
        assert staff_ids(conn, "raw_staff") == [BEN]
        conn.exec_driver_sql("RESET ROLE")
        assert rows(conn, "SELECT count(*) FROM raw_customers") == [(1,)]


@pytest.mark.postgres
def test_every_warehouse_table_is_classified(postgres_url):
    """Read by the admin; by managers unless admin-only; by staff only if a staff table, under
    a policy; written by no role. A table a later migration adds without a decision fails here."""
    upgrade(postgres_url)
    engine = sa.create_engine(postgres_url, connect_args={"options": f"-csearch_path={REPORTING_SCHEMA}"})
    found, expected = {}, {}
    with engine.connect() as conn:
        for table in sorted(WAREHOUSE.tables):
            privilege = {
                role: conn.execute(
                    sa.text("SELECT has_table_privilege(:role, :table, 'SELECT')"),
                    {"role": role, "table": table},
                ).scalar_one()
                for role in sorted(set(ROLE_OF.values()))
            }
            manager_columns = conn.execute(
                sa.text("SELECT has_any_column_privilege('reporting_manager', :table, 'SELECT')"),
                {"table": table},
            ).scalar_one()
            writes = conn.execute(
                sa.text(
                    "SELECT bool_or(has_table_privilege(r, :table, p)) FROM unnest(ARRAY["
                    "'reporting_admin', 'reporting_manager', 'reporting_staff']) r, "
                    "unnest(ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) p"
                ),
                {"table": table},
            ).scalar_one()
            guarded = conn.execute(
                sa.text("SELECT relrowsecurity FROM pg_class WHERE oid = to_regclass(:table)"),
                {"table": table},
            ).scalar_one()
            found[table] = (privilege, manager_columns, writes, guarded)
            whole_table = table not in ADMIN_ONLY and table not in WITHHELD
            expected[table] = (
                {
                    "reporting_admin": True,
                    "reporting_manager": whole_table,
                    "reporting_staff": table in STAFF_ROWS,
                },
                table not in ADMIN_ONLY,
                False,
                table in ADMIN_ONLY | STAFF_ROWS,
            )
    engine.dispose()
    assert found == expected


def migration_0016():
    return ScriptDirectory.from_config(alembic_config()).get_revision("0016_portal_people").module


@pytest.fixture
def warehouse_user(postgres_admin) -> Iterator[Callable[..., list[str]]]:
    """A login of its own, owning nothing, and `count` empty databases it may build a warehouse in:
    as a DBA would set up a production warehouse user, with or without CREATEROLE."""
    made: list[tuple[str, list[str]]] = []

    def make(*, createrole: bool, count: int = 1) -> list[str]:
        user = f"bt_user_{uuid.uuid4().hex[:8]}"
        names = [f"bt_{uuid.uuid4().hex[:12]}" for _ in range(count)]
        made.append((user, names))
        with postgres_admin.connect() as conn:
            create = "CREATEROLE" if createrole else "NOCREATEROLE"
            conn.exec_driver_sql(f"CREATE ROLE {user} LOGIN {create} PASSWORD '{user}'")
            for name in names:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
                conn.exec_driver_sql(f'GRANT CREATE ON DATABASE "{name}" TO {user}')
        url = postgres_admin.url.set(username=user, password=user)
        return [url.set(database=name).render_as_string(hide_password=False) for name in names]

    yield make
    with postgres_admin.connect() as conn:
        for user, names in made:
            for name in names:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f"DROP ROLE IF EXISTS {user}")


def may_set_role(url: str, role: str) -> bool:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(f"SELECT pg_has_role(current_user, '{role}', 'MEMBER')")).scalar_one()
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_two_migrations_creating_the_same_role_at_once_both_succeed(postgres_admin):
    """The second waits on the first's uncommitted role, then finds it there: no error."""
    role = f"bt_role_{uuid.uuid4().hex[:8]}"
    sql = sa.text(migration_0016().ensure_role(role))
    engine = sa.create_engine(postgres_admin.url, poolclass=sa.pool.NullPool)
    failures: list[BaseException] = []
    try:
        with engine.connect() as first, engine.connect() as second:
            second_pid = second.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
            first.execute(sql)  # the role is created, not yet committed

            def migrate_second() -> None:
                try:
                    second.execute(sql)
                    second.commit()
                except BaseException as exc:
                    failures.append(exc)

            racer = threading.Thread(target=migrate_second)
            racer.start()
            waiting = sa.text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid")
            deadline = time.monotonic() + 30
            with postgres_admin.connect() as watch:
                while watch.execute(waiting, {"pid": second_pid}).scalar_one() != "Lock":
                    assert time.monotonic() < deadline, "the second migration never waited for the first"
                    time.sleep(0.05)
            first.commit()
            racer.join(30)
        assert failures == []
        assert may_set_role(postgres_admin.url, role)
    finally:
        engine.dispose()
        with postgres_admin.connect() as conn:
            conn.exec_driver_sql(f"DROP ROLE IF EXISTS {role}")


@pytest.mark.postgres
def test_warehouses_on_one_server_migrate_at_once(warehouse_user):
    """Four warehouses of one new user, migrated in four processes: each grants the shared
    roles to the user at the same moment, and all four reach head."""
    urls = warehouse_user(createrole=True, count=4)
    with ProcessPoolExecutor(len(urls), mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(upgrade, urls))
    assert [current_revisions(url) for url in urls] == [head_revisions()] * len(urls)
    assert all(may_set_role(urls[0], role) for role in sorted(set(ROLE_OF.values())))


@pytest.mark.postgres
def test_a_warehouse_user_that_may_not_create_roles_is_told_what_to_grant(warehouse_user, postgres_admin):
    with postgres_admin.connect() as conn:  # the roles are on the server, as another warehouse left them
        for role in sorted(set(ROLE_OF.values())):
            conn.execute(sa.text(migration_0016().ensure_role(role)))
    (url,) = warehouse_user(createrole=False)
    user = sa.make_url(url).username
    with pytest.raises(sa.exc.DBAPIError) as refusal:
        upgrade(url)
    assert (
        f"the warehouse user {user} may not create the role reporting_admin or grant it to itself: grant it "
        f"CREATEROLE, or create reporting_admin yourself and grant it to {user} (docs/portal.md, "
        "Row-level security)"
    ) in str(refusal.value)
    assert current_revisions(url) == frozenset()  # nothing half done

    with postgres_admin.connect() as conn:  # what docs/portal.md tells the DBA to do
        conn.exec_driver_sql(f"GRANT reporting_admin, reporting_manager, reporting_staff TO {user}")
    upgrade(url)
    assert current_revisions(url) == head_revisions()


def security_of(url: str) -> dict[str, list]:
    """The reporting schema's policies, tables under RLS, grants to the roles and default privileges."""
    queries = {
        "policies": "SELECT tablename, policyname, roles::text, qual FROM pg_policies "
        "WHERE schemaname = 'reporting'",
        "guarded": "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE nspname = 'reporting' AND relrowsecurity",
        "tables": "SELECT grantee, table_name, privilege_type FROM information_schema.role_table_grants "
        "WHERE table_schema = 'reporting' AND grantee LIKE 'reporting\\_%'",
        "columns": "SELECT grantee, table_name, column_name FROM information_schema.column_privileges "
        "WHERE table_schema = 'reporting' AND grantee LIKE 'reporting\\_%'",
        "schema": "SELECT r FROM unnest(ARRAY['reporting_admin', 'reporting_manager', 'reporting_staff']) r "
        "WHERE has_schema_privilege(r, 'reporting', 'USAGE')",
        "defaults": "SELECT defaclacl::text FROM pg_default_acl "
        "WHERE defaclnamespace = 'reporting'::regnamespace",
    }
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return {name: sorted(conn.execute(sa.text(sql)).all()) for name, sql in queries.items()}
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_downgrading_removes_the_roles_reach_and_upgrading_restores_it(postgres_url):
    upgrade(postgres_url)
    at_head = security_of(postgres_url)
    assert all(at_head.values())
    command.downgrade(alembic_config(postgres_url), "0015_paging")
    assert security_of(postgres_url) == {name: [] for name in at_head}
    upgrade(postgres_url)
    assert security_of(postgres_url) == at_head


def test_on_sqlite_there_are_no_roles_and_the_apps_rules_are_the_only_guard(tmp_path):
    """as_person works on SQLite, but reads whatever the query asks: people.py is all there is."""
    url = f"sqlite:///{tmp_path}/warehouse.db"
    upgrade(url)
    db = Database(url)
    customers, staff = WAREHOUSE.tables["raw_customers"], WAREHOUSE.tables["raw_staff"]
    with db.engine.begin() as conn:
        conn.execute(sa.insert(customers), [a_row(customers, "")])
        conn.execute(sa.insert(staff), [a_row(staff, AMY), a_row(staff, BEN)])
    with as_person(db, person("staff", AMY)) as conn:
        assert len(conn.execute(sa.select(customers)).all()) == 1
        assert sorted(conn.execute(sa.select(staff.c.staff_id)).scalars()) == [AMY, BEN]
        conn.execute(sa.delete(staff))  # and nothing done as a person is kept
    with db.engine.connect() as conn:
        assert sorted(conn.execute(sa.select(staff.c.staff_id)).scalars()) == [AMY, BEN]
    db.close()
