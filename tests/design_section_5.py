"""docs/metrics.md's daily figures, written again in plain Python from the source rows, for the tests.

Deliberately independent of the project: no polars, no project functions; rows are read
with plain SQLAlchemy and every figure is computed with loops and dictionaries.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from statistics import mean
from zoneinfo import ZoneInfo

from tests.worlds import source_rows

UTC = dt.UTC


def instant(value) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value.astimezone(UTC)
    parsed = dt.datetime.fromisoformat(value)
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def rate(numerator, denominator):
    return numerator / denominator if denominator else None


def daily_figures(source_url: str) -> dict[tuple[str, dt.date], dict]:
    """Every daily_aggregations figure for every (venue, business day) with any fact."""
    venues = {v["venue_id"]: v for v in source_rows(source_url, "venues")}

    def day_of(venue_id: str, moment) -> dt.date:
        venue = venues[venue_id]
        hours, minutes = map(int, venue["business_day_cutoff"].split(":"))
        local = instant(moment).astimezone(ZoneInfo(venue["timezone"])).replace(tzinfo=None)
        return (local - dt.timedelta(hours=hours, minutes=minutes)).date()

    vip = {c["customer_id"]: bool(int(c["is_vip"])) for c in source_rows(source_url, "customers")}
    days: dict[tuple[str, dt.date], dict] = defaultdict(lambda: defaultdict(int))
    facts = {
        "bookings": "booking_start",
        "payments": "created_at",
        "ticket_sales": "purchased_at",
        "check_ins": "scanned_at",
        "bar_transactions": "occurred_at",
        "feedback": "submitted_at",
        "staff_shifts": "starts_at",
    }
    rows = {}
    for table, time_column in facts.items():
        rows[table] = source_rows(source_url, table)
        for row in rows[table]:
            row["_day"] = (row["venue_id"], day_of(row["venue_id"], row[time_column]))
            if table != "feedback":  # feedback makes the night it is about exist, below
                days[row["_day"]]  # every fact makes its day exist

    for row in rows["bar_transactions"]:
        column = "table_revenue_pence" if row["booking_id"] else "bar_revenue_pence"
        days[row["_day"]][column] += row["amount_pence"]
    # A ticket's revenue belongs to its event's night, whenever bought; feedback to the night
    # it is about (its event's, else its booking's, else the day sent).
    event_night = {
        e["event_id"]: (e["venue_id"], day_of(e["venue_id"], e["starts_at"]))
        for e in source_rows(source_url, "events")
    }
    booking_night = {b["booking_id"]: b["_day"] for b in rows["bookings"]}
    for row in rows["ticket_sales"]:
        night = (
            (row["venue_id"], event_night[row["event_id"]][1])
            if row["event_id"] in event_night
            else row["_day"]
        )
        days[night]  # the night a ticket is for exists too
        if row["status"] == "paid":
            net = row["gross_pence"] - row["fee_pence"]
            days[row["_day"]]["ticket_sales_taken_pence"] += net
            days[night]["ticket_revenue_pence"] += net
            days[night]["tickets_sold"] += row["quantity"]
    for row in rows["feedback"]:
        if row["event_id"] in event_night:
            row["_night"] = (row["venue_id"], event_night[row["event_id"]][1])
        elif row["booking_id"] in booking_night:
            row["_night"] = (row["venue_id"], booking_night[row["booking_id"]][1])
        else:
            row["_night"] = row["_day"]
        days[row["_night"]]
    for row in rows["payments"]:
        if row["status"] == "succeeded" and row["kind"] == "deposit":
            days[row["_day"]]["deposits_pence"] += row["amount_pence"]
            days[row["_day"]]["_deposit_payments"] += 1
        if row["status"] == "succeeded" and row["kind"] == "refund":
            days[row["_day"]]["refunds_pence"] += row["amount_pence"]
    tables_used = defaultdict(set)
    for row in rows["bookings"]:
        day = days[row["_day"]]
        day["bookings_total"] += 1
        day["bookings_confirmed"] += row["status"] in ("confirmed", "completed", "no_show")
        day["bookings_cancelled"] += row["status"] == "cancelled"
        day["no_shows"] += row["status"] == "no_show"
        if row["status"] == "completed":
            day["bookings_completed"] += 1
            day["covers"] += row["party_size"]
            if row["table_id"]:
                tables_used[row["_day"]].add(row["table_id"])
        if row["status"] != "cancelled":
            day["birthdays"] += row["special_occasion"] == "birthday"
            day["anniversaries"] += row["special_occasion"] == "anniversary"

    scans = defaultdict(list)
    for row in rows["check_ins"]:
        scans[row["_day"]].append(row)
        days[row["_day"]]["check_ins" if row["direction"] == "in" else "check_outs"] += 1
    for key, day_scans in scans.items():
        inside, peak, peak_at = 0, 0, None
        for scan in sorted(day_scans, key=lambda s: (instant(s["scanned_at"]), s["check_in_id"])):
            inside += 1 if scan["direction"] == "in" else -1
            if inside > peak or (peak_at is None and inside == peak and scan["direction"] == "in"):
                peak, peak_at = inside, instant(scan["scanned_at"])
        days[key]["peak_occupancy"] = peak
        if any(s["direction"] == "in" for s in day_scans):
            days[key]["peak_hour"] = peak_at.astimezone(ZoneInfo("Europe/London")).hour

    visits = defaultdict(set)  # (venue, day) -> customers
    for row in rows["bookings"]:
        if row["status"] == "completed":
            visits[row["_day"]].add(row["customer_id"])
    for row in rows["check_ins"]:
        if row["direction"] == "in" and row["customer_id"]:
            visits[row["_day"]].add(row["customer_id"])
    first_visit = {}
    for (venue, day), customers in visits.items():
        for customer in customers:
            key = (venue, customer)
            first_visit[key] = min(first_visit.get(key, day), day)
    for (venue, day), customers in visits.items():
        figures = days[(venue, day)]
        figures["visitors"] = len(customers)
        figures["new_customers"] = sum(first_visit[(venue, c)] == day for c in customers)
        figures["returning_customers"] = sum(first_visit[(venue, c)] < day for c in customers)
        figures["vip_customers"] = sum(vip[c] for c in customers)

    scores = defaultdict(list)
    for row in rows["feedback"]:
        scores[row["_night"]].append(row["score"])

    out = {}
    for key, day in days.items():
        capacity = venues[key[0]]["capacity"]
        gross = day["bar_revenue_pence"] + day["table_revenue_pence"] + day["ticket_revenue_pence"]
        out[key] = {
            "bar_revenue_pence": day["bar_revenue_pence"],
            "table_revenue_pence": day["table_revenue_pence"],
            "ticket_revenue_pence": day["ticket_revenue_pence"],
            "ticket_sales_taken_pence": day["ticket_sales_taken_pence"],
            "gross_revenue_pence": gross,
            "deposits_pence": day["deposits_pence"],
            "refunds_pence": day["refunds_pence"],
            "net_revenue_pence": gross - day["refunds_pence"],
            "bookings_total": day["bookings_total"],
            "bookings_confirmed": day["bookings_confirmed"],
            "bookings_cancelled": day["bookings_cancelled"],
            "no_shows": day["no_shows"],
            "bookings_completed": day["bookings_completed"],
            "covers": day["covers"],
            "no_show_rate": rate(day["no_shows"], day["bookings_confirmed"]),
            "check_ins": day["check_ins"],
            "check_outs": day["check_outs"],
            "peak_occupancy": day["peak_occupancy"],
            "occupancy_rate": rate(day["peak_occupancy"], capacity),
            "peak_hour": day.get("peak_hour"),
            "new_customers": day["new_customers"],
            "returning_customers": day["returning_customers"],
            "vip_customers": day["vip_customers"],
            "birthdays": day["birthdays"],
            "anniversaries": day["anniversaries"],
            "avg_satisfaction": mean(scores[key]) if scores[key] else None,
            "visitors": day["visitors"],
            "tickets_sold": day["tickets_sold"],
            "feedback_count": len(scores[key]),
            "tables_used": len(tables_used[key]),
            "table_turnover": rate(day["bookings_completed"], len(tables_used[key])),
            "spend_per_head_pence": rate(gross, day["check_ins"]),
            "avg_party_size": rate(day["covers"], day["bookings_completed"]),
            "avg_deposit_pence": rate(day["deposits_pence"], day["_deposit_payments"]),
        }
    return out


def assert_same(expected: dict, actual: dict, where) -> None:
    """Every figure of `expected` (daily_figures) is in `actual` (a warehouse row); floats to 1e-9."""
    for column, value in expected.items():
        got = actual[column]
        if isinstance(value, float) or isinstance(got, float):
            assert (value is None and got is None) or math.isclose(value, got, rel_tol=1e-9), (
                where,
                column,
                value,
                got,
            )
        else:
            assert got == value, (where, column, value, got)
