"""Reading the warehouse as the signed-in person: the database enforces their role.

On PostgreSQL each read runs in a transaction that first does `SET LOCAL ROLE` to the
person's database role and sets `backroom.staff_id`, so the grants and row-level security
policies of migration 0016 hold even if a route forgets a rule. SQLite has no roles: there
the rules in `people.py` are all there is (docs/portal.md says so).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import sqlalchemy as sa

from backroom_reporting.portal.people import Person
from backroom_reporting.warehouse.database import Database


@contextlib.contextmanager
def as_person(db: Database, person: Person) -> Iterator[sa.Connection]:
    """A connection reading as `person`, for one request; it ends with the block."""
    with db.engine.connect() as conn, conn.begin() as transaction:
        if db.dialect == "postgresql":
            # The role name comes from our own table, never from the request.
            conn.exec_driver_sql(f"SET LOCAL ROLE {person.database_role}")
            conn.execute(sa.select(sa.func.set_config("backroom.staff_id", person.staff_id or "", True)))
        yield conn
        # Reads only: nothing done as a person is ever kept.
        transaction.rollback()
