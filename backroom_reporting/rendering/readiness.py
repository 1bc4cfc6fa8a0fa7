"""Whether a period's figures may be reported: every night final and checked.

A night not loaded and a night the venue was closed look alike in daily_aggregations (no
row); night_status tells them apart, so a report never says "closed" about a night whose
figures simply have not arrived.
"""

from __future__ import annotations

import datetime as dt

from backroom_reporting.metrics.business_time import BusinessWindow
from backroom_reporting.metrics.nights import night_statuses, readiness
from backroom_reporting.warehouse.database import Database
from backroom_reporting.warehouse.tables.aggregations import night_status


def not_ready(db: Database, first_day: dt.date, last_day: dt.date) -> str | None:
    """Why the figures of first_day..last_day are not ready (the first night that is not),
    in one sentence; None when every night is."""
    rows = db.read_table(night_status, night_status.c.business_date.between(first_day, last_day))
    statuses = night_statuses(rows)
    for night in BusinessWindow(first_day, last_day).days:
        problem = readiness(statuses.get(night), night)
        if problem:
            return problem
    return None
