"""The warehouse's tables, as SQLAlchemy Core, one module per domain.

Alembic migrations create them; code reads and writes them. On PostgreSQL they live in
schema `reporting`, reached through search_path. Importing this package registers every
table on WAREHOUSE, which is what migrations are compared against.
"""

from backroom_reporting.warehouse.tables import (
    aggregations,
    alerts,
    connectors,
    customers,
    deliveries,
    events,
    kpis,
    operations,
    portal,
    raw,
    reports,
    stripe,
    subscriptions,
)
from backroom_reporting.warehouse.tables.metadata import WAREHOUSE

__all__ = [
    "WAREHOUSE",
    "aggregations",
    "alerts",
    "connectors",
    "customers",
    "deliveries",
    "events",
    "kpis",
    "operations",
    "portal",
    "raw",
    "reports",
    "stripe",
    "subscriptions",
]
