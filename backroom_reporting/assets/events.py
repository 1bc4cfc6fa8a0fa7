"""Event performance analytics and the revenue forecast.

event_performance_analytics: one row per event, partitioned by the business day its
starts_at falls on. Its comparisons read the same brand's earlier events from the raw
layer (a bounded look-back), never from this table, so a partition's rows do not depend
on which other partitions ran before it.

revenue_forecast: one forecast per business week, made at its end: each venue's next 28
business days, from the year of daily_aggregations before. Its back-test reads the forecasts
stored for the earlier weeks it scores, and fits only those missing.
"""

import datetime as dt

import dagster as dg
import polars as pl
import sqlalchemy as sa

from backroom_reporting.assets.aggregations import nights_of
from backroom_reporting.assets.nights import (
    check_evaluations,
    chunks_of,
    describe_nights,
    per_night,
    snapshot_weeks,
    window_of,
)
from backroom_reporting.assets.policies import (
    LATE_NIGHTS_OF_WEEK,
    RETRY_TRANSIENT_FAULTS,
    SAME_NIGHTS,
    looking_back,
)
from backroom_reporting.assets.step_metrics import measured
from backroom_reporting.checks import analytics as checks
from backroom_reporting.metrics import events as figures
from backroom_reporting.metrics import forecast as forecasting
from backroom_reporting.metrics.business_time import BusinessWindow, business_date
from backroom_reporting.partitions import business_days, business_weeks
from backroom_reporting.resources.databases import WarehouseResource
from backroom_reporting.warehouse.database import Database
from backroom_reporting.warehouse.tables.aggregations import daily_aggregations
from backroom_reporting.warehouse.tables.events import event_performance_analytics as analytics_table
from backroom_reporting.warehouse.tables.events import revenue_forecast as forecast_table
from backroom_reporting.warehouse.tables.raw import RAW
from backroom_reporting.warehouse.types import table_schema

GROUP = "analytics"
# Whole business days enough to hold every earlier event a comparison may need (one more
# than the look-back: it is measured in hours from the event, and a DST change shifts them).
LOOK_BACK_DAYS = figures.PREVIOUS_EVENT_LOOK_BACK.days + 1


def _raw(name: str, look_back: int = 0) -> dg.AssetDep:
    return dg.AssetDep(f"raw_{name}", partition_mapping=looking_back(look_back) if look_back else SAME_NIGHTS)


def _days(table: sa.Table, first: dt.date, last: dt.date) -> sa.ColumnElement[bool]:
    return nights_of(table, BusinessWindow(first, last))


def _events_starting(db: Database, start: dt.datetime, end: dt.datetime, *where) -> pl.DataFrame:
    events = RAW["events"]
    return db.read_table(events, events.c.starts_at >= start, events.c.starts_at < end, *where)


def _last_day_touched(events: pl.DataFrame, window: BusinessWindow) -> dt.date:
    """The last business day any held event's window reaches (an event may run past 06:00)."""
    ends = figures.held(events).select(business_date(pl.col("ends_at") - pl.duration(microseconds=1)).max())
    return max(window.last_day, ends.item() or window.last_day)


@dg.asset(
    group_name=GROUP,
    partitions_def=business_days,
    deps=[
        "raw_events",
        "raw_staff",
        # Comparisons need the brand's earlier events, up to the look-back.
        _raw("check_ins", LOOK_BACK_DAYS),
        _raw("bar_transactions", LOOK_BACK_DAYS),
        # Tickets are bought in the weeks before the night.
        _raw("ticket_sales", LOOK_BACK_DAYS),
        _raw("staff_shifts", 1),
        _raw("bookings"),
        _raw("feedback"),
    ],
    check_specs=[
        checks.spec(
            checks.PEAK_WITHIN_CAPACITY,
            "event_performance_analytics",
            "No held event had more people inside than its capacity.",
            business_days,
        ),
        checks.spec(
            checks.COMPLETED_EVENTS_HAVE_ENTRIES,
            "event_performance_analytics",
            "Every completed event has at least one `in` scan (else door scans are missing).",
            business_days,
        ),
    ],
    kinds={"polars", "sql"},
    retry_policy=RETRY_TRANSIENT_FAULTS,
)
@measured
def event_performance_analytics(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """Per event (LA FIESTA, SHHH!, NOSTALGIA, private hires): attendance, occupancy, tickets,
    the bar / table / ticket revenue split, satisfaction, staffing efficiency and no-shows,
    and the change against the brand's previous event and its 4-week average."""
    db, window = warehouse.database(), window_of(context)
    metadata, results, venues = {}, {}, set()
    for chunk in chunks_of(db, window):
        rows = _event_rows(db, chunk)
        # An event moved to another day belongs to this window now: its old row goes too.
        db.replace(
            analytics_table,
            rows,
            sa.or_(
                _days(analytics_table, chunk.first_day, chunk.last_day),
                analytics_table.c.event_id.in_(rows["event_id"]),
            ),
        )
        context.log.info(f"event_performance_analytics {chunk}: {rows.height} events")
        results |= checks.event_results(rows, figures.held(rows), chunk)
        metadata |= per_night(
            rows,
            chunk,
            **{
                "dagster/row_count": pl.len(),
                "held": (pl.col("status") != "cancelled").sum(),
                "attendance": pl.col("attendance").sum(),
            },
        )
        venues |= set(rows["venue_id"])
    compared = _earlier_events(db, window, sorted(venues)).height
    describe_nights(context, metadata, results)
    yield dg.MaterializeResult(
        metadata={"earlier_events_compared": compared, "look_back_days": LOOK_BACK_DAYS}
    )
    yield from check_evaluations(context, context.asset_key, results)


def _earlier_events(db: Database, window: BusinessWindow, venues: list[str]) -> pl.DataFrame:
    """The venues' held events in the look-back before the window: baselines of its comparisons."""
    raw_events = RAW["events"]
    return _events_starting(
        db,
        window.start - figures.PREVIOUS_EVENT_LOOK_BACK,
        window.start,
        raw_events.c.venue_id.in_(venues),
        raw_events.c.status != "cancelled",
    )


def _event_rows(db: Database, window: BusinessWindow) -> pl.DataFrame:
    """The window's event_performance_analytics rows."""
    events = _events_starting(db, window.start, window.end)
    venues = events["venue_id"].unique().to_list()
    # Of the look-back, only the nights of the brands' own earlier events are read.
    earlier, nights_before = figures.compared_nights(events, _earlier_events(db, window, venues))
    last = _last_day_touched(events, window)

    scans, sales, shifts = RAW["check_ins"], RAW["bar_transactions"], RAW["staff_shifts"]
    door = db.read_columns(
        scans.c.venue_id,
        scans.c.business_date,
        scans.c.check_in_id,
        scans.c.direction,
        scans.c.scanned_at,
        # Before the window only entries matter (attendance of earlier events).
        where=sa.and_(
            scans.c.venue_id.in_(venues),
            sa.or_(
                _days(scans, window.first_day, last),
                sa.and_(scans.c.business_date.in_(nights_before), scans.c.direction == "in"),
            ),
        ),
    )
    bar = db.read_columns(
        sales.c.venue_id,
        sales.c.business_date,
        sales.c.occurred_at,
        sales.c.amount_pence,
        sales.c.booking_id,
        where=sa.and_(
            sales.c.venue_id.in_(venues),
            sa.or_(_days(sales, window.first_day, last), sales.c.business_date.in_(nights_before)),
        ),
    )
    worked = db.read_columns(
        shifts.c.shift_id,
        shifts.c.venue_id,
        shifts.c.staff_id,
        shifts.c.starts_at,
        shifts.c.ends_at,
        where=sa.and_(
            _days(shifts, window.first_day - dt.timedelta(days=1), last), shifts.c.venue_id.in_(venues)
        ),
    )
    staff = RAW["staff"]
    worked = worked.join(db.lookup(staff.c.staff_id, worked["staff_id"], staff.c.role), on="staff_id")
    orders, feedback, bookings = RAW["ticket_sales"], RAW["feedback"], RAW["bookings"]
    ids = events["event_id"]
    ordered = db.lookup(
        orders.c.event_id,
        pl.concat([ids, earlier["event_id"]]),
        orders.c.quantity,
        orders.c.gross_pence,
        orders.c.fee_pence,
        orders.c.status,
    )

    rows = figures.event_performance(
        events,
        door,
        bar,
        ordered,
        db.lookup(feedback.c.event_id, ids, feedback.c.score),
        worked,
        db.lookup(bookings.c.event_id, ids, bookings.c.status),
    )
    compared = rows.select(figures.COMPARED)
    baselines = pl.concat(
        [figures.headline_figures(earlier, door, bar, ordered).select(figures.COMPARED), compared]
    )
    return rows.join(figures.comparisons(compared, baselines), on="event_id", how="left")


def _pooled_mape(results: dict[str, forecasting.VenueForecast], key: str) -> float | None:
    errors = [e for result in results.values() for e in result.backtest.errors[key]]
    return sum(errors) / len(errors) if errors else None


def _number(value: float | None) -> dg.MetadataValue:
    return dg.MetadataValue.null() if value is None else dg.MetadataValue.float(round(value, 4))


@dg.asset(
    group_name=GROUP,
    partitions_def=business_weeks,
    deps=[dg.AssetDep("daily_aggregations", partition_mapping=LATE_NIGHTS_OF_WEEK)],
    check_specs=[
        checks.spec(
            checks.BEATS_SEASONAL_NAIVE,
            "revenue_forecast",
            "Back-tested over the last weeks, the 28-day forecast's MAPE is no worse than the "
            "seasonal-naive baseline's.",
            business_weeks,
        )
    ],
    kinds={"statsmodels", "polars", "sql"},
    retry_policy=RETRY_TRANSIENT_FAULTS,
)
@measured
def revenue_forecast(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """Each business week's forecast, made at the end of the week: each venue's gross revenue
    for the 28 business days after it, learnt from the year before, with 80% and 95% prediction
    intervals (statsmodels), days the venue is not expected to trade (closed weekdays, bank
    holidays it did not trade on before) flagged and forecast as 0, a bank-holiday effect on
    the others, and the back-tested error against a seasonal-naive baseline in the metadata."""
    db, daily = warehouse.database(), daily_aggregations
    weeks = snapshot_weeks(context)
    made_ons = sorted(set(weeks.values()))
    history = db.read_columns(
        daily.c.venue_id,
        daily.c.business_date,
        daily.c.gross_revenue_pence,
        daily.c.check_ins,
        daily.c.bar_revenue_pence,
        daily.c.table_revenue_pence,
        where=_days(daily, made_ons[0] - dt.timedelta(days=forecasting.READ_DAYS - 1), made_ons[-1]),
    )
    forecasts = forecasting.revenue_forecasts(
        history, made_ons, _stored_forecasts(db, made_ons, history["venue_id"].unique().to_list())
    )
    metadata, results = {}, {}
    for week_start, made_on in weeks.items():
        made = forecasts[made_on]
        rows = (
            pl.concat([r.rows for r in made.values()]).with_columns(pl.lit(week_start).alias("week_start"))
            if made
            else pl.DataFrame(schema=table_schema(forecast_table))
        )
        db.replace(forecast_table, rows, forecast_table.c.week_start == week_start)
        context.log.info(f"revenue_forecast made on {made_on}: {len(made)} venues, {rows.height} rows")
        metadata[week_start] = {"dagster/row_count": rows.height, **_forecast_metadata(made_on, made)}
        results[week_start] = [
            checks.forecast_result(_pooled_mape(made, "28_model"), _pooled_mape(made, "28_seasonal_naive"))
        ]
    describe_nights(context, metadata, results)
    yield dg.MaterializeResult()
    yield from check_evaluations(context, context.asset_key, results)


def _stored_forecasts(db: Database, made_ons: list[dt.date], venues: list[str]) -> pl.DataFrame:
    """The venues' stored forecasts made at the back-test origins of `made_ons` (the weeks of
    the run itself are made again), so the back-test need not fit them again."""
    origins = sorted({o for made_on in made_ons for o in forecasting.origins_before(made_on)} - set(made_ons))
    table = forecast_table
    return db.read_columns(
        table.c.venue_id,
        table.c.made_on,
        table.c.forecast_date,
        table.c.predicted_pence,
        where=sa.and_(
            # An origin's week, by its Monday (the key's lead), and the forecast made at it.
            table.c.week_start.in_(sorted({o - dt.timedelta(days=o.weekday()) for o in origins})),
            table.c.made_on.in_(origins),
            table.c.venue_id.in_(venues),
        ),
    )


def _forecast_metadata(made_on: dt.date, results: dict[str, forecasting.VenueForecast]) -> dict:
    per_venue = {
        venue_id: {
            "method": r.method,
            "history_days": r.history_days,
            "backtest_origins": r.backtest.origins,
            "backtest_origins_stored": r.backtest.origins_stored,
            "mape_7_model": r.backtest.mape_7_model,
            "mape_7_seasonal_naive": r.backtest.mape_7_seasonal_naive,
            "mape_28_model": r.backtest.mape_28_model,
            "mape_28_seasonal_naive": r.backtest.mape_28_seasonal_naive,
        }
        for venue_id, r in results.items()
    }
    short = sorted(v for v, r in results.items() if r.method == forecasting.SEASONAL_NAIVE)
    return {
        "made_on": str(made_on),
        "venues": len(results),
        "seasonal_naive_venues": dg.MetadataValue.json(short),
        "seasonal_naive_because": (
            f"fewer than {forecasting.MIN_HISTORY_DAYS} days of history or fewer than "
            f"{forecasting.MIN_TRADING_DAYS} trading days in it"
        ),
        "backtest_origins": max((r.backtest.origins for r in results.values()), default=0),
        "mape_7_model": _number(_pooled_mape(results, "7_model")),
        "mape_7_seasonal_naive": _number(_pooled_mape(results, "7_seasonal_naive")),
        "mape_28_model": _number(_pooled_mape(results, "28_model")),
        "mape_28_seasonal_naive": _number(_pooled_mape(results, "28_seasonal_naive")),
        "backtest_by_venue": dg.MetadataValue.json(per_venue),
    }
