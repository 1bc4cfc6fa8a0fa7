"""Customer visits and activity per venue and business day (docs/metrics.md).

A visit is a completed booking (at its booking_start) or an `in` scan with a customer
(at its scanned_at). customer_visits holds one row per customer, venue and business day
with any activity: a visit, a ticket purchase, a table tab, feedback or a booking made
for that night. New and returning customers are counted from it.
"""

from __future__ import annotations

import polars as pl

KEYS = ["venue_id", "customer_id", "business_date"]


def _paid_tickets(ticket_sales: pl.DataFrame) -> pl.DataFrame:
    return (
        ticket_sales.filter((pl.col("status") == "paid") & pl.col("customer_id").is_not_null())
        .group_by(KEYS)
        .agg(
            pl.col("quantity").sum().alias("tickets_bought"),
            (pl.col("gross_pence") - pl.col("fee_pence")).sum().alias("ticket_spend_pence"),
        )
    )


def _table_tabs(bar_transactions: pl.DataFrame, booking_owners: pl.DataFrame) -> pl.DataFrame:
    """Bar sales on a booking's tab, credited to the customer who booked the table."""
    return (
        bar_transactions.filter(pl.col("booking_id").is_not_null())
        .join(booking_owners.select("booking_id", "customer_id"), on="booking_id")
        .group_by(KEYS)
        .agg(pl.col("amount_pence").sum().alias("table_spend_pence"))
    )


def customer_visits(
    bookings: pl.DataFrame,
    check_ins: pl.DataFrame,
    ticket_sales: pl.DataFrame,
    bar_transactions: pl.DataFrame,
    feedback: pl.DataFrame,
    booking_owners: pl.DataFrame,
    customers: pl.DataFrame,
    nights: pl.DataFrame,
) -> pl.DataFrame:
    """One row per (venue, customer, business day) with any activity.

    booking_owners: booking_id -> customer_id for every booking a tab in
    `bar_transactions` names (its booking may lie outside these rows).
    customers: customer_id, is_vip. nights: venue_id, business_date, brand (one row per
    venue night with an event).
    """
    completed = bookings.filter(pl.col("status") == "completed")
    booked = completed.group_by(KEYS).agg(
        pl.lit(True).alias("booked_visit"), pl.col("party_size").max().alias("party_size")
    )
    scanned = (
        check_ins.filter((pl.col("direction") == "in") & pl.col("customer_id").is_not_null())
        .group_by(KEYS)
        .agg(pl.lit(True).alias("scanned_in"))
    )
    occasions = (
        bookings.filter((pl.col("status") != "cancelled") & pl.col("special_occasion").is_not_null())
        .sort("booking_start", "booking_id")
        .group_by(KEYS, maintain_order=True)
        .agg(pl.col("special_occasion").first())
    )
    booked_nights = bookings.select(KEYS).unique()
    scores = feedback.group_by(KEYS).agg(pl.col("score").mean().alias("feedback_score"))
    parts = [
        booked,
        scanned,
        occasions,
        booked_nights,
        _paid_tickets(ticket_sales),
        _table_tabs(bar_transactions, booking_owners),
        scores,
    ]
    keys = pl.concat([p.select(KEYS).cast({"business_date": pl.Date}) for p in parts]).unique()
    rows = keys
    for part in parts:
        extra = [c for c in part.columns if c not in KEYS]
        if extra:
            rows = rows.join(part.cast({"business_date": pl.Date}), on=KEYS, how="left")
    first_brand = (
        nights.sort("business_date").group_by("venue_id", "business_date", maintain_order=True).first()
    )
    rows = rows.join(customers.select("customer_id", "is_vip"), on="customer_id", how="left").join(
        first_brand.select("venue_id", "business_date", "brand"), on=["venue_id", "business_date"], how="left"
    )
    booked_visit = pl.col("booked_visit").fill_null(False)
    scanned_in = pl.col("scanned_in").fill_null(False)
    visited = booked_visit | scanned_in
    ticket = pl.col("ticket_spend_pence").fill_null(0)
    table = pl.col("table_spend_pence").fill_null(0)
    return rows.select(
        *KEYS,
        visited.alias("visited"),
        booked_visit.alias("booked_visit"),
        scanned_in.alias("scanned_in"),
        pl.col("is_vip").fill_null(False),
        "party_size",
        "special_occasion",
        pl.when(visited).then(pl.col("brand")).alias("brand"),
        pl.col("tickets_bought").fill_null(0),
        ticket.alias("ticket_spend_pence"),
        table.alias("table_spend_pence"),
        (ticket + table).alias("spend_pence"),
        "feedback_score",
    ).sort(KEYS)


def first_and_returning(visits: pl.DataFrame, seen_before: pl.DataFrame) -> pl.DataFrame:
    """New and returning customers per venue and business day.

    visits: rows of customer_visits with visited = true, over a window of days.
    seen_before: venue_id, customer_id of customers with a visit to that venue before
    the window's first day.
    A visitor is new on d when d is their first ever visit to the venue, returning when
    they visited it on an earlier day.
    """
    earlier = (
        seen_before.select("venue_id", "customer_id").unique().with_columns(pl.lit(True).alias("_before"))
    )
    return (
        visits.select(KEYS)
        .unique()
        .join(earlier, on=["venue_id", "customer_id"], how="left")
        .with_columns(
            (
                pl.col("_before").is_null()
                & (pl.col("business_date") == pl.col("business_date").min().over("venue_id", "customer_id"))
            ).alias("is_new")
        )
        .group_by("venue_id", "business_date")
        .agg(
            pl.col("is_new").sum().cast(pl.Int64).alias("new_customers"),
            (~pl.col("is_new")).sum().cast(pl.Int64).alias("returning_customers"),
        )
    )
