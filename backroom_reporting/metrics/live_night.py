"""The live night: the open night's figures so far, from its raw rows (docs/portal.md).

A venue's night as the open-night refresh leaves it in the raw layer: the people inside now,
the admissions of each quarter of an hour, and the takings so far against the same night a
week before at the same time. Every figure follows the daily definitions of docs/metrics.md,
restricted to the facts up to the moment asked about.

"The same time" a week before is read on London's clock, not as time elapsed since 06:00:
doors, last orders and closing follow the clock, so at 02:30 on the spring-forward night the
comparison is with 02:30 a week before, when the night had traded as long by the clock,
although an hour more had passed. When the clock showed that time twice a week before (the
fall-back night, 01:00-02:00), the comparison runs to the second time; when it never showed
it (the spring-forward night, 01:00-02:00), to the moment the clocks went forward.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

import polars as pl

from backroom_reporting.metrics.business_time import VENUE_TIMEZONE, BusinessWindow
from backroom_reporting.metrics.daily import tickets_by_night
from backroom_reporting.metrics.hourly import business_date_of
from backroom_reporting.metrics.money import WIDE, money_sum
from backroom_reporting.metrics.occupancy import running_occupancy

LONDON = ZoneInfo(VENUE_TIMEZONE)
SLOT = dt.timedelta(minutes=15)
A_WEEK = dt.timedelta(days=7)


@dataclasses.dataclass(frozen=True)
class LiveFacts:
    """One venue's raw rows of the open night and of the same night a week before, each with
    its business_date as the raw layer holds it.

    check_ins: venue_id, check_in_id, direction, scanned_at; bar_transactions: booking_id,
    amount_pence, occurred_at; ticket_sales: event_id, status, gross_pence, fee_pence,
    purchased_at (the tickets for the two nights' events whenever bought, and those bought on
    them); event_nights: event_id, night, for every event the tickets name that raw_events
    holds.
    """

    check_ins: pl.DataFrame
    bar_transactions: pl.DataFrame
    ticket_sales: pl.DataFrame
    event_nights: pl.DataFrame


@dataclasses.dataclass(frozen=True)
class Takings:
    """Revenue so far, in pence, by the daily definitions (gross revenue is their sum)."""

    bar_pence: int
    table_pence: int
    ticket_pence: int

    @property
    def total_pence(self) -> int:
        return self.bar_pence + self.table_pence + self.ticket_pence


@dataclasses.dataclass(frozen=True)
class Slot:
    """A quarter of an hour of the night: its UTC start, its London clock time, the people let in."""

    starts_at: dt.datetime
    clock: str
    admitted: int


@dataclasses.dataclass(frozen=True)
class LiveNight:
    night: dt.date
    as_of: dt.datetime
    occupancy: int
    admitted: int
    admissions: tuple[Slot, ...]
    takings: Takings
    last_week: Takings
    last_week_by: str  # London's clock a week before, e.g. "02:30"

    @property
    def change(self) -> float | None:
        """(tonight - last week) / last week; None when last week took nothing by this time."""
        before = self.last_week.total_pence
        return (self.takings.total_pence - before) / abs(before) if before else None


def open_night(moment: dt.datetime) -> BusinessWindow:
    """The business day trading at `moment`: it began at the last 06:00 London time."""
    day = business_date_of(moment)
    return BusinessWindow(day, day)


def by_now(instant: pl.Expr, now: dt.datetime) -> pl.Expr:
    """Facts that had happened at `now`."""
    return instant <= now


def by_the_clock_a_week_before(instant: pl.Expr, now: dt.datetime) -> pl.Expr:
    """Facts that had happened, a week before `now`, by the last time London's clock showed
    the time it shows at `now` (see the module's docstring for the nights the clocks change)."""
    clock = now.astimezone(LONDON).replace(tzinfo=None) - A_WEEK
    # fold=1: of two moments showing that time, the later; of none (the clocks went forward
    # past it), a moment before the jump, after which any fact showing an earlier time counts.
    latest = clock.replace(tzinfo=LONDON, fold=1).astimezone(dt.UTC)
    wall_clock = instant.dt.convert_time_zone(VENUE_TIMEZONE).dt.replace_time_zone(None)
    return (instant <= latest) | (wall_clock <= clock)


def occupancy_now(check_ins: pl.DataFrame, night: dt.date, now: dt.datetime) -> int:
    """The running occupancy just after the night's last scan up to `now` (0 before any)."""
    scans = _of_the_night(check_ins, night).filter(by_now(pl.col("scanned_at"), now))
    return int(running_occupancy(scans)["occupancy"][-1]) if scans.height else 0


def admissions_by_slot(check_ins: pl.DataFrame, night: dt.date, now: dt.datetime) -> tuple[Slot, ...]:
    """`in` scans of each quarter hour, from the first admission's to the one `now` is in
    (quarters with none included); none before anyone was let in. London's offset is whole
    hours, so UTC quarters are London's; 01:00-01:15 shows twice on the fall-back night."""
    scans = _of_the_night(check_ins, night).filter(
        (pl.col("direction") == "in") & by_now(pl.col("scanned_at"), now)
    )
    if scans.is_empty():
        return ()
    counts = scans.group_by(pl.col("scanned_at").dt.truncate("15m").alias("starts_at")).len()
    first, last = counts["starts_at"].min(), _quarter_of(now)
    quarters = pl.datetime_range(first, last, "15m", time_unit="us", time_zone="UTC", eager=True)
    slots = (
        pl.DataFrame({"starts_at": quarters})
        .join(counts, on="starts_at", how="left")
        .with_columns(pl.col("len").fill_null(0))
    )
    return tuple(
        Slot(start, f"{start.astimezone(LONDON):%H:%M}", admitted)
        for start, admitted in slots.select("starts_at", "len").iter_rows()
    )


def takings(facts: LiveFacts, night: dt.date, happened: Callable[[pl.Expr], pl.Expr]) -> Takings:
    """Bar, table and ticket revenue of `night` from the facts that `happened` (given their
    time): sales by when they were rung up, tickets by when they were bought."""
    bar = _of_the_night(facts.bar_transactions, night).filter(happened(pl.col("occurred_at")))
    on_tab = pl.col("booking_id").is_not_null()
    tickets = tickets_by_night(facts.ticket_sales, facts.event_nights)
    paid = _of_the_night(tickets, night).filter(
        (pl.col("status") == "paid") & happened(pl.col("purchased_at"))
    )
    ticket_net = money_sum(pl.col("gross_pence").cast(WIDE) - pl.col("fee_pence"))
    return Takings(
        bar_pence=int(bar.filter(~on_tab).select(money_sum(pl.col("amount_pence"))).item()),
        table_pence=int(bar.filter(on_tab).select(money_sum(pl.col("amount_pence"))).item()),
        ticket_pence=int(paid.select(ticket_net).item()),
    )


def live_night(facts: LiveFacts, now: dt.datetime) -> LiveNight:
    """The open night at `now`, and the same night a week before by the same time of night."""
    night = open_night(now).first_day
    week_before = night - A_WEEK
    admissions = admissions_by_slot(facts.check_ins, night, now)
    return LiveNight(
        night=night,
        as_of=now,
        occupancy=occupancy_now(facts.check_ins, night, now),
        admitted=sum(slot.admitted for slot in admissions),
        admissions=admissions,
        takings=takings(facts, night, lambda at: by_now(at, now)),
        last_week=takings(facts, week_before, lambda at: by_the_clock_a_week_before(at, now)),
        last_week_by=f"{now.astimezone(LONDON):%H:%M}",
    )


def _of_the_night(frame: pl.DataFrame, night: dt.date) -> pl.DataFrame:
    return frame.filter(pl.col("business_date") == night)


def _quarter_of(moment: dt.datetime) -> dt.datetime:
    utc = moment.astimezone(dt.UTC)
    return utc.replace(minute=utc.minute - utc.minute % 15, second=0, microsecond=0)
