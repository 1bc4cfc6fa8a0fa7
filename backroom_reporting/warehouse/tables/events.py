"""Event performance analytics and the revenue forecast."""

import sqlalchemy as sa  # noqa: F401

from backroom_reporting.warehouse.tables.metadata import WAREHOUSE  # noqa: F401
