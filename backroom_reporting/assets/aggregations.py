"""Aggregations: hourly and daily figures, customer visits, weekly and monthly summaries.

The spec's "Data Aggregation Pipeline": raw facts -> customer_visits and
hourly_aggregations -> daily_aggregations (checked) -> weekly_summary / monthly_summary.
Each partitioned asset reads its window (plus a bounded look-back where a definition
needs one) and replaces exactly that window.
"""

import datetime as dt

import dagster as dg
import polars as pl
import sqlalchemy as sa

from backroom_reporting.assets.policies import FOLLOW_INPUTS, SAME_WINDOW, same_nights
from backroom_reporting.checks import aggregations as checks
from backroom_reporting.metrics.business_time import BusinessWindow, with_business_date
from backroom_reporting.metrics.daily import DayFacts
from backroom_reporting.metrics.daily import daily_aggregations as daily_figures
from backroom_reporting.metrics.hourly import business_date_of, hours_between
from backroom_reporting.metrics.hourly import hourly_aggregations as hourly_figures
from backroom_reporting.metrics.summaries import Period, previous_start, summaries
from backroom_reporting.metrics.visits import customer_visits as visits_of
from backroom_reporting.metrics.visits import first_and_returning
from backroom_reporting.partitions import business_days, business_months, business_weeks, venue_hours
from backroom_reporting.resources.databases import WarehouseResource
from backroom_reporting.warehouse.database import Database
from backroom_reporting.warehouse.tables import aggregations as tables
from backroom_reporting.warehouse.tables.raw import RAW

GROUP = "aggregations"
FACT_TABLES = (
    "bookings",
    "payments",
    "ticket_sales",
    "check_ins",
    "bar_transactions",
    "feedback",
    "staff_shifts",
)


def read_day_facts(db: Database, window: BusinessWindow) -> DayFacts:
    """The raw facts of the window's business days."""
    return DayFacts(
        **{
            name: db.read_table(
                RAW[name], RAW[name].c.business_date.between(window.first_day, window.last_day)
            )
            for name in FACT_TABLES
        }
    )


def _days(table: sa.Table, window: BusinessWindow) -> sa.ColumnElement[bool]:
    return table.c.business_date.between(window.first_day, window.last_day)


def _business_window(context: dg.AssetExecutionContext) -> BusinessWindow:
    return BusinessWindow.from_instants(*context.partition_time_window)


def _materialized(frame: pl.DataFrame, window, **metadata) -> dg.MaterializeResult:
    return dg.MaterializeResult(
        metadata={"dagster/row_count": frame.height, "window": str(window), **metadata}
    )


@dg.asset(
    group_name=GROUP,
    partitions_def=business_days,
    automation_condition=FOLLOW_INPUTS,
    deps=[
        *same_nights("bookings", "check_ins", "ticket_sales", "bar_transactions", "feedback"),
        "raw_customers",
        "raw_events",
        "raw_venues",
    ],
    kinds={"polars", "sql"},
)
def customer_visits(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """One row per customer, venue and business day with any activity: whether they visited
    (a completed booking or a scan in), what they spent on tickets and on their table's tab,
    their party and occasion, and their feedback. New and returning customers count from it."""
    db, window = warehouse.database(), _business_window(context)
    facts = read_day_facts(db, window)
    bookings, customers = RAW["bookings"], RAW["customers"]
    tabs = facts.bar_transactions["booking_id"].drop_nulls()
    owners = db.lookup(bookings.c.booking_id, tabs, bookings.c.customer_id)
    venues = db.read_table(RAW["venues"])
    nights = with_business_date(db.read_table(RAW["events"]), "starts_at", venues).filter(
        (pl.col("status") != "cancelled")
        & pl.col("business_date").is_between(window.first_day, window.last_day)
    )
    visits = visits_of(
        facts.bookings,
        facts.check_ins,
        facts.ticket_sales,
        facts.bar_transactions,
        facts.feedback,
        owners,
        db.read_columns(customers.c.customer_id, customers.c.is_vip),
        nights.select("venue_id", "business_date", "brand"),
    )
    db.replace(tables.customer_visits, visits, _days(tables.customer_visits, window))
    return _materialized(visits, window, visits=int(visits["visited"].sum()))


@dg.asset(
    group_name=GROUP,
    partitions_def=venue_hours,
    automation_condition=FOLLOW_INPUTS,
    deps=same_nights("bookings", "ticket_sales", "check_ins", "bar_transactions"),
    kinds={"polars", "sql"},
)
def hourly_aggregations(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Each London hour of each trading day, per venue: door scans, people inside at the end
    of the hour and at most during it, bar and table sales, tickets sold and bookings due."""
    db = warehouse.database()
    start, end = context.partition_time_window
    hours = hourly_figures(_whole_days_of(db, start, end), start, end)
    table = tables.hourly_aggregations
    db.replace(table, hours, (table.c.hour_start >= start) & (table.c.hour_start < end))
    return _materialized(hours, f"{start.isoformat()} to {end.isoformat()}")


def _whole_days_of(db: Database, start: dt.datetime, end: dt.datetime) -> DayFacts:
    """The facts of every business day that overlaps [start, end)."""
    return read_day_facts(
        db, BusinessWindow(business_date_of(start), business_date_of(end - dt.timedelta(hours=1)))
    )


@dg.asset(
    group_name=GROUP,
    partitions_def=business_days,
    automation_condition=FOLLOW_INPUTS,
    deps=[
        *same_nights(*FACT_TABLES),
        "raw_venues",
        dg.AssetDep("customer_visits", partition_mapping=SAME_WINDOW),
        dg.AssetDep("hourly_aggregations", partition_mapping=SAME_WINDOW),
    ],
    check_specs=checks.DAILY_CHECKS,
    kinds={"polars", "sql"},
)
def daily_aggregations(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """The day's figures per venue, exactly as DESIGN section 5 defines them: revenue, deposits
    and refunds, bookings and no-shows, door scans and occupancy, new, returning and VIP
    customers, occasions and satisfaction. The primary source of the daily report."""
    db, window = warehouse.database(), _business_window(context)
    facts = read_day_facts(db, window)
    visits_table = tables.customer_visits
    visits = db.read_table(visits_table, _days(visits_table, window), visits_table.c.visited)
    seen_before = db.lookup(
        visits_table.c.customer_id,
        visits["customer_id"].unique(),
        visits_table.c.venue_id,
        where=(visits_table.c.business_date < window.first_day) & visits_table.c.visited,
    )
    capacities = db.read_columns(RAW["venues"].c.venue_id, RAW["venues"].c.capacity)
    daily = daily_figures(facts, visits, first_and_returning(visits, seen_before), capacities)
    db.replace(tables.daily_aggregations, daily, _days(tables.daily_aggregations, window))
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": daily.height,
            "window": str(window),
            "gross_revenue_pence": int(daily["gross_revenue_pence"].sum()),
        },
        check_results=_daily_checks(db, window, daily, facts, capacities),
    )


def _daily_checks(
    db: Database, window: BusinessWindow, daily: pl.DataFrame, facts: DayFacts, capacities: pl.DataFrame
) -> list[dg.AssetCheckResult]:
    hourly = db.read_table(tables.hourly_aggregations, _days(tables.hourly_aggregations, window))
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
    history = db.read_table(tables.daily_aggregations, _days(tables.daily_aggregations, look_back))
    history = pl.concat(
        [history.filter(~pl.col("business_date").is_between(window.first_day, window.last_day)), daily]
    )
    return [
        checks.money_non_negative(daily),
        checks.occupancy_within_capacity(daily, capacities),
        checks.matches_hourly(daily, hourly),
        checks.open_nights_complete(daily, hourly, expected_hours, feeds),
        checks.deposits_reconcile(deposits.select("booking_id", "amount_pence"), booked),
        checks.revenue_anomaly(daily, history),
    ]


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
        automation_condition=FOLLOW_INPUTS,
        deps=[dg.AssetDep("daily_aggregations", partition_mapping=SAME_WINDOW)],
        kinds={"polars", "sql"},
        description=description,
    )
    def summary(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
        db, window = warehouse.database(), _business_window(context)
        # The period before the window's first one is read too, for the comparisons.
        daily = db.read_table(
            tables.daily_aggregations,
            tables.daily_aggregations.c.business_date.between(
                previous_start(window.first_day, period), window.last_day
            ),
        )
        rows = summaries(daily, period).filter(pl.col(start_column.name) >= window.first_day)
        db.replace(table, rows, start_column.between(window.first_day, window.last_day))
        return _materialized(rows, window)

    return summary


weekly_summary = _summary_asset(
    "weekly_summary",
    "week",
    business_weeks,
    tables.weekly_summary,
    "Business weeks (Monday to Sunday) per venue: totals and means of the daily figures, "
    "with changes against the week before. The spec's weekly_summary_view.",
)
monthly_summary = _summary_asset(
    "monthly_summary",
    "month",
    business_months,
    tables.monthly_summary,
    "Calendar months of business days per venue: totals and means of the daily figures, "
    "with changes against the month before. The spec's monthly_summary_view.",
)
