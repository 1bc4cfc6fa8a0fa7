"""Customers, seen through customer_visits under pseudonymous keys (docs/metrics.md, "Customers").

A customer's analytics key is a keyed hash of their customer_id, so the analytics tables
hold no customer_id, name, email or phone, and nobody without the key can link a row
back to a person. Everything here is "as of" a business day: only customer_visits rows
on or before that day (and within LOOK_BACK_DAYS of it) count, which is what lets the churn
model compute features at past cutoffs exactly as it computes them today.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Callable

import polars as pl
import sqlalchemy as sa

from backroom_reporting.metrics.churn import HORIZON_DAYS
from backroom_reporting.metrics.ratios import ratio
from backroom_reporting.warehouse.source_contract import BRANDS, SPECIAL_OCCASIONS
from backroom_reporting.warehouse.tables.aggregations import customer_visits

CUSTOMER = ["venue_id", "customer_id"]

# 16 hex characters = 64 bits: a collision among n customers has odds about n^2 / 2^65.
CUSTOMER_KEY_LENGTH = 16

TRAILING_DAYS = 90  # top customers' window; a customer without a visit in it has lapsed
# What customer analytics see of a customer: their rows of the two years up to the day. A
# weekly snapshot and each churn cutoff read no further back, so their cost does not grow
# with years of history; a customer with no row in two years drops out.
LOOK_BACK_DAYS = 730
RECENT_DAYS = 28  # a customer whose first visit is this recent is new
AT_RISK_DAYS = HORIZON_DAYS  # six weeks without a visit: the span the churn model predicts
LOYAL_VISITS = 4  # visits in the trailing 90 days that make a customer loyal
TOP_N = 25

# Loyalty score: weighted percentile ranks within the venue, scaled to 0-100.
LOYALTY_WEIGHTS = {"recency": 0.3, "frequency": 0.4, "monetary": 0.3}

SEGMENTS = ("prospect", "lapsed", "at_risk", "vip", "new", "loyal", "regular")


# --- keys ----------------------------------------------------------------------------------


def keyed_by(key: str) -> Callable[[str], str]:
    """customer_id -> customer_key under `key`: HMAC-SHA256, hex, first 16 characters.

    The key is hashed into the HMAC once and copied for each id, a fifth less time for a
    week's 45,000 customers at 25 venues than keying each id from scratch."""
    keyed = hmac.new(key.encode(), digestmod=hashlib.sha256)

    def customer_key(customer_id: str) -> str:
        mac = keyed.copy()
        mac.update(customer_id.encode())
        return mac.hexdigest()[:CUSTOMER_KEY_LENGTH]

    return customer_key


def customer_key(customer_id: str, key: str) -> str:
    return keyed_by(key)(customer_id)


def customer_keys(customer_ids: pl.Series, key: str) -> pl.DataFrame:
    """customer_id -> customer_key for each distinct id."""
    ids = customer_ids.unique().to_list()
    return pl.DataFrame(
        {"customer_id": ids, "customer_key": list(map(keyed_by(key), ids))},
        schema={"customer_id": pl.String, "customer_key": pl.String},
    )


def with_customer_keys(frame: pl.DataFrame, key: str) -> pl.DataFrame:
    """`frame` with customer_id replaced by customer_key, in the same place."""
    columns = ["customer_key" if c == "customer_id" else c for c in frame.columns]
    return frame.join(customer_keys(frame["customer_id"], key), on="customer_id", how="left").select(columns)


# --- one customer's history, aggregated in the database ---------------------------------------


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


BRAND_COLUMNS = {brand: _slug(brand) for brand in BRANDS}


def look_back(as_of: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last night a customer's history as of `as_of` reads."""
    return as_of - dt.timedelta(days=LOOK_BACK_DAYS - 1), as_of


# The customer_visits columns `customer_history` groups.
HISTORY_COLUMNS = (
    "venue_id",
    "customer_id",
    "business_date",
    "visited",
    "booked_visit",
    "is_vip",
    "party_size",
    "special_occasion",
    "brand",
    "spend_pence",
)


def customer_history(rows: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
    """Per venue and customer, everything the analytics and the churn features need from their
    rows of the look-back up to `as_of` (`rows`: the HISTORY_COLUMNS of customer_visits rows
    of at least the nights `look_back(as_of)`; the others are left out). HISTORY_SCHEMA, in
    (venue_id, customer_id) order.

    Grouped here rather than by the database: PostgreSQL hashes a year of 25 venues' 800,000
    rows into 170,000 customers in a second, polars in a fifth of that, and the read costs less
    than the difference."""
    day, visited = pl.col("business_date"), pl.col("visited")
    since = {n: as_of - dt.timedelta(days=n - 1) for n in (RECENT_DAYS, TRAILING_DAYS)}

    def days_where(condition: pl.Expr) -> pl.Expr:
        return condition.fill_null(False).sum().cast(pl.Int64)

    def latest_day_where(condition: pl.Expr) -> pl.Expr:
        return pl.when(condition).then(day).max()

    parties = pl.col("party_size").count().cast(pl.Int64)
    history = (
        rows.lazy()
        .filter(day.is_between(*look_back(as_of)))
        .group_by(CUSTOMER)
        .agg(
            days_where(visited).alias("visits"),
            pl.when(visited).then(day).min().alias("first_visit"),
            latest_day_where(visited).alias("last_visit"),
            days_where(visited & (day >= since[RECENT_DAYS])).alias("visits_28d"),
            days_where(visited & (day >= since[TRAILING_DAYS])).alias("visits_90d"),
            days_where(pl.col("booked_visit")).alias("booked_visits"),
            pl.col("spend_pence").sum().alias("lifetime_value_pence"),
            # null, not 0, for a customer with no party on record: their average party is unknown
            pl.when(parties > 0).then(pl.col("party_size").sum()).alias("party_size_total"),
            parties.alias("parties"),
            day.max().alias("last_active"),
            latest_day_where(pl.col("is_vip")).alias("last_vip_day"),
            *(
                column
                for brand, slug in BRAND_COLUMNS.items()
                for column in (
                    days_where(visited & (pl.col("brand") == brand)).alias(f"nights_{slug}"),
                    latest_day_where(visited & (pl.col("brand") == brand)).alias(f"last_{slug}"),
                )
            ),
            *(days_where(pl.col("special_occasion") == o).alias(f"occasion_{o}") for o in SPECIAL_OCCASIONS),
        )
        .select(HISTORY_SCHEMA.keys())
        .cast(HISTORY_SCHEMA)
        .sort(CUSTOMER)
    )
    return history.collect()


HISTORY_SCHEMA: dict[str, pl.DataType] = {
    "venue_id": pl.String(),
    "customer_id": pl.String(),
    "visits": pl.Int64(),
    "first_visit": pl.Date(),
    "last_visit": pl.Date(),
    "visits_28d": pl.Int64(),
    "visits_90d": pl.Int64(),
    "booked_visits": pl.Int64(),
    "lifetime_value_pence": pl.Int64(),
    "party_size_total": pl.Int64(),
    "parties": pl.Int64(),
    "last_active": pl.Date(),
    "last_vip_day": pl.Date(),
    **{
        name: dtype
        for slug in BRAND_COLUMNS.values()
        for name, dtype in ((f"nights_{slug}", pl.Int64()), (f"last_{slug}", pl.Date()))
    },
    **{f"occasion_{o}": pl.Int64() for o in SPECIAL_OCCASIONS},
}


def returned_customers(rows: pl.DataFrame, cutoff: dt.date) -> pl.DataFrame:
    """Venue and customer of everyone who visited in the HORIZON_DAYS after `cutoff` (`rows`:
    customer_visits rows of at least those nights)."""
    day = pl.col("business_date")
    return rows.filter(
        pl.col("visited"), day > cutoff, day <= cutoff + dt.timedelta(days=HORIZON_DAYS)
    ).select(CUSTOMER)


CUSTOMER_SCHEMA: dict[str, pl.DataType] = {"venue_id": pl.String(), "customer_id": pl.String()}


def earlier_visits_query(before: dt.date, customer_ids: list[str]) -> sa.Select:
    """Per venue, the first and last visit before `before` of each of `customer_ids`."""
    cv = customer_visits.c
    return (
        sa.select(
            cv.venue_id,
            cv.customer_id,
            sa.func.min(cv.business_date).label("first_visit"),
            sa.func.max(cv.business_date).label("last_visit"),
        )
        .where(cv.visited, cv.business_date < before, cv.customer_id.in_(customer_ids))
        .group_by(cv.venue_id, cv.customer_id)
    )


# --- segments and loyalty ------------------------------------------------------------------------


def segment(
    as_of: pl.Expr, first_visit: pl.Expr, last_visit: pl.Expr, visits_90d: pl.Expr, is_vip: pl.Expr
) -> pl.Expr:
    """The customer's segment on `as_of`: the first rule that holds, in SEGMENTS order.

    Recency comes before status, so a VIP who has stopped coming shows as at risk.
    """
    days_since_last = (as_of - last_visit).dt.total_days()
    return (
        pl.when(first_visit.is_null())
        .then(pl.lit("prospect"))
        .when(days_since_last >= TRAILING_DAYS)
        .then(pl.lit("lapsed"))
        .when(days_since_last >= AT_RISK_DAYS)
        .then(pl.lit("at_risk"))
        .when(is_vip)
        .then(pl.lit("vip"))
        .when((as_of - first_visit).dt.total_days() < RECENT_DAYS)
        .then(pl.lit("new"))
        .when(visits_90d >= LOYAL_VISITS)
        .then(pl.lit("loyal"))
        .otherwise(pl.lit("regular"))
    )


def _percentile_rank(column: str) -> pl.Expr:
    """Among the venue's customers with a visit: average rank (1 = lowest, ties share
    their mean rank) over their number; null for customers without a visit."""
    value = pl.when(pl.col("visits") > 0).then(pl.col(column))
    return value.rank("average").over("venue_id") / value.count().over("venue_id")


def loyalty_score() -> pl.Expr:
    """100 x (0.3 recency + 0.4 frequency + 0.3 monetary percentile ranks) among the venue's
    customers with a visit; 0 for customers who have never visited."""
    weights = LOYALTY_WEIGHTS
    weighted = (
        weights["recency"] * _percentile_rank("last_visit")
        + weights["frequency"] * _percentile_rank("visits")
        + weights["monetary"] * _percentile_rank("lifetime_value_pence")
    )
    return (100.0 * weighted).fill_null(0.0)


# --- customer analytics --------------------------------------------------------------------------


def _preferred_night(history: pl.DataFrame) -> pl.DataFrame:
    """The brand of night visited most; a tie goes to the brand visited most recently."""
    nights = pl.concat(
        [
            history.select(
                *CUSTOMER,
                pl.lit(brand).alias("preferred_night"),
                pl.col(f"nights_{slug}").alias("nights"),
                pl.col(f"last_{slug}").alias("last"),
            )
            for brand, slug in BRAND_COLUMNS.items()
        ]
    )
    return (
        nights.filter(pl.col("nights") > 0)
        .sort(["nights", "last"], descending=True)
        .group_by(CUSTOMER, maintain_order=True)
        .first()
        .select(*CUSTOMER, "preferred_night")
    )


def customer_profiles(history: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
    """customer_analytics without its churn probability, still by customer_id.

    history: `customer_history(rows, as_of)`.
    """
    occasions = pl.concat_str(
        [pl.when(pl.col(f"occasion_{o}") > 0).then(pl.lit(o)) for o in SPECIAL_OCCASIONS],
        separator=", ",
        ignore_nulls=True,
    )
    profiles = history.join(_preferred_night(history), on=CUSTOMER, how="left").select(
        *CUSTOMER,
        pl.lit(as_of).alias("as_of_date"),
        "visits",
        "first_visit",
        "last_visit",
        (pl.lit(as_of) - pl.col("last_visit")).dt.total_days().alias("days_since_last_visit"),
        "visits_90d",
        "lifetime_value_pence",
        ratio(pl.col("lifetime_value_pence"), pl.col("visits")).alias("avg_spend_pence"),
        ratio(pl.col("party_size_total"), pl.col("parties")).alias("avg_party_size"),
        "preferred_night",
        pl.when(occasions != "").then(occasions).alias("special_occasions"),
        pl.sum_horizontal(f"occasion_{o}" for o in SPECIAL_OCCASIONS).alias("special_occasion_nights"),
        (pl.col("last_vip_day") == pl.col("last_active")).fill_null(False).alias("is_vip"),
    )
    return profiles.with_columns(
        loyalty_score().alias("loyalty_score"),
        segment(
            pl.lit(as_of), pl.col("first_visit"), pl.col("last_visit"), pl.col("visits_90d"), pl.col("is_vip")
        ).alias("segment"),
    ).sort(CUSTOMER)


# --- churn features and labels -------------------------------------------------------------------


def churn_features(history: pl.DataFrame, cutoff: dt.date) -> pl.DataFrame:
    """The churn model's inputs for every customer with a visit on or before `cutoff`.

    history: `customer_history(rows, cutoff)`, so nothing after the cutoff is seen.
    """
    since_last = (pl.lit(cutoff) - pl.col("last_visit")).dt.total_days()
    since_first = (pl.lit(cutoff) - pl.col("first_visit")).dt.total_days()
    return history.filter(pl.col("visits") > 0).select(
        *CUSTOMER,
        pl.lit(cutoff).alias("cutoff"),
        since_last.alias("days_since_last_visit"),
        since_last.log1p().alias("log_days_since_last_visit"),
        since_first.alias("days_since_first_visit"),
        pl.col("visits").log1p().alias("log_visits"),
        # Over at least four weeks, so a newcomer with one visit does not look weekly.
        (7.0 * pl.col("visits") / (since_first + 1).clip(RECENT_DAYS)).alias("visits_per_week"),
        "visits_28d",
        "visits_90d",
        (pl.col("booked_visits") / pl.col("visits")).alias("booked_share"),
        pl.col("lifetime_value_pence").log1p().alias("log_lifetime_value"),
        (pl.col("last_vip_day") == pl.col("last_active")).fill_null(False).cast(pl.Int64).alias("is_vip"),
    )


def churn_cutoffs_reading(first_day: dt.date, last_day: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last churn cutoff whose examples read any of the nights first_day..last_day:
    a cutoff c reads its look-back c - LOOK_BACK_DAYS + 1 .. c and its label window c + 1 .. c + H."""
    return first_day - dt.timedelta(days=HORIZON_DAYS), last_day + dt.timedelta(days=LOOK_BACK_DAYS - 1)


def churn_labels(features: pl.DataFrame, returned: pl.DataFrame) -> pl.DataFrame:
    """`features` with `churned`: no visit in the horizon after the cutoff.

    returned: venue and customer of everyone who visited within the horizon (`returned_customers`).
    """
    back = returned.select(CUSTOMER).unique().with_columns(pl.lit(False).alias("churned"))
    return features.join(back, on=CUSTOMER, how="left").with_columns(pl.col("churned").fill_null(True))


# --- top customers -------------------------------------------------------------------------------

RANKED = ["venue_id", "business_date", "ranking", "rank"]


def _ranked(
    stats: pl.DataFrame, ranking: str, qualifies: pl.Expr, order: list[str], key: str
) -> pl.DataFrame:
    """The first TOP_N customers per venue and day in `order` (descending, last visit
    nulls last), ties broken by customer_key ascending.

    Keys are made only for the customers who can be among them (fewer than TOP_N others
    strictly ahead): a day's thousands of customers are not each given an HMAC."""
    night = ["venue_id", "business_date"]
    descending = [False, False, *([True] * len(order))]
    by_order = stats.filter(qualifies).sort([*night, *order], descending=descending, nulls_last=True)
    # Each row's place in the order, and the first place of its tie: how many are strictly ahead.
    placed = by_order.with_columns(pl.int_range(pl.len()).over(night).alias("_place"))
    candidates = placed.filter(pl.col("_place").min().over(*night, *order) < TOP_N).drop("_place")
    ranked = candidates.join(
        customer_keys(candidates["customer_id"], key), on="customer_id", how="left"
    ).sort([*night, *order, "customer_key"], descending=[*descending, False], nulls_last=True)
    return ranked.with_columns(
        pl.lit(ranking).alias("ranking"),
        (pl.int_range(pl.len()).over(night) + 1).alias("rank"),
    ).filter(pl.col("rank") <= TOP_N)


def rank_top_customers(visits: pl.DataFrame, days: list[dt.date], key: str) -> pl.DataFrame:
    """Top spenders and most frequent visitors over the 90 days ending on each of `days`.

    visits: customer_visits rows (venue_id, customer_id, business_date, visited,
    spend_pence, is_vip) from 89 days before the first of `days` to the last.
    Returns per venue, day, ranking and rank: customer_id, customer_key, visits_90d,
    spend_90d_pence and is_vip (on the customer's latest row in the 90 days).
    """
    rows = visits.sort("business_date")
    dates = rows["business_date"]
    parts = []
    for day in days:
        # Rows are in date order, so each day's 90 days are one slice.
        first = dates.search_sorted(day - dt.timedelta(days=TRAILING_DAYS - 1), side="left")
        trailing = rows.slice(first, dates.search_sorted(day, side="right") - first)
        parts.append(
            trailing.group_by(CUSTOMER)
            .agg(
                pl.col("visited").sum().cast(pl.Int64).alias("visits_90d"),
                pl.col("spend_pence").sum().alias("spend_90d_pence"),
                pl.col("business_date").filter(pl.col("visited")).max().alias("last_visit_in_window"),
                pl.col("is_vip").sort_by("business_date").last().alias("is_vip"),
            )
            .with_columns(pl.lit(day).alias("business_date"))
        )
    schema = {
        "venue_id": pl.String,
        "customer_id": pl.String,
        "visits_90d": pl.Int64,
        "spend_90d_pence": pl.Int64,
        "last_visit_in_window": pl.Date,
        "is_vip": pl.Boolean,
        "business_date": pl.Date,
    }
    stats = pl.concat(parts).cast(schema) if parts else pl.DataFrame(schema=schema)
    spend = _ranked(
        stats,
        "spend",
        pl.col("spend_90d_pence") > 0,
        ["spend_90d_pence", "visits_90d", "last_visit_in_window"],
        key,
    )
    frequent = _ranked(
        stats,
        "visits",
        pl.col("visits_90d") > 0,
        ["visits_90d", "spend_90d_pence", "last_visit_in_window"],
        key,
    )
    return pl.concat([spend, frequent]).select(
        *RANKED, "customer_id", "customer_key", "visits_90d", "spend_90d_pence", "is_vip"
    )


def label_top_customers(
    ranked: pl.DataFrame, visit_days: pl.DataFrame, earlier: pl.DataFrame
) -> pl.DataFrame:
    """The top_customers rows: last visit and segment as of each day, by customer_key only.

    visit_days: venue_id, customer_id, business_date of the visits read with the ranking's
    rows. earlier: venue_id, customer_id, first_visit, last_visit of the ranked customers'
    visits before those rows began.
    """
    visit_days = visit_days.select(*CUSTOMER, pl.col("business_date").alias("visit_day")).sort("visit_day")
    first_read = visit_days.group_by(CUSTOMER).agg(pl.col("visit_day").min().alias("first_read"))
    labelled = (
        ranked.sort("business_date")
        # Both sides are sorted by day overall, hence within every customer.
        .join_asof(
            visit_days,
            left_on="business_date",
            right_on="visit_day",
            by=CUSTOMER,
            strategy="backward",
            check_sortedness=False,
        )
        .join(first_read, on=CUSTOMER, how="left")
        .join(earlier.select(*CUSTOMER, "first_visit", "last_visit"), on=CUSTOMER, how="left")
        .with_columns(
            pl.coalesce(
                "first_visit", pl.when(pl.col("first_read") <= pl.col("business_date")).then("first_read")
            ).alias("first_visit"),
            pl.coalesce("visit_day", "last_visit").alias("last_visit"),
        )
    )
    return labelled.select(
        *RANKED,
        "customer_key",
        "visits_90d",
        "spend_90d_pence",
        "last_visit",
        segment(
            pl.col("business_date"),
            pl.col("first_visit"),
            pl.col("last_visit"),
            pl.col("visits_90d"),
            pl.col("is_vip"),
        ).alias("segment"),
    ).sort(RANKED)
