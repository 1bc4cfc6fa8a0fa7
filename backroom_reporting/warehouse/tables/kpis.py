"""KPI definitions, KPI calculations and the report metrics cache."""

import sqlalchemy as sa  # noqa: F401

from backroom_reporting.warehouse.tables.metadata import WAREHOUSE  # noqa: F401
