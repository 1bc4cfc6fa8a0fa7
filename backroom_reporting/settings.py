"""Every environment variable the platform reads, with its default, in one place.

Values are read when a resource or command runs, never at import time, so a code
location loads the same way whatever the environment holds. The README's
configuration table is this module written out.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Setting:
    env: str
    default: str
    help: str

    def get(self) -> str:
        return os.environ.get(self.env) or self.default


SOURCE_URL = Setting(
    "BACKROOM_SOURCE_URL",
    "sqlite:///var/booking.db",
    "SQLAlchemy URL of the booking system's database (the source contract).",
)
WAREHOUSE_URL = Setting(
    "BACKROOM_WAREHOUSE_URL",
    "sqlite:///var/warehouse.db",
    "SQLAlchemy URL of the reporting warehouse; on PostgreSQL its tables live in schema `reporting`.",
)

ALL = (SOURCE_URL, WAREHOUSE_URL)
