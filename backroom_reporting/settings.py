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

PSEUDONYM_KEY = Setting(
    "BACKROOM_PSEUDONYM_KEY",
    "backroom-demo-pseudonym-key",
    "Secret key of the keyed hash (HMAC-SHA256) that turns customer ids into analytics keys; "
    "set your own in production, and keep it: changing it changes every key.",
)

LAYOUTS_DIR = Setting(
    "BACKROOM_LAYOUTS_DIR",
    "report_layouts",
    "Folder of report layouts (YAML), their Jinja2 templates and stylesheet; a layout added "
    "here becomes a report with its own schedule.",
)
REPORT_STORE = Setting(
    "BACKROOM_REPORT_STORE",
    "var/reports",
    "Folder where rendered reports are kept, content-addressed (one file per distinct content).",
)

ALL = (SOURCE_URL, WAREHOUSE_URL, PSEUDONYM_KEY, LAYOUTS_DIR, REPORT_STORE)
