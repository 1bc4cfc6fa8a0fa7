"""daily_aggregations: one row per venue and business day with any fact (docs/metrics.md).

Every column is defined in docs/metrics.md; this is the only code
that computes them. Inputs are raw-layer rows carrying their business_date.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from backroom_reporting.metrics.money import WIDE, money_sum
from backroom_reporting.metrics.occupancy import daily_peaks, running_occupancy
from backroom_reporting.metrics.ratios import ratio
from backroom_reporting.warehouse.tables import aggregations as tables
from backroom_reporting.warehouse.types import table_schema

DAY = ["venue_id", "business_date"]


@dataclass(frozen=True)
class DayFacts:
    """Raw-layer rows of a window of business days (each with business_date)."""

    bookings: pl.DataFrame
    payments: pl.DataFrame
    ticket_sales: pl.DataFrame
    check_ins: pl.DataFrame
    bar_transactions: pl.DataFrame
    feedback: pl.DataFrame
    staff_shifts: pl.DataFrame

    def days(self) -> pl.DataFrame:
        """Every (venue, business day) on which any fact happened."""
        frames = (
            self.bookings,
            self.payments,
            self.ticket_sales,
            self.check_ins,
            self.bar_transactions,
            self.feedback,
            self.staff_shifts,
        )
        return pl.concat([f.select(DAY) for f in frames]).unique()


def tickets_by_night(tickets: pl.DataFrame, event_nights: pl.DataFrame) -> pl.DataFrame:
    """`tickets` with business_date moved to their event's night (the day bought when the
    event is unknown): a ticket's revenue belongs to the night it admits to.

    tickets: raw ticket_sales rows; event_nights: event_id, night."""
    return _moved_to_night(tickets, [(event_nights, "event_id")])


def feedback_by_night(
    feedback: pl.DataFrame, event_nights: pl.DataFrame, booking_nights: pl.DataFrame
) -> pl.DataFrame:
    """`feedback` with business_date moved to the night it is about: its event's night, else
    its booking's night, else the day it was submitted.

    event_nights: event_id, night; booking_nights: booking_id, night."""
    return _moved_to_night(feedback, [(event_nights, "event_id"), (booking_nights, "booking_id")])


def _moved_to_night(facts: pl.DataFrame, nights_by: list[tuple[pl.DataFrame, str]]) -> pl.DataFrame:
    """business_date replaced by the first known night among `nights_by` (key -> night)."""
    found = []
    for i, (nights, key) in enumerate(nights_by):
        name = f"_night_{i}"
        found.append(name)
        facts = facts.join(nights.select(key, pl.col("night").alias(name)).unique(key), on=key, how="left")
    return facts.with_columns(pl.coalesce(*found, "business_date").alias("business_date")).drop(found)


def trading() -> pl.Expr:
    """A trading night: the doors or the bar were open (not just online sales or feedback)."""
    return (pl.col("check_ins") > 0) | (pl.col("bar_revenue_pence") > 0) | (pl.col("table_revenue_pence") > 0)


def _per_day(frame: pl.DataFrame, where: pl.Expr, aggregate: pl.Expr) -> pl.DataFrame:
    return frame.filter(where).group_by(DAY).agg(aggregate)


def _revenue(facts: DayFacts, night_tickets: pl.DataFrame) -> list[pl.DataFrame]:
    bar, payments = facts.bar_transactions, facts.payments
    succeeded = pl.col("status") == "succeeded"
    paid = pl.col("status") == "paid"
    deposit = succeeded & (pl.col("kind") == "deposit")
    ticket_net = money_sum(pl.col("gross_pence").cast(WIDE) - pl.col("fee_pence"))
    return [
        _per_day(
            bar, pl.col("booking_id").is_null(), money_sum(pl.col("amount_pence")).alias("bar_revenue_pence")
        ),
        _per_day(
            bar,
            pl.col("booking_id").is_not_null(),
            money_sum(pl.col("amount_pence")).alias("table_revenue_pence"),
        ),
        _per_day(night_tickets, paid, ticket_net.alias("ticket_revenue_pence")),
        _per_day(night_tickets, paid, pl.col("quantity").sum().alias("tickets_sold")),
        _per_day(facts.ticket_sales, paid, ticket_net.alias("ticket_sales_taken_pence")),
        _per_day(payments, deposit, money_sum(pl.col("amount_pence")).alias("deposits_pence")),
        _per_day(payments, deposit, pl.len().alias("deposit_payments")),
        _per_day(
            payments,
            succeeded & (pl.col("kind") == "refund"),
            money_sum(pl.col("amount_pence")).alias("refunds_pence"),
        ),
    ]


def _bookings(bookings: pl.DataFrame) -> pl.DataFrame:
    status = pl.col("status")
    completed = status == "completed"
    not_cancelled = status != "cancelled"
    return bookings.group_by(DAY).agg(
        pl.len().alias("bookings_total"),
        status.is_in(["confirmed", "completed", "no_show"]).sum().alias("bookings_confirmed"),
        (status == "cancelled").sum().alias("bookings_cancelled"),
        (status == "no_show").sum().alias("no_shows"),
        completed.sum().alias("bookings_completed"),
        pl.col("party_size").filter(completed).sum().alias("covers"),
        pl.col("table_id")
        .filter(completed & pl.col("table_id").is_not_null())
        .n_unique()
        .alias("tables_used"),
        (not_cancelled & (pl.col("special_occasion") == "birthday")).sum().alias("birthdays"),
        (not_cancelled & (pl.col("special_occasion") == "anniversary")).sum().alias("anniversaries"),
    )


def _door(check_ins: pl.DataFrame) -> list[pl.DataFrame]:
    counts = check_ins.group_by(DAY).agg(
        (pl.col("direction") == "in").sum().alias("check_ins"),
        (pl.col("direction") == "out").sum().alias("check_outs"),
    )
    return [counts, daily_peaks(running_occupancy(check_ins))]


def _visitors(visits: pl.DataFrame, new_and_returning: pl.DataFrame) -> list[pl.DataFrame]:
    visited = visits.filter(pl.col("visited"))
    return [
        visited.group_by(DAY).agg(
            pl.col("customer_id").n_unique().alias("visitors"),
            pl.col("customer_id").filter(pl.col("is_vip")).n_unique().alias("vip_customers"),
        ),
        new_and_returning,
    ]


def _feedback(feedback: pl.DataFrame) -> pl.DataFrame:
    return feedback.group_by(DAY).agg(
        pl.col("score").mean().alias("avg_satisfaction"), pl.len().alias("feedback_count")
    )


# Counts and sums of facts are 0 on a day with none of them; peak_hour stays null, and gross
# and net revenue are computed from the sums. Money stays 128-bit until it is checked.
NOT_COUNTED = {"peak_hour", "gross_revenue_pence", "net_revenue_pence"}
COUNTED = [
    c
    for c, t in table_schema(tables.daily_aggregations).items()
    if t == pl.Int64 and c not in NOT_COUNTED and c not in tables.DAILY_MONEY
]
SUMMED_MONEY = [c for c in tables.DAILY_MONEY if c not in NOT_COUNTED]


def daily_aggregations(
    facts: DayFacts,
    night_tickets: pl.DataFrame,
    visits: pl.DataFrame,
    new_and_returning: pl.DataFrame,
    capacities: pl.DataFrame,
) -> pl.DataFrame:
    """The daily_aggregations rows of a window, money in 128-bit integers (see metrics/money.py).

    facts: the window's raw facts, with feedback_by_night's feedback about its nights;
    night_tickets: tickets_by_night's tickets for its nights, whenever bought; visits:
    customer_visits rows of the window; new_and_returning: from visits.first_and_returning;
    capacities: venue_id, capacity.
    """
    parts = [
        *_revenue(facts, night_tickets),
        _bookings(facts.bookings),
        *_door(facts.check_ins),
        *_visitors(visits, new_and_returning),
        _feedback(facts.feedback),
    ]
    rows = pl.concat([facts.days(), night_tickets.select(DAY)]).unique()
    for part in parts:
        rows = rows.join(part, on=DAY, how="left")
    gross = pl.col("bar_revenue_pence") + pl.col("table_revenue_pence") + pl.col("ticket_revenue_pence")
    return (
        rows.with_columns(pl.col(c).fill_null(0).cast(pl.Int64) for c in [*COUNTED, "deposit_payments"])
        .with_columns(pl.col(c).fill_null(0).cast(WIDE) for c in SUMMED_MONEY)
        .join(capacities.select("venue_id", "capacity"), on="venue_id", how="left")
        .with_columns(gross.alias("gross_revenue_pence"))
        .with_columns(
            (pl.col("gross_revenue_pence") - pl.col("refunds_pence")).alias("net_revenue_pence"),
            ratio(pl.col("no_shows"), pl.col("bookings_confirmed")).alias("no_show_rate"),
            ratio(pl.col("peak_occupancy"), pl.col("capacity")).alias("occupancy_rate"),
            ratio(pl.col("bookings_completed"), pl.col("tables_used")).alias("table_turnover"),
            ratio(pl.col("gross_revenue_pence"), pl.col("check_ins")).alias("spend_per_head_pence"),
            ratio(pl.col("covers"), pl.col("bookings_completed")).alias("avg_party_size"),
            ratio(pl.col("deposits_pence"), pl.col("deposit_payments")).alias("avg_deposit_pence"),
        )
        .select(table_schema(tables.daily_aggregations).keys())
        .sort(DAY)
    )
