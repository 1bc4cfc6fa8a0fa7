"""The period a report covers: a business day, a business week (Monday to Sunday) or a month."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from backroom_reporting.metrics.business_time import last_closed_business_day
from backroom_reporting.rendering.sources import PeriodKind


@dataclass(frozen=True)
class ReportPeriod:
    kind: PeriodKind
    first_day: dt.date
    last_day: dt.date

    @property
    def label(self) -> str:
        if self.kind == "business_day":
            return f"{self.first_day:%A} {self.first_day.day} {self.first_day:%B %Y}"
        if self.kind == "business_week":
            return f"Week of {self.first_day:%A} {self.first_day.day} {self.first_day:%B %Y}"
        return f"{self.first_day:%B %Y}"

    @property
    def slug(self) -> str:
        """The period in a file name: 2026-11-28, 2026-W47 (ISO week, Monday to Sunday), 2026-11."""
        if self.kind == "business_day":
            return self.first_day.isoformat()
        if self.kind == "business_week":
            year, week, _ = self.first_day.isocalendar()
            return f"{year}-W{week:02d}"
        return f"{self.first_day:%Y-%m}"

    def before(self) -> ReportPeriod:
        """The period of the same kind just before this one."""
        return period_containing(self.kind, self.first_day - dt.timedelta(days=1))


def period_containing(kind: PeriodKind, day: dt.date) -> ReportPeriod:
    if kind == "business_day":
        return ReportPeriod(kind, day, day)
    if kind == "business_week":
        monday = day - dt.timedelta(days=day.weekday())
        return ReportPeriod(kind, monday, monday + dt.timedelta(days=6))
    first = day.replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return ReportPeriod(kind, first, following - dt.timedelta(days=1))


def latest_completed(kind: PeriodKind, now: dt.datetime) -> ReportPeriod:
    """The latest period of `kind` whose every business day has closed by `now`."""
    closed = last_closed_business_day(now)
    period = period_containing(kind, closed)
    return period if period.last_day <= closed else period.before()
