"""Reconciling the booking system's payments with Stripe's, per venue and night.

A booking's deposits on a night are compared with its Stripe charges that night, and its refunds
with its Stripe refunds: what succeeded on each side, summed in pence. Each booking (venue,
night, kind) whose sums differ is one difference, named in one plain sentence, e.g. "booking
B123: deposit 2,000p in the booking system, no Stripe charge". Pure functions over polars frames.
"""

from __future__ import annotations

import polars as pl

KINDS = {"deposit": "charge", "refund": "refund"}  # booking-system kind -> Stripe's word
KEYS = ["business_date", "venue_id", "booking_id", "kind"]
SCHEMA = {
    "business_date": pl.Date(),
    "venue_id": pl.String(),
    "booking_id": pl.String(),
    "kind": pl.String(),
    "booking_system_pence": pl.Int64(),
    "stripe_pence": pl.Int64(),
    "stripe_ids": pl.String(),
    "difference": pl.String(),
}
_NO_BOOKING = ""  # joins treat a payment without a booking as one group per venue and night


def _pence(amount: pl.Expr) -> pl.Expr:
    return amount.cast(pl.Int64).map_elements(lambda p: f"{p:,}p", return_dtype=pl.String)


def reconcile(payments: pl.DataFrame, charges: pl.DataFrame, refunds: pl.DataFrame) -> pl.DataFrame:
    """The differences (SCHEMA) between booking-system `payments` (business_date, venue_id,
    booking_id, kind, amount_pence, status) and Stripe's `charges` and `refunds` (business_date,
    venue_id, booking_id, amount_pence, status, and charge_id or refund_id). Only what succeeded
    counts on either side."""
    ours = (
        payments.filter(pl.col("status") == "succeeded")
        .with_columns(pl.col("booking_id").fill_null(_NO_BOOKING))
        .group_by(KEYS)
        .agg(pl.col("amount_pence").sum().alias("booking_system_pence"))
    )
    theirs = pl.concat(
        [
            frame.filter(pl.col("status") == "succeeded").select(
                "business_date",
                "venue_id",
                pl.col("booking_id").fill_null(_NO_BOOKING),
                pl.lit(kind).alias("kind"),
                "amount_pence",
                pl.col(id_column).alias("stripe_id"),
            )
            for kind, frame, id_column in (
                ("deposit", charges, "charge_id"),
                ("refund", refunds, "refund_id"),
            )
        ]
    )
    theirs = theirs.group_by(KEYS).agg(
        pl.col("amount_pence").sum().alias("stripe_pence"),
        pl.col("stripe_id").sort().str.join(", ").alias("stripe_ids"),
    )
    both = ours.join(theirs, on=KEYS, how="full", coalesce=True).with_columns(
        pl.col("booking_system_pence", "stripe_pence").fill_null(0), pl.col("stripe_ids").fill_null("")
    )
    differ = both.filter(pl.col("booking_system_pence") != pl.col("stripe_pence"))
    word = pl.col("kind").replace_strict(KINDS, return_dtype=pl.String)
    who = (
        pl.when(pl.col("booking_id") == _NO_BOOKING)
        .then(pl.lit("no booking"))
        .otherwise(pl.lit("booking ") + pl.col("booking_id"))
    )
    ours_said = (
        pl.col("kind")
        + pl.lit(" ")
        + _pence(pl.col("booking_system_pence"))
        + pl.lit(" in the booking system")
    )
    theirs_said = (
        pl.lit("Stripe ")
        + word
        + pl.lit(" ")
        + pl.col("stripe_ids")
        + pl.lit(" of ")
        + _pence(pl.col("stripe_pence"))
    )
    sentence = (
        pl.when(pl.col("stripe_pence") == 0)
        .then(who + pl.lit(": ") + ours_said + pl.lit(", no Stripe ") + word)
        .when(pl.col("booking_system_pence") == 0)
        .then(
            who
            + pl.lit(": ")
            + theirs_said
            + pl.lit(", no ")
            + pl.col("kind")
            + pl.lit(" in the booking system")
        )
        .otherwise(who + pl.lit(": ") + ours_said + pl.lit(", ") + theirs_said)
    )
    return (
        differ.with_columns(
            sentence.alias("difference"),
            pl.when(pl.col("booking_id") == _NO_BOOKING)
            .then(None)
            .otherwise(pl.col("booking_id"))
            .alias("booking_id"),
        )
        .select(SCHEMA.keys())
        .cast(SCHEMA)
        .sort("business_date", "venue_id", "booking_id", "kind", nulls_last=True)
    )
