"""Customer analytics (pseudonymous), top customers and staff performance."""

import sqlalchemy as sa  # noqa: F401

from backroom_reporting.warehouse.tables.metadata import WAREHOUSE  # noqa: F401
