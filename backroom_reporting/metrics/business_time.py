"""Which business day a moment belongs to.

A night is one business day: Saturday 23:00 and Sunday 03:00 both belong to Saturday.
The arithmetic is done on the local wall clock, not on elapsed time, so the DST nights
come out right: on 2026-03-29 local 05:30 is still Saturday's night and 06:30 is Sunday,
although only five real hours separate 00:30 and 06:30 that morning.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import polars as pl

VENUE_TIMEZONE = "Europe/London"
DEFAULT_CUTOFF = dt.time(6, 0)
# The venue-nights a range run (a backfill) holds in memory at once: two weeks of 25
# venues, about 160,000 door scans, so a year's run stays well within its memory budget.
CHUNK_VENUE_NIGHTS = 350


def bank_holidays(first: dt.date, last: dt.date) -> dict[dt.date, str]:
    """The bank holidays of England and Wales from `first` to `last`, with their names (the
    `holidays` package, GB subdivision ENG; Wales keeps the same days). A substitute day is
    named "... (observed)"."""
    import holidays

    found = holidays.country_holidays("GB", subdiv="ENG", years=range(first.year, last.year + 1))
    return {day: name for day, name in sorted(found.items()) if first <= day <= last}


def bank_holiday_sundays(first: dt.date, last: dt.date) -> set[dt.date]:
    """Sundays from `first` to `last` followed by an English bank-holiday Monday: the
    nights a club opens on a Sunday."""
    mondays = bank_holidays(first + dt.timedelta(days=1), last + dt.timedelta(days=1))
    return {day - dt.timedelta(days=1) for day in mondays if day.weekday() == 0}


def parse_cutoff(text: str) -> dt.time:
    """'HH:MM' -> time; raises ValueError with the offending text."""
    try:
        hours, minutes = text.split(":")
        return dt.time(int(hours), int(minutes))
    except (ValueError, AttributeError) as exc:
        raise ValueError(f"business_day_cutoff {text!r} is not HH:MM") from exc


def business_date(
    instant: pl.Expr, timezone: str = VENUE_TIMEZONE, cutoff: dt.time = DEFAULT_CUTOFF
) -> pl.Expr:
    """The business date of a UTC instant: local wall-clock time minus the cutoff."""
    wall_clock = instant.dt.convert_time_zone(timezone).dt.replace_time_zone(None)
    shift = dt.timedelta(hours=cutoff.hour, minutes=cutoff.minute)
    return (wall_clock - shift).dt.date()


def local_hour(instant: pl.Expr, timezone: str = VENUE_TIMEZONE) -> pl.Expr:
    """The local clock hour (0-23) of a UTC instant."""
    return instant.dt.convert_time_zone(timezone).dt.hour()


def with_business_date(
    frame: pl.DataFrame, instant_column: str, venues: pl.DataFrame, *, alias: str = "business_date"
) -> pl.DataFrame:
    """Add each row's business date from its venue's timezone and cutoff.

    `venues` holds venue_id, timezone and business_day_cutoff; every venue_id in `frame`
    must be among them.
    """
    settings = venues.select("venue_id", "timezone", "business_day_cutoff").unique("venue_id")
    parts = []
    for (timezone, cutoff), group in settings.group_by(
        "timezone", "business_day_cutoff", maintain_order=True
    ):
        rows = frame.filter(pl.col("venue_id").is_in(group["venue_id"].implode()))
        parts.append(
            rows.with_columns(
                business_date(pl.col(instant_column), timezone, parse_cutoff(cutoff)).alias(alias)
            )
        )
    if not parts:
        return frame.with_columns(pl.lit(None, pl.Date).alias(alias))
    out = pl.concat(parts)
    if out.height != frame.height:
        unknown = set(frame["venue_id"].unique()) - set(settings["venue_id"])
        raise ValueError(f"rows name venues with no settings: {sorted(map(str, unknown))}")
    return out


@dataclass(frozen=True)
class BusinessWindow:
    """A run of whole business days: [start, end) in time, first_day..last_day in dates.

    Built from the platform's partition cutoff (06:00 London), the same boundaries as
    the business-day partitions, so one window is one partition range.
    """

    first_day: dt.date
    last_day: dt.date

    def __post_init__(self) -> None:
        if self.last_day < self.first_day:
            raise ValueError(f"window ends ({self.last_day}) before it starts ({self.first_day})")

    @classmethod
    def from_instants(cls, start: dt.datetime, end: dt.datetime) -> BusinessWindow:
        london = ZoneInfo(VENUE_TIMEZONE)
        # Wall-clock arithmetic on aware datetimes: a day back from 06:00 is 06:00.
        return cls(start.astimezone(london).date(), (end.astimezone(london) - dt.timedelta(days=1)).date())

    @property
    def start(self) -> dt.datetime:
        return _opening_of(self.first_day)

    @property
    def end(self) -> dt.datetime:
        return _opening_of(self.last_day + dt.timedelta(days=1))

    @property
    def days(self) -> list[dt.date]:
        return [
            self.first_day + dt.timedelta(days=i) for i in range((self.last_day - self.first_day).days + 1)
        ]

    def split(self, nights: int) -> list[BusinessWindow]:
        """The window as consecutive windows of at most `nights` nights, in order (from a
        week's first night, 7 gives its weeks)."""
        return [
            BusinessWindow(day, min(day + dt.timedelta(days=nights - 1), self.last_day))
            for day in self.days[::nights]
        ]

    def chunks(self, venues: int) -> list[BusinessWindow]:
        """The window in the chunks a range run reads and writes one at a time: at most
        CHUNK_VENUE_NIGHTS venue-nights of `venues` each (and at least a night)."""
        return self.split(max(1, CHUNK_VENUE_NIGHTS // max(1, venues)))

    def __str__(self) -> str:
        if self.first_day == self.last_day:
            return self.first_day.isoformat()
        return f"{self.first_day.isoformat()}..{self.last_day.isoformat()}"


def _opening_of(day: dt.date) -> dt.datetime:
    """The UTC instant business day `day` begins at."""
    local = dt.datetime.combine(day, DEFAULT_CUTOFF, tzinfo=ZoneInfo(VENUE_TIMEZONE))
    return local.astimezone(dt.UTC)


def last_closed_business_day(now: dt.datetime) -> dt.date:
    """The latest business day whose night is over (it closes at the cutoff next morning)."""
    local = now.astimezone(ZoneInfo(VENUE_TIMEZONE)).replace(tzinfo=None)
    return (
        local - dt.timedelta(hours=DEFAULT_CUTOFF.hour, minutes=DEFAULT_CUTOFF.minute)
    ).date() - dt.timedelta(days=1)
