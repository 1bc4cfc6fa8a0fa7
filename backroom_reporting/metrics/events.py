"""Event performance analytics: each event's night at the door, the bar and the box office,
and how it compares with the same brand's earlier events at the venue.

An event's window is [starts_at, ends_at). Door scans and staff shifts belong to an event
when they happen inside its window at its venue; bar and table sales belong to the events of
their business night, so the events of a night add up to its revenue; facts
that name the event (ticket orders, feedback, bookings) belong to it whatever day they
happened. A cancelled event did not happen: it keeps its row, with zero activity, and is
never the baseline of another event's comparison.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from backroom_reporting.metrics.business_time import business_date
from backroom_reporting.metrics.occupancy import running_occupancy
from backroom_reporting.metrics.ratios import ratio, relative_change

# The previous event of a brand is looked for this far back; older ones are not compared.
PREVIOUS_EVENT_LOOK_BACK = dt.timedelta(days=56)
# The "4-week average" is over the brand's events in the 28 days before the event.
AVERAGE_PERIOD = dt.timedelta(days=28)

# The figures comparisons are made on, with what identifies the event.
COMPARED = ("event_id", "venue_id", "brand", "starts_at", "status", "attendance", "gross_revenue_pence")
CONFIRMED_BOOKING_STATUSES = ("confirmed", "completed", "no_show")
_HOUR_US = 3_600_000_000


def held(events: pl.DataFrame) -> pl.DataFrame:
    """The events that were not cancelled."""
    return events.filter(pl.col("status") != "cancelled")


def _utc_days(start: pl.Expr, end: pl.Expr) -> pl.Expr:
    """The UTC dates that [start, end) touches: a join key that keeps interval joins small."""
    return pl.date_ranges(start.dt.date(), (end - pl.duration(microseconds=1)).dt.date())


def _event_days(events: pl.DataFrame) -> pl.DataFrame:
    return events.select(
        "event_id",
        "venue_id",
        pl.col("starts_at").alias("_from"),
        pl.col("ends_at").alias("_to"),
        _utc_days(pl.col("starts_at"), pl.col("ends_at")).alias("_day"),
    ).explode("_day")


def _inside(events: pl.DataFrame, facts: pl.DataFrame, at: str) -> pl.DataFrame:
    """Each fact at an event's venue with `at` inside the event's window, with its event_id."""
    return (
        _event_days(events)
        .join(facts.with_columns(pl.col(at).dt.date().alias("_day")), on=["venue_id", "_day"])
        .filter(pl.col(at) >= pl.col("_from"), pl.col(at) < pl.col("_to"))
        .drop("_day", "_from", "_to")
    )


def attendance(events: pl.DataFrame, scans: pl.DataFrame) -> pl.DataFrame:
    """event_id, attendance: `in` scans at the venue inside the window.

    scans: venue_id, direction, scanned_at.
    """
    entries = scans.filter(pl.col("direction") == "in").select("venue_id", "scanned_at")
    return _inside(events, entries, "scanned_at").group_by("event_id").agg(pl.len().alias("attendance"))


def peak_occupancy(events: pl.DataFrame, scans: pl.DataFrame) -> pl.DataFrame:
    """event_id, peak_occupancy: the highest number of people inside just after a scan in the
    window, counted over the scan's whole business day (people who came in before the
    event began are inside); 0 when no scan falls in the window.

    scans: every scan of the business days the windows touch (venue_id, business_date,
    check_in_id, direction, scanned_at).
    """
    inside = running_occupancy(scans).select("venue_id", "scanned_at", "occupancy")
    return (
        _inside(events, inside, "scanned_at")
        .group_by("event_id")
        .agg(pl.max_horizontal(pl.col("occupancy").max(), pl.lit(0)).cast(pl.Int64).alias("peak_occupancy"))
    )


def bar_and_table_revenue(events: pl.DataFrame, bar_transactions: pl.DataFrame) -> pl.DataFrame:
    """event_id, bar_revenue_pence, table_revenue_pence: the sales of the event's business
    night at its venue, on a table's tab (with a booking_id) or not. Each sale goes to the
    latest of the night's events that began at or before it (the night's first event when
    none had), so a night's events share exactly its bar and table revenue.

    bar_transactions: venue_id, business_date, occurred_at, amount_pence, booking_id.
    """
    night = ["venue_id", "business_date"]
    starts = events.select(
        "event_id", "venue_id", "starts_at", business_date(pl.col("starts_at")).alias("business_date")
    ).sort("starts_at", "event_id")
    first_of_night = starts.group_by(night, maintain_order=True).agg(
        pl.col("event_id").first().alias("_first")
    )
    sales = bar_transactions.select(
        *night, "occurred_at", "amount_pence", pl.col("booking_id").is_not_null().alias("_on_tab")
    ).sort("occurred_at")
    amount = pl.col("amount_pence")
    return (
        # Both sides are sorted by time, so within each night too (polars cannot check that).
        sales.join_asof(
            starts,
            left_on="occurred_at",
            right_on="starts_at",
            by=night,
            strategy="backward",
            check_sortedness=False,
        )
        .join(first_of_night, on=night)
        .group_by(pl.coalesce("event_id", "_first").alias("event_id"))
        .agg(
            amount.filter(~pl.col("_on_tab")).sum().alias("bar_revenue_pence"),
            amount.filter(pl.col("_on_tab")).sum().alias("table_revenue_pence"),
        )
    )


def ticket_sales(orders: pl.DataFrame) -> pl.DataFrame:
    """event_id, tickets_sold, ticket_revenue_pence from the paid orders for each event.

    orders: event_id, quantity, gross_pence, fee_pence, status (any purchase day).
    """
    return (
        orders.filter(pl.col("status") == "paid")
        .group_by("event_id")
        .agg(
            pl.col("quantity").sum().alias("tickets_sold"),
            (pl.col("gross_pence") - pl.col("fee_pence")).sum().alias("ticket_revenue_pence"),
        )
    )


def satisfaction(feedback: pl.DataFrame) -> pl.DataFrame:
    """event_id, feedback_count, avg_satisfaction (mean score) of the feedback naming each event."""
    return feedback.group_by("event_id").agg(
        pl.len().alias("feedback_count"), pl.col("score").mean().alias("avg_satisfaction")
    )


def booking_outcomes(bookings: pl.DataFrame) -> pl.DataFrame:
    """event_id, bookings (all), bookings_confirmed (confirmed, completed or no-show), no_shows."""
    status = pl.col("status")
    return bookings.group_by("event_id").agg(
        pl.len().alias("bookings"),
        status.is_in(CONFIRMED_BOOKING_STATUSES).sum().alias("bookings_confirmed"),
        (status == "no_show").sum().alias("no_shows"),
    )


def staff_hours(events: pl.DataFrame, shifts: pl.DataFrame) -> pl.DataFrame:
    """event_id, staff_hours, door_staff_hours: shift time inside the window at the venue,
    of every role and of door staff.

    shifts: shift_id, venue_id, role, starts_at, ends_at.
    """
    worked = shifts.select(
        "shift_id",
        "venue_id",
        "role",
        "starts_at",
        "ends_at",
        _utc_days(pl.col("starts_at"), pl.col("ends_at")).alias("_day"),
    ).explode("_day")
    overlap = pl.min_horizontal("_to", "ends_at") - pl.max_horizontal("_from", "starts_at")
    hours = overlap.dt.total_microseconds() / _HOUR_US
    return (
        _event_days(events)
        .join(worked, on=["venue_id", "_day"])
        .unique(["event_id", "shift_id"])
        .filter(overlap > pl.duration(microseconds=0))
        .group_by("event_id")
        .agg(
            hours.sum().alias("staff_hours"),
            hours.filter(pl.col("role") == "door").sum().alias("door_staff_hours"),
        )
    )


def gross_revenue() -> pl.Expr:
    return pl.col("bar_revenue_pence") + pl.col("table_revenue_pence") + pl.col("ticket_revenue_pence")


def _naming(frame: pl.DataFrame, events: pl.DataFrame) -> pl.DataFrame:
    return frame.filter(pl.col("event_id").is_in(events["event_id"].implode()))


def headline_figures(
    events: pl.DataFrame, scans: pl.DataFrame, bar_transactions: pl.DataFrame, orders: pl.DataFrame
) -> pl.DataFrame:
    """Attendance and the revenue split per event, zero for cancelled events: event_id,
    venue_id, brand, starts_at, status, attendance, ticket_revenue_pence, tickets_sold,
    bar_revenue_pence, table_revenue_pence, gross_revenue_pence. Comparisons need only these.

    scans, bar_transactions: the facts of the business days the windows touch; orders:
    the ticket orders naming these events.
    """
    happened = held(events)
    rows = events.select("event_id", "venue_id", "brand", "starts_at", "status")
    for part in (
        attendance(happened, scans),
        ticket_sales(_naming(orders, happened)),
        bar_and_table_revenue(happened, bar_transactions),
    ):
        rows = rows.join(part, on="event_id", how="left")
    counted = [
        "attendance",
        "tickets_sold",
        "ticket_revenue_pence",
        "bar_revenue_pence",
        "table_revenue_pence",
    ]
    return rows.with_columns(pl.col(counted).fill_null(0).cast(pl.Int64)).with_columns(
        gross_revenue().alias("gross_revenue_pence")
    )


def event_performance(
    events: pl.DataFrame,
    scans: pl.DataFrame,
    bar_transactions: pl.DataFrame,
    orders: pl.DataFrame,
    feedback: pl.DataFrame,
    shifts: pl.DataFrame,
    bookings: pl.DataFrame,
) -> pl.DataFrame:
    """One row per event of `events` with its figures (comparisons excluded).

    events: raw_events rows. scans, bar_transactions, shifts: the facts of every business
    day the windows touch (see the functions above for columns). orders, feedback,
    bookings: the rows naming these events.
    """
    happened = held(events)
    rows = events.select(
        "event_id",
        business_date(pl.col("starts_at")).alias("business_date"),
        "name",
        "ends_at",
        "capacity",
    ).join(headline_figures(events, scans, bar_transactions, orders), on="event_id")
    for part in (
        peak_occupancy(happened, scans),
        satisfaction(_naming(feedback, happened)),
        staff_hours(happened, shifts),
        booking_outcomes(_naming(bookings, happened)),
    ):
        rows = rows.join(part, on="event_id", how="left")
    counted = ["peak_occupancy", "feedback_count", "bookings", "bookings_confirmed", "no_shows"]
    rows = rows.with_columns(
        pl.col(counted).fill_null(0).cast(pl.Int64), pl.col("staff_hours", "door_staff_hours").fill_null(0.0)
    )
    return rows.select(
        "event_id",
        "venue_id",
        "business_date",
        "brand",
        "name",
        "status",
        "starts_at",
        "ends_at",
        "capacity",
        "attendance",
        "peak_occupancy",
        ratio(pl.col("peak_occupancy"), pl.col("capacity")).alias("occupancy_rate"),
        "tickets_sold",
        "ticket_revenue_pence",
        "bar_revenue_pence",
        "table_revenue_pence",
        "gross_revenue_pence",
        "feedback_count",
        "avg_satisfaction",
        "staff_hours",
        "door_staff_hours",
        ratio(pl.col("gross_revenue_pence"), pl.col("staff_hours")).alias("revenue_per_staff_hour_pence"),
        ratio(pl.col("attendance"), pl.col("door_staff_hours")).alias("entries_per_door_staff_hour"),
        "bookings",
        "bookings_confirmed",
        "no_shows",
        ratio(pl.col("no_shows"), pl.col("bookings_confirmed")).alias("no_show_rate"),
    )


def compared_nights(events: pl.DataFrame, earlier: pl.DataFrame) -> tuple[pl.DataFrame, list[dt.date]]:
    """What the comparisons of `events` need of `earlier`: the earlier events on the nights of
    the same venue's same-brand events (with every other event of those nights, since a
    night's bar sales are shared among its events: bar_and_table_revenue), and the business
    days those events' hours touch, whose facts their figures are made from. Nights of other
    brands are never compared, so their facts need not be read."""
    night = business_date(pl.col("starts_at")).alias("business_date")
    compared = held(earlier).join(events.select("venue_id", "brand").unique(), on=["venue_id", "brand"])
    nights = compared.select("venue_id", night).unique()
    kept = earlier.with_columns(night).join(nights, on=["venue_id", "business_date"]).drop("business_date")
    days = kept.select(
        pl.date_ranges(
            business_date(pl.col("starts_at")), business_date(pl.col("ends_at") - pl.duration(microseconds=1))
        )
        .explode()
        .unique()
        .sort()
    )
    return kept, days.to_series().drop_nulls().to_list()


def comparisons(events: pl.DataFrame, earlier: pl.DataFrame) -> pl.DataFrame:
    """Each event of `events` against the same brand's earlier events at the same venue.

    Both frames hold the COMPARED columns; `earlier` must hold every event that started in the
    PREVIOUS_EVENT_LOOK_BACK before each of `events` (it may include `events` themselves).
    Returns event_id, previous_event_id, events_previous_4_weeks, the previous and average
    figures and the relative changes against them (null for cancelled events, which have
    no activity to compare).
    """
    baselines = held(earlier).select(
        "venue_id",
        "brand",
        pl.col("event_id").alias("_id"),
        pl.col("starts_at").alias("_starts_at"),
        pl.col("attendance").alias("_attendance"),
        pl.col("gross_revenue_pence").alias("_gross"),
    )
    before = (
        events.select("event_id", "venue_id", "brand", "starts_at")
        .join(baselines, on=["venue_id", "brand"])
        .filter(
            pl.col("_starts_at") < pl.col("starts_at"),
            pl.col("_starts_at") >= pl.col("starts_at") - PREVIOUS_EVENT_LOOK_BACK,
        )
    )
    previous = (
        before.sort("_starts_at", "_id")
        .group_by("event_id")
        .agg(
            pl.col("_id").last().alias("previous_event_id"),
            pl.col("_attendance").last().alias("_previous_attendance"),
            pl.col("_gross").last().alias("_previous_gross"),
        )
    )
    recent = (
        before.filter(pl.col("_starts_at") >= pl.col("starts_at") - AVERAGE_PERIOD)
        .group_by("event_id")
        .agg(
            pl.len().alias("events_previous_4_weeks"),
            pl.col("_attendance").mean().alias("avg_attendance_previous_4_weeks"),
            pl.col("_gross").mean().alias("avg_gross_revenue_previous_4_weeks_pence"),
        )
    )
    rows = (
        events.select("event_id", "status", "attendance", "gross_revenue_pence")
        .join(previous, on="event_id", how="left")
        .join(recent, on="event_id", how="left")
        .with_columns(pl.col("events_previous_4_weeks").fill_null(0).cast(pl.Int64))
    )

    def change(value: str, baseline: str) -> pl.Expr:
        return pl.when(pl.col("status") != "cancelled").then(relative_change(value, baseline))

    return rows.select(
        "event_id",
        "previous_event_id",
        change("attendance", "_previous_attendance").alias("attendance_change_vs_previous"),
        change("gross_revenue_pence", "_previous_gross").alias("gross_revenue_change_vs_previous"),
        "events_previous_4_weeks",
        "avg_attendance_previous_4_weeks",
        "avg_gross_revenue_previous_4_weeks_pence",
        change("attendance", "avg_attendance_previous_4_weeks").alias("attendance_change_vs_4_week_avg"),
        change("gross_revenue_pence", "avg_gross_revenue_previous_4_weeks_pence").alias(
            "gross_revenue_change_vs_4_week_avg"
        ),
    )
