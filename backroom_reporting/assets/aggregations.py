"""Aggregations: hourly and daily figures, customer visits, weekly and monthly summaries.

The spec's "Data Aggregation Pipeline": raw facts -> customer_visits and
hourly_aggregations -> daily_aggregations (checked) -> weekly_summary / monthly_summary.
Each partitioned asset reads its nights (plus a bounded look-back where a definition
needs one) and replaces exactly those nights. hourly_aggregations also serves the open
night, refreshed every hour while it trades.
"""

import dataclasses
import datetime as dt

import dagster as dg
import polars as pl
import sqlalchemy as sa

from backroom_reporting.assets.nights import (
    as_of,
    check_evaluations,
    chunks_of,
    describe_nights,
    per_night,
    window_of,
)
from backroom_reporting.assets.policies import (
    FEEDBACK_ABOUT_THE_NIGHT,
    PERIOD_OF_NIGHT,
    RETRY_TRANSIENT_FAULTS,
    SAME_NIGHTS,
    TICKETS_FOR_THE_NIGHT,
    TO_DATE_METADATA,
    same_nights,
)
from backroom_reporting.assets.step_metrics import measured
from backroom_reporting.checks import aggregations as checks
from backroom_reporting.metrics.business_time import BusinessWindow, with_business_date
from backroom_reporting.metrics.customers import churn_cutoffs_reading
from backroom_reporting.metrics.daily import DayFacts, feedback_by_night, tickets_by_night
from backroom_reporting.metrics.daily import daily_aggregations as daily_figures
from backroom_reporting.metrics.hourly import hourly_aggregations as hourly_figures
from backroom_reporting.metrics.hourly import hours_between
from backroom_reporting.metrics.nights import night_status as night_status_rows
from backroom_reporting.metrics.summaries import Period, previous_start, summaries
from backroom_reporting.metrics.visits import customer_visits as visits_of
from backroom_reporting.metrics.visits import first_and_returning
from backroom_reporting.partitions import business_days, business_months, business_weeks
from backroom_reporting.resources.databases import WarehouseResource
from backroom_reporting.warehouse.database import Database
from backroom_reporting.warehouse.source_contract import FACT_TABLES
from backroom_reporting.warehouse.tables import aggregations as tables
from backroom_reporting.warehouse.tables.customers import churn_examples
from backroom_reporting.warehouse.tables.raw import RAW, raw_loads
from backroom_reporting.warehouse.types import table_schema

GROUP = "aggregations"
KINDS = {"polars", "sql"}


def nights_of(table: sa.Table, window: BusinessWindow) -> sa.ColumnElement[bool]:
    """Rows of `table` (by its business_date) in the window."""
    return table.c.business_date.between(window.first_day, window.last_day)


def read_day_facts(db: Database, window: BusinessWindow) -> DayFacts:
    """The raw facts of the window's nights."""
    return DayFacts(**{name: db.read_table(RAW[name], nights_of(RAW[name], window)) for name in FACT_TABLES})


@dg.asset(
    group_name=GROUP,
    partitions_def=business_days,
    deps=[
        *same_nights("bookings", "check_ins", "ticket_sales", "bar_transactions", "feedback"),
        "raw_customers",
        "raw_events",
        "raw_venues",
    ],
    kinds=KINDS,
    retry_policy=RETRY_TRANSIENT_FAULTS,
)
@measured
def customer_visits(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """One row per customer, venue and night with any activity: whether they visited
    (a completed booking or a scan in), what they spent on tickets and on their table's tab,
    their party and occasion, and their feedback. New and returning customers count from it."""
    db, window = warehouse.database(), window_of(context)
    venues = db.read_table(RAW["venues"])
    metadata = {}
    for chunk in chunks_of(db, window):
        visits = _visits_of(db, chunk, venues)
        # The churn examples made from these nights are out of date once they are rewritten.
        touched = churn_examples.c.cutoff.between(*churn_cutoffs_reading(chunk.first_day, chunk.last_day))
        db.replace_many(
            [
                (tables.customer_visits, visits, nights_of(tables.customer_visits, chunk)),
                (churn_examples, pl.DataFrame(), touched),
            ]
        )
        metadata |= per_night(
            visits,
            chunk,
            **{"dagster/row_count": pl.len(), "visits": pl.col("visited").sum().cast(pl.Int64)},
        )
    describe_nights(context, metadata)
    return dg.MaterializeResult()


def _visits_of(db: Database, window: BusinessWindow, venues: pl.DataFrame) -> pl.DataFrame:
    facts = read_day_facts(db, window)
    bookings, customers, events = RAW["bookings"], RAW["customers"], RAW["events"]
    tabs = facts.bar_transactions["booking_id"].drop_nulls()
    owners = db.lookup(bookings.c.booking_id, tabs, bookings.c.customer_id)
    # A venue's night may run off the platform's by its own cutoff: a day's margin either side.
    margin = dt.timedelta(days=1)
    starting = db.read_table(events, events.c.starts_at.between(window.start - margin, window.end + margin))
    nights = with_business_date(starting, "starts_at", venues).filter(
        (pl.col("status") != "cancelled")
        & pl.col("business_date").is_between(window.first_day, window.last_day)
    )
    named = (facts.bookings, facts.check_ins, facts.ticket_sales, facts.feedback, owners)
    seen = pl.concat([frame["customer_id"] for frame in named])
    return visits_of(
        facts.bookings,
        facts.check_ins,
        facts.ticket_sales,
        facts.bar_transactions,
        facts.feedback,
        owners,
        db.lookup(customers.c.customer_id, seen, customers.c.is_vip),
        nights.select("venue_id", "business_date", "brand"),
    )


@dg.asset(
    group_name=GROUP,
    partitions_def=business_days,
    deps=[*same_nights("bookings", "ticket_sales", "check_ins", "bar_transactions"), "raw_venues"],
    check_specs=[check.spec(business_days) for check in checks.HOURLY_CHECKS],
    kinds=KINDS,
    retry_policy=RETRY_TRANSIENT_FAULTS,
)
@measured
def hourly_aggregations(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """Each London hour of each trading night, per venue: door scans, people inside at the end
    of the hour and at most during it, bar and table sales, tickets sold and bookings due.
    A night holds 23, 24 or 25 hours (the clocks change on two nights a year); the open night
    holds the hours begun so far and is refreshed every hour while it trades.

    Write-audit-publish: a night whose hours fail a blocking check keeps its previous hours."""
    db, window = warehouse.database(), window_of(context)
    # The open night has no rows for hours that have not begun.
    begun = as_of(context).replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
    capacities = db.read_columns(RAW["venues"].c.venue_id, RAW["venues"].c.capacity)
    table = tables.hourly_aggregations
    metadata, results, refused = {}, {}, []
    for chunk in chunks_of(db, window):
        hours = hourly_figures(read_day_facts(db, chunk), chunk.start, min(chunk.end, begun))
        problems = checks.hourly_problems(hours, capacities)
        failed = sorted(checks.failed_blocking_checks(problems, checks.HOURLY_CHECKS))
        refused += failed
        published = hours.filter(~pl.col("business_date").is_in(failed))
        db.replace(table, published, sa.and_(nights_of(table, chunk), ~table.c.business_date.in_(failed)))
        metadata |= per_night(
            published,
            chunk,
            **{
                "dagster/row_count": pl.len(),
                "hours": pl.col("hour_start").n_unique(),
                "check_ins": pl.col("check_ins").sum(),
                "bar_revenue_pence": pl.col("bar_revenue_pence").sum(),
            },
        )
        results |= checks.nightly_results(chunk, problems, checks.HOURLY_CHECKS)
    yield from _audited(context, metadata, results, refused)


@dg.asset(
    group_name=GROUP,
    partitions_def=business_days,
    deps=[
        *same_nights(*(t for t in FACT_TABLES if t not in ("ticket_sales", "feedback"))),
        dg.AssetDep("raw_ticket_sales", partition_mapping=TICKETS_FOR_THE_NIGHT),
        dg.AssetDep("raw_feedback", partition_mapping=FEEDBACK_ABOUT_THE_NIGHT),
        "raw_events",
        "raw_venues",
        dg.AssetDep("customer_visits", partition_mapping=SAME_NIGHTS),
        dg.AssetDep("hourly_aggregations", partition_mapping=SAME_NIGHTS),
    ],
    check_specs=[check.spec(business_days) for check in checks.DAILY_CHECKS],
    kinds=KINDS,
    retry_policy=RETRY_TRANSIENT_FAULTS,
)
@measured
def daily_aggregations(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """Each night's figures per venue, exactly as docs/metrics.md defines them: revenue,
    deposits and refunds, bookings and no-shows, door scans and occupancy, new, returning and
    VIP customers, occasions and satisfaction. The primary source of the daily report.

    Write-audit-publish: a night's figures are checked before they replace the previous ones;
    a night failing a blocking check keeps its previous figures, and night_status records
    whether each night is final and which checks it failed."""
    db, window = warehouse.database(), window_of(context)
    venues = db.read_table(RAW["venues"])
    capacities = venues.select("venue_id", "capacity")
    figures, results, refused, computed = {}, {}, [], []
    for chunk in chunks_of(db, window):
        facts, night_tickets = _facts_of_the_nights(db, chunk, venues)
        daily = daily_figures(facts, night_tickets, *_visits_and_newcomers(db, chunk), capacities)
        # The anomaly check compares with the figures computed for the run's earlier nights,
        # published or not, as it would had the run been one chunk.
        problems = _daily_problems(db, chunk, daily, facts, capacities, computed, window.first_day)
        # Copied out row by row (a venue-night each): a frame derived from the facts would keep
        # all their memory for the run, and arrow cannot carry the 128-bit sums.
        anomaly_inputs = daily.select(ANOMALY_INPUTS)
        computed.append(pl.DataFrame(anomaly_inputs.rows(), schema=anomaly_inputs.schema, orient="row"))
        failed = checks.failed_blocking_checks(problems)
        refused += sorted(failed)
        published = daily.filter(~pl.col("business_date").is_in(sorted(failed)))
        status = night_status_rows(
            chunk, db.read_table(raw_loads, nights_of(raw_loads, chunk)), failed, dt.datetime.now(dt.UTC)
        )
        kept = tables.daily_aggregations.c.business_date.in_(sorted(failed))
        db.replace_many(
            [
                (
                    tables.daily_aggregations,
                    published,
                    sa.and_(nights_of(tables.daily_aggregations, chunk), ~kept),
                ),
                (tables.night_status, status, nights_of(tables.night_status, chunk)),
            ]
        )
        nights = per_night(
            published,
            chunk,
            **{
                "dagster/row_count": pl.len(),
                "gross_revenue_pence": pl.col("gross_revenue_pence").sum(),
                "check_ins": pl.col("check_ins").sum(),
            },
        )
        for row in status.iter_rows(named=True):
            nights[row["business_date"]] |= {
                "final": row["final"],
                "published": row["business_date"] not in failed,
                **({"failed_checks": row["failed_checks"]} if row["failed_checks"] else {}),
            }
        figures |= nights
        results |= checks.nightly_results(chunk, problems)
    yield from _audited(context, figures, results, refused)


def _audited(
    context: dg.AssetExecutionContext,
    metadata: dict[dt.date, dict],
    results: dict[dt.date, list[dg.AssetCheckResult]],
    refused: list[dt.date],
):
    """The end of a write-audit-publish run: each night's metadata and check results, and the
    nights that kept their previous rows because they failed a blocking check."""
    describe_nights(context, metadata, results)
    if refused:
        context.log.warning(
            f"{context.asset_key.to_user_string()} kept the previous rows of {', '.join(map(str, refused))}: "
            "they failed blocking checks (see the check results of those nights)"
        )
    yield dg.MaterializeResult(metadata={"nights_refused": dg.MetadataValue.json([str(d) for d in refused])})
    yield from check_evaluations(context, context.asset_key, results)


def _facts_of_the_nights(
    db: Database, window: BusinessWindow, venues: pl.DataFrame
) -> tuple[DayFacts, pl.DataFrame]:
    """The window's raw facts with the feedback about its nights in place of the feedback sent
    on them, and the tickets for its nights (docs/metrics.md): a ticket's revenue belongs to
    its event's night, whenever bought; feedback to the night it is about."""
    facts = read_day_facts(db, window)
    events, bookings = RAW["events"], RAW["bookings"]

    def rows_where(table: sa.Table, column: str, values) -> pl.DataFrame:
        """Whole rows of `table` whose `column` is among `values`."""
        key = table.c[column]
        return db.lookup(key, values, *(c for c in table.c if c is not key)).select(
            table_schema(table).keys()
        )

    def nights_of_events(event_ids) -> pl.DataFrame:
        """event_id, night: the business day each known event starts on, at its venue."""
        starts = db.lookup(events.c.event_id, event_ids, events.c.venue_id, events.c.starts_at)
        return with_business_date(starts, "starts_at", venues).select(
            "event_id", pl.col("business_date").alias("night")
        )

    # A venue's night may run off the platform's by its own cutoff: a day's margin either side.
    margin = dt.timedelta(days=1)
    around = db.read_columns(
        events.c.event_id, where=events.c.starts_at.between(window.start - margin, window.end + margin)
    )
    tonight = nights_of_events(around["event_id"]).filter(
        pl.col("night").is_between(window.first_day, window.last_day)
    )
    ids = tonight["event_id"]

    # Tickets for the nights' events, whenever bought; and those bought on the nights for an
    # event raw_events does not hold, which stay on the day bought.
    known = db.lookup(events.c.event_id, facts.ticket_sales["event_id"])["event_id"]
    night_tickets = tickets_by_night(
        pl.concat(
            [
                rows_where(RAW["ticket_sales"], "event_id", ids),
                facts.ticket_sales.filter(~pl.col("event_id").is_in(known.implode())),
            ]
        ),
        tonight,
    )

    sent = pl.concat(
        [
            rows_where(RAW["feedback"], "event_id", ids),
            rows_where(RAW["feedback"], "booking_id", facts.bookings["booking_id"]),
            facts.feedback,
        ]
    ).unique("feedback_id")
    booking_nights = db.lookup(bookings.c.booking_id, sent["booking_id"], bookings.c.business_date)
    about = feedback_by_night(
        sent, nights_of_events(sent["event_id"]), booking_nights.rename({"business_date": "night"})
    ).filter(pl.col("business_date").is_between(window.first_day, window.last_day))
    return dataclasses.replace(facts, feedback=about), night_tickets


def _visits_and_newcomers(db: Database, window: BusinessWindow) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The window's visits, and its new and returning customers per venue and night."""
    visits_table = tables.customer_visits
    visits = db.read_table(visits_table, nights_of(visits_table, window), visits_table.c.visited)
    # Whether each visitor came before: one row per customer and venue, however long their history.
    seen_before = db.lookup(
        visits_table.c.customer_id,
        visits["customer_id"],
        visits_table.c.venue_id,
        where=(visits_table.c.business_date < window.first_day) & visits_table.c.visited,
        distinct=True,
    )
    return visits, first_and_returning(visits, seen_before)


# What the anomaly check reads of earlier nights' figures.
ANOMALY_INPUTS = (
    "venue_id",
    "business_date",
    "gross_revenue_pence",
    "check_ins",
    "bar_revenue_pence",
    "table_revenue_pence",
)


def _daily_problems(
    db: Database,
    window: BusinessWindow,
    daily: pl.DataFrame,
    facts: DayFacts,
    capacities: pl.DataFrame,
    earlier: list[pl.DataFrame],
    since: dt.date,
) -> dict[str, pl.DataFrame]:
    """Every daily check's failing rows for the computed (not yet published) figures.

    earlier: the figures this run computed for its nights since `since`, before `window`."""
    hourly = db.read_table(tables.hourly_aggregations, nights_of(tables.hourly_aggregations, window))
    expected_hours = (
        hours_between(window.start, window.end).group_by("business_date").agg(pl.len().alias("hours"))
    )
    feeds = (
        facts.bar_transactions.group_by("venue_id", "business_date")
        .agg(pl.len().alias("bar_sales"))
        .join(
            facts.staff_shifts.group_by("venue_id", "business_date").agg(pl.len().alias("staff_shifts")),
            on=["venue_id", "business_date"],
            how="full",
            coalesce=True,
        )
    )
    deposits = facts.payments.filter((pl.col("kind") == "deposit") & (pl.col("status") == "succeeded"))
    bookings = RAW["bookings"]
    booked = db.lookup(bookings.c.booking_id, deposits["booking_id"], bookings.c.deposit_pence)
    look_back = BusinessWindow(window.first_day - dt.timedelta(weeks=checks.ANOMALY_WEEKS), window.last_day)
    stored = db.read_table(tables.daily_aggregations, nights_of(tables.daily_aggregations, look_back))
    history = pl.concat(
        [
            frame.select(ANOMALY_INPUTS)
            for frame in (
                stored.filter(~pl.col("business_date").is_between(since, window.last_day)),
                *earlier,
                daily,
            )
        ],
        how="vertical_relaxed",
    ).filter(pl.col("business_date") >= look_back.first_day)
    return {
        checks.MONEY_NON_NEGATIVE: checks.negative_money(daily),
        checks.MONEY_IN_RANGE: checks.money_too_large(daily),
        checks.OCCUPANCY_WITHIN_CAPACITY: checks.over_capacity(daily, capacities),
        checks.MATCHES_HOURLY: checks.hours_not_adding_up(daily, hourly),
        checks.OPEN_NIGHTS_COMPLETE: checks.incomplete_nights(daily, hourly, expected_hours, feeds),
        checks.DEPOSITS_RECONCILE: checks.unreconciled_deposits(
            deposits.select("booking_id", "amount_pence", "business_date"), booked
        ),
        checks.REVENUE_ANOMALY: checks.revenue_anomalies(daily, history),
    }


def _summary_asset(
    name: str,
    period: Period,
    partitions_def: dg.TimeWindowPartitionsDefinition,
    table: sa.Table,
    description: str,
) -> dg.AssetsDefinition:
    start_column = table.c[f"{period}_start"]

    @dg.asset(
        name=name,
        group_name=GROUP,
        partitions_def=partitions_def,
        deps=[dg.AssetDep("daily_aggregations", partition_mapping=PERIOD_OF_NIGHT)],
        kinds=KINDS,
        description=description,
        metadata={TO_DATE_METADATA: True},
        retry_policy=RETRY_TRANSIENT_FAULTS,
    )
    @measured
    def summary(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
        db, window = warehouse.database(), window_of(context)
        status = tables.night_status
        final = db.read_columns(
            status.c.business_date, where=sa.and_(nights_of(status, window), status.c.final)
        )["business_date"]
        # The period before the window's first one is read too, for the comparisons.
        daily = db.read_table(
            tables.daily_aggregations,
            tables.daily_aggregations.c.business_date.between(
                previous_start(window.first_day, period), window.last_day
            ),
        )
        through = final.max() if final.len() else window.first_day - dt.timedelta(days=1)
        rows = summaries(daily, period, through).filter(pl.col(start_column.name) >= window.first_day)
        db.replace(table, rows, start_column.between(window.first_day, window.last_day))
        for row in (
            rows.group_by(start_column.name)
            .agg(pl.len().alias("rows"), pl.col("through_date").max(), pl.col("gross_revenue_pence").sum())
            .iter_rows(named=True)
        ):
            context.add_asset_metadata(
                {
                    "dagster/row_count": row["rows"],
                    "through_date": str(row["through_date"]),
                    "gross_revenue_pence": row["gross_revenue_pence"],
                },
                partition_key=row[start_column.name].isoformat(),
            )
        return dg.MaterializeResult()

    return summary


weekly_summary = _summary_asset(
    "weekly_summary",
    "week",
    business_weeks,
    tables.weekly_summary,
    "Business weeks (Monday to Sunday) per venue: totals and means of the daily figures, "
    "with changes against the week before; the open week is a week-to-date row. The spec's "
    "weekly_summary_view.",
)
monthly_summary = _summary_asset(
    "monthly_summary",
    "month",
    business_months,
    tables.monthly_summary,
    "Calendar months of business days per venue: totals and means of the daily figures, "
    "with changes against the month before; the open month is a month-to-date row. The "
    "spec's monthly_summary_view.",
)
