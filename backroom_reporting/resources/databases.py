"""The two databases the platform reads and writes, as Dagster resources.

Each resolves its URL when a run starts: from its config when set, else from the
environment (see settings.py), so loading the code location reads no environment.
"""

from __future__ import annotations

import dagster as dg
from pydantic import PrivateAttr

from backroom_reporting import settings
from backroom_reporting.warehouse.connections import REPORTING_SCHEMA
from backroom_reporting.warehouse.database import Database
from backroom_reporting.warehouse.faults import Fault, Place


class _DatabaseResource(dg.ConfigurableResource):
    url: str | None = None
    _db: Database | None = PrivateAttr(default=None)

    def database(self) -> Database:
        if self._db is None:
            raise RuntimeError(f"{type(self).__name__} used outside a run")
        return self._db

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._db is not None:
            self._db.close()


def _place(what: str, setting: settings.Setting, url: str) -> Place:
    return Place(what, url, setting.env)


class BookingSystemResource(_DatabaseResource):
    """The booking system's database: the source contract's twelve tables, read only."""

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        url = self.url or settings.SOURCE_URL.get()
        # Read only: a mistyped SQLite path must not become an empty booking system.
        self._db = Database(
            url, place=_place("the booking system", settings.SOURCE_URL, url), must_exist=True
        )


class WarehouseResource(_DatabaseResource):
    """The reporting warehouse: raw layer, aggregations, analytics and report history."""

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        # Alembic is imported here, not at load: the code location has no use for it.
        from backroom_reporting.warehouse.migrate import SchemaOutOfDate, require_schema_at_head

        url = self.url or settings.WAREHOUSE_URL.get()
        self._db = Database(
            url,
            search_path=REPORTING_SCHEMA,
            place=_place("the warehouse", settings.WAREHOUSE_URL, url),
            must_exist=True,
        )
        try:
            require_schema_at_head(self._db)
        except SchemaOutOfDate as exc:
            raise dg.Failure(str(exc), allow_retries=False) from exc
        except Fault as fault:
            raise dg.Failure(fault.sentence, allow_retries=fault.transient) from fault
