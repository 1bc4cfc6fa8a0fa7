"""portal people: accounts, sessions, the access log, account API tokens; on PostgreSQL the
database roles and row-level security the web app's requests run under

The web app runs each request as the signed-in person's database role (docs/portal.md):
reporting_admin reads every table; reporting_manager every table but the customer-level
ones and the app's own accounts, sessions, tokens and log (and no webhook signing secret);
reporting_staff only the staff tables, and there only the rows of the staff member named by
the session setting backroom.staff_id. Managers read the raw facts without the customer each
is about, and subscriptions without their webhook secrets. A table a later migration adds is
readable by reporting_admin only until that migration grants it further. Roles belong to the
whole server, so they are created once and shared by every warehouse on it; downgrading
drops the policies and grants, not the roles.

Revision ID: 0016_portal_people
Revises: 0015_paging
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backroom_reporting.warehouse.types

revision: str = "0016_portal_people"
down_revision: str | None = "0015_paging"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Number = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Timestamp = backroom_reporting.warehouse.types.UtcTimestamp(timezone=True)

ADMIN, MANAGER, STAFF = "reporting_admin", "reporting_manager", "reporting_staff"
# Customers' rows, and the app's own secrets and log: the admin role only.
ADMIN_ONLY = (
    "raw_customers",
    "customer_visits",
    "customer_analytics",
    "top_customers",
    "raw_quarantine",
    "portal_users",
    "portal_sessions",
    "api_tokens",
    "access_log",
)
# Rows about one staff member: each staff member sees their own, managers and admins all.
STAFF_ROWS = ("staff_performance", "raw_staff_shifts", "raw_staff")
# Columns the manager may not read in a table it otherwise reads: the webhooks' signing
# secrets, and which customer a fact is about (the figures need the fact, not the person).
WITHHELD_COLUMNS = {
    "report_subscriptions": ("webhook_secret", "webhook_previous_secret"),
    **{
        f"raw_{facts}": ("customer_id",)
        for facts in ("bookings", "payments", "ticket_sales", "check_ins", "feedback")
    },
}


def upgrade() -> None:
    op.create_table(
        "portal_users",
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("staff_id", sa.Text(), nullable=True),
        sa.Column("venue_ids", sa.Text(), nullable=True),
        sa.Column("password_hash", sa.Text(), nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("disabled_at", Timestamp, nullable=True),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_portal_users")),
        sa.UniqueConstraint("email"),
    )
    op.create_table(
        "portal_sessions",
        sa.Column("session_sha256", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("csrf_token", sa.Text(), nullable=False),
        sa.Column("how", sa.Text(), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("expires_at", Timestamp, nullable=False),
        sa.Column("ended_at", Timestamp, nullable=True),
        sa.PrimaryKeyConstraint("session_sha256", name=op.f("pk_portal_sessions")),
    )
    with op.batch_alter_table("portal_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_portal_sessions_user_id"), ["user_id"], unique=False)
    op.create_table(
        "access_log",
        sa.Column("entry_id", Number, autoincrement=True, nullable=False),
        sa.Column("at", Timestamp, nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("previous_hash", sa.Text(), nullable=False),
        sa.Column("entry_hash", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("entry_id", name=op.f("pk_access_log")),
        sa.UniqueConstraint("previous_hash"),
        sa.UniqueConstraint("entry_hash"),
    )
    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_access_log_at"), ["at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_access_log_actor_action_at"), ["actor", "action", "at"], unique=False
        )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("user_id", sa.Text(), nullable=True))
        batch_op.alter_column("recipient_id", existing_type=sa.Text(), nullable=True)

    if op.get_bind().dialect.name == "postgresql":
        _grant_and_guard()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _revoke()
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.alter_column("recipient_id", existing_type=sa.Text(), nullable=False)
        batch_op.drop_column("user_id")
    op.drop_table("access_log")
    op.drop_table("portal_sessions")
    op.drop_table("portal_users")


def _schema() -> str:
    return op.get_bind().exec_driver_sql("SELECT current_schema()").scalar_one()


def _tables(schema: str) -> list[str]:
    return list(
        op.get_bind()
        .exec_driver_sql(
            "SELECT tablename FROM pg_tables WHERE schemaname = %(schema)s ORDER BY tablename",
            {"schema": schema},
        )
        .scalars()
    )


def ensure_role(role: str) -> str:
    """SQL creating `role` unless the server has it, and letting the warehouse user SET ROLE to it.

    Roles belong to the whole server, so another warehouse's migration may be creating the
    same role at this moment: its CREATE ROLE or GRANT waits for ours to commit and then
    finds the row there (unique_violation or duplicate_object), which is what we wanted.
    PostgreSQL 16 gives a role's creator only the ADMIN option, not the right to SET ROLE,
    so the test is `SET` there and `MEMBER` before."""
    return f"""
        DO $$
        BEGIN
          BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN
              CREATE ROLE {role} NOLOGIN;
            END IF;
          EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
          END;
          IF NOT pg_has_role(current_user, '{role}', CASE
              WHEN current_setting('server_version_num')::int >= 160000 THEN 'SET' ELSE 'MEMBER' END) THEN
            BEGIN
              EXECUTE format('GRANT {role} TO %I', current_user);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
            END;
          END IF;
        EXCEPTION WHEN insufficient_privilege THEN
          RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege', MESSAGE = format(
            'the warehouse user %s may not create the role {role} or grant it to itself: grant it '
            'CREATEROLE, or create {role} yourself and grant it to %s (docs/portal.md, '
            'Row-level security)', current_user, current_user);
        END $$
        """


def _columns(schema: str, table: str) -> list[str]:
    return list(
        op.get_bind()
        .exec_driver_sql(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = %(schema)s AND table_name = %(table)s ORDER BY ordinal_position",
            {"schema": schema, "table": table},
        )
        .scalars()
    )


def _grant_and_guard() -> None:
    for role in (ADMIN, MANAGER, STAFF):
        op.execute(ensure_role(role))
    schema = _schema()
    op.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO {ADMIN}, {MANAGER}, {STAFF}')
    # A table a later migration adds is the admin's until that migration grants it further.
    op.execute(f'ALTER DEFAULT PRIVILEGES IN SCHEMA "{schema}" GRANT SELECT ON TABLES TO {ADMIN}')
    for table in _tables(schema):
        op.execute(f'GRANT SELECT ON "{table}" TO {ADMIN}')
        if table in STAFF_ROWS:
            op.execute(f'GRANT SELECT ON "{table}" TO {MANAGER}, {STAFF}')
        elif table in WITHHELD_COLUMNS:
            readable = [c for c in _columns(schema, table) if c not in WITHHELD_COLUMNS[table]]
            columns = ", ".join(f'"{c}"' for c in readable)
            op.execute(f'GRANT SELECT ({columns}) ON "{table}" TO {MANAGER}')
        elif table not in ADMIN_ONLY:
            op.execute(f'GRANT SELECT ON "{table}" TO {MANAGER}')
    for table in STAFF_ROWS:
        op.execute(f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY')
        op.execute(f'CREATE POLICY every_row ON "{table}" FOR SELECT TO {ADMIN}, {MANAGER} USING (true)')
        # An unset or empty setting matches no row, not a row whose staff_id is ''.
        op.execute(
            f'CREATE POLICY own_rows ON "{table}" FOR SELECT TO {STAFF} '
            "USING (staff_id = NULLIF(current_setting('backroom.staff_id', true), ''))"
        )
    for table in ADMIN_ONLY:
        op.execute(f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY')
        op.execute(f'CREATE POLICY admin_only ON "{table}" FOR SELECT TO {ADMIN} USING (true)')


def _revoke() -> None:
    schema = _schema()
    for table in STAFF_ROWS:
        op.execute(f'DROP POLICY IF EXISTS every_row ON "{table}"')
        op.execute(f'DROP POLICY IF EXISTS own_rows ON "{table}"')
        op.execute(f'ALTER TABLE "{table}" DISABLE ROW LEVEL SECURITY')
    for table in ADMIN_ONLY:
        if table in ("portal_users", "portal_sessions", "access_log"):
            continue  # dropped with their tables
        op.execute(f'DROP POLICY IF EXISTS admin_only ON "{table}"')
        op.execute(f'ALTER TABLE "{table}" DISABLE ROW LEVEL SECURITY')
    op.execute(f'ALTER DEFAULT PRIVILEGES IN SCHEMA "{schema}" REVOKE SELECT ON TABLES FROM {ADMIN}')
    for table in _tables(schema):
        op.execute(f'REVOKE ALL ON "{table}" FROM {ADMIN}, {MANAGER}, {STAFF}')
    op.execute(f'REVOKE USAGE ON SCHEMA "{schema}" FROM {ADMIN}, {MANAGER}, {STAFF}')
