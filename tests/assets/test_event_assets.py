"""event_performance_analytics and revenue_forecast, materialised through Dagster against
real SQLite and PostgreSQL.

The raw layer is written directly (hand-built rows with known answers); the expected
event figures are worked out here from those rows in plain Python, following the
definitions in docs/metrics.md, never with the project's own functions.
"""

import datetime as dt
import itertools
import math

import polars as pl
import pytest
import sqlalchemy as sa

from backroom_reporting.metrics.business_time import BusinessWindow
from backroom_reporting.warehouse.source_contract import CONTRACT
from backroom_reporting.warehouse.tables.aggregations import daily_aggregations
from backroom_reporting.warehouse.tables.events import event_performance_analytics, revenue_forecast
from backroom_reporting.warehouse.tables.raw import RAW
from backroom_reporting.warehouse.types import table_schema
from tests.metrics.test_forecast import daily_rows, seasonal_naive_errors, synthetic
from tests.worlds import at, night_of

WINDOW = BusinessWindow(dt.date(2026, 3, 20), dt.date(2026, 3, 28))
LOOK_BACK = dt.timedelta(days=56)
AVERAGE_PERIOD = dt.timedelta(days=28)

# ------------------------------------------------------------------------------- the world

ids = itertools.count(1)


def next_id(prefix: str) -> str:
    return f"{prefix}{next(ids):03d}"


def event(event_id, night, brand="NOSTALGIA", status="completed", venue="leeds", start="21:00", end="03:00"):
    return dict(
        event_id=event_id,
        venue_id=venue,
        brand=brand,
        name=f"{brand} {night}",
        starts_at=at(night, start),
        ends_at=at(night, end),
        capacity=200,
        ticket_price_pence=1200,
        status=status,
    )


def scan(night, clock, direction="in", venue="leeds"):
    return dict(
        check_in_id=next_id("ci"),
        venue_id=venue,
        direction=direction,
        scanned_at=at(night, clock),
        staff_id="s-door",
    )


def sale(night, clock, pence, booking=None, venue="leeds"):
    return dict(
        transaction_id=next_id("tx"),
        venue_id=venue,
        staff_id="s-bar",
        booking_id=booking,
        amount_pence=pence,
        items=1,
        occurred_at=at(night, clock),
    )


def order(event_id, quantity, gross, fee, status, purchased_at):
    return dict(
        order_id=next_id("o"),
        venue_id="leeds",
        event_id=event_id,
        quantity=quantity,
        gross_pence=gross,
        fee_pence=fee,
        status=status,
        purchased_at=purchased_at,
        refunded_at=purchased_at + dt.timedelta(days=2) if status == "refunded" else None,
    )


def review(event_id, score, submitted_at):
    return dict(
        feedback_id=next_id("f"),
        venue_id="leeds",
        customer_id="c1",
        event_id=event_id,
        score=score,
        submitted_at=submitted_at,
    )


def shift(night, start, end, staff_id):
    return dict(
        shift_id=next_id("sh"),
        venue_id="leeds",
        staff_id=staff_id,
        starts_at=at(night, start),
        ends_at=at(night, end),
    )


def booking(event_id, night, status):
    return dict(
        booking_id=next_id("b"),
        venue_id="leeds",
        customer_id="c1",
        event_id=event_id,
        created_at=at(night, "12:00") - dt.timedelta(days=20),
        booking_start=at(night, "22:00"),
        party_size=4,
        status=status,
        deposit_pence=4000,
        source="website",
    )


def noon(day: dt.date) -> dt.datetime:
    return at(day, "12:00")


def build_world() -> dict[str, list[dict]]:
    n0, s0, n1 = dt.date(2026, 2, 14), dt.date(2026, 3, 20), dt.date(2026, 3, 21)
    p1, l1, s1, n2 = dt.date(2026, 3, 25), dt.date(2026, 3, 26), dt.date(2026, 3, 27), dt.date(2026, 3, 28)
    world = {
        "venues": [
            dict(
                venue_id=v, name=v, city=v, timezone="Europe/London", capacity=c, business_day_cutoff="06:00"
            )
            for v, c in (("leeds", 300), ("york", 100))
        ],
        "staff": [
            dict(staff_id=s, venue_id="leeds", name=s, role=r, email=f"{s}@x.com", phone="0", active=True)
            for s, r in (("s-door", "door"), ("s-bar", "bar"), ("s-mgr", "manager"))
        ],
        "events": [
            event("n0", n0),  # in the look-back only: n1's previous event
            event("s0", s0, brand="SHHH!"),
            event("n1", n1),
            event("p1", p1, brand="PRIVATE", start="19:00", end="23:30"),
            event("l1", l1, brand="LA FIESTA"),  # the brand's first event, without feedback
            event("y1", l1, venue="york"),  # completed but no scans: the check warns
            event("s1", s1, brand="SHHH!", status="cancelled"),
            event("n2", n2),  # the spring-forward night: five hours
            event("n3", dt.date(2026, 3, 29)),  # the day after the window
        ],
        "check_ins": [
            scan(n0, "22:00"),
            scan(n0, "23:00"),
            scan(s0, "22:00"),
            scan(n1, "20:30"),  # inside before the event starts: occupancy, not attendance
            scan(n1, "21:30"),
            scan(n1, "22:00"),
            scan(n1, "23:00", "out"),
            scan(n1, "00:30"),
            scan(n1, "02:59"),
            scan(n1, "03:00"),  # at ends_at: outside the window
            scan(n1, "04:00", "out"),
            scan(n1, "22:30", venue="york"),  # another venue
            scan(p1, "19:30"),
            scan(p1, "20:00"),
            scan(l1, "22:00"),
            scan(l1, "23:00"),
            scan(l1, "01:00", "out"),
            scan(s1, "22:00"),  # walk-ins on the cancelled night
            scan(s1, "22:30"),
            scan(n2, "21:00"),
            scan(n2, "23:30"),
            scan(n2, "00:30"),
            scan(n2, "00:45", "out"),
            scan(n2, "02:30"),  # BST: clocks went forward at 01:00 GMT
            scan(n2, "05:59", "out"),
        ],
        "bar_transactions": [
            sale(n0, "22:30", 1000),
            sale(n1, "20:45", 500),
            sale(n1, "21:00", 700),
            sale(n1, "01:10", 1250, booking="b-n1"),
            sale(n1, "02:59", 300),
            sale(n1, "03:00", 800),
            sale(n1, "23:00", 5000, venue="york"),
            sale(l1, "23:30", 2000),
            sale(s1, "23:00", 900),
            sale(n2, "21:30", 1500),
            sale(n2, "23:00", 3000, booking="b-n2"),
            sale(n2, "02:59", 400),
            sale(n2, "03:30", 999),
        ],
        "ticket_sales": [
            order("n0", 2, 2400, 240, "paid", noon(dt.date(2026, 2, 1))),
            order("n1", 3, 3600, 360, "paid", noon(dt.date(2026, 3, 1))),
            order("n1", 1, 1200, 120, "refunded", noon(dt.date(2026, 3, 10))),
            order("n1", 1, 1200, 120, "paid", at(n1, "22:00")),
            order("s1", 2, 2400, 240, "paid", noon(dt.date(2026, 3, 12))),  # not yet refunded
            order("n2", 2, 3000, 300, "paid", noon(dt.date(2026, 3, 10))),
        ],
        "feedback": [
            review("n1", 4, noon(dt.date(2026, 3, 22))),
            review("n1", 5, noon(dt.date(2026, 3, 25))),
            review(None, 1, at(n1, "23:00")),  # names no event
            review("s1", 1, noon(dt.date(2026, 3, 28))),
            review("n2", 3, noon(dt.date(2026, 4, 2))),  # after the window's days
        ],
        "staff_shifts": [
            shift(n1, "20:00", "03:30", "s-door"),
            shift(n1, "22:00", "02:00", "s-bar"),
            shift(p1, "18:00", "23:00", "s-mgr"),
            shift(s1, "20:00", "03:30", "s-door"),
            shift(n2, "20:00", "03:30", "s-door"),
            shift(n2, "21:00", "03:00", "s-bar"),
        ],
        "bookings": [
            {**booking("n1", n1, "completed"), "booking_id": "b-n1"},
            booking("n1", n1, "no_show"),
            booking("n1", n1, "cancelled"),
            booking("p1", p1, "completed"),
            booking("s1", s1, "cancelled"),
            {**booking("n2", n2, "completed"), "booking_id": "b-n2"},
        ],
    }
    return world


def write_raw(db, world: dict[str, list[dict]]) -> None:
    for name, rows in world.items():
        table, rules = RAW[name], CONTRACT[name]
        if rules.is_fact:
            rows = [{**r, "business_date": night_of(r[rules.business_time])} for r in rows]
        full = [{c.name: r.get(c.name) for c in table.columns} for r in rows]
        db.replace(table, pl.DataFrame(full, schema=table_schema(table)))


# ------------------------------------------------------------------- expected, by hand


def inside(event: dict, moment: dt.datetime) -> bool:
    return event["starts_at"] <= moment < event["ends_at"]


def owner(world: dict, sale: dict) -> str | None:
    """The event a bar sale counts for: of the held events of its venue and night, the
    latest that began at or before it, else the night's first."""
    night = night_of(sale["occurred_at"])
    tonight = sorted(
        (e["starts_at"], e["event_id"])
        for e in world["events"]
        if e["status"] != "cancelled"
        and e["venue_id"] == sale["venue_id"]
        and night_of(e["starts_at"]) == night
    )
    if not tonight:
        return None
    begun = [event_id for starts, event_id in tonight if starts <= sale["occurred_at"]]
    return begun[-1] if begun else tonight[0][1]


def ratio(numerator, denominator):
    return numerator / denominator if denominator else None


def change(value, baseline):
    return (value - baseline) / baseline if baseline else None


def expected_figures(world: dict, ev: dict) -> dict:
    held = ev["status"] != "cancelled"
    here = ev["venue_id"]
    scans = [s for s in world["check_ins"] if s["venue_id"] == here and inside(ev, s["scanned_at"])]
    entries = sum(s["direction"] == "in" for s in scans) if held else 0
    peak = 0
    if held:
        running = {}
        for s in sorted(world["check_ins"], key=lambda s: (s["scanned_at"], s["check_in_id"])):
            if s["venue_id"] != here:
                continue
            night = night_of(s["scanned_at"])
            running[night] = running.get(night, 0) + (1 if s["direction"] == "in" else -1)
            if inside(ev, s["scanned_at"]):
                peak = max(peak, running[night])
    sales = [t for t in world["bar_transactions"] if held and owner(world, t) == ev["event_id"]]
    bar = sum(t["amount_pence"] for t in sales if t["booking_id"] is None)
    table = sum(t["amount_pence"] for t in sales if t["booking_id"] is not None)
    paid = [
        o for o in world["ticket_sales"] if held and o["event_id"] == ev["event_id"] and o["status"] == "paid"
    ]
    tickets = sum(o["gross_pence"] - o["fee_pence"] for o in paid)
    scores = [f["score"] for f in world["feedback"] if held and f["event_id"] == ev["event_id"]]
    roles = {s["staff_id"]: s["role"] for s in world["staff"]}
    hours = door_hours = 0.0
    for s in world["staff_shifts"]:
        if not held or s["venue_id"] != here:
            continue
        overlap = (
            min(s["ends_at"], ev["ends_at"]) - max(s["starts_at"], ev["starts_at"])
        ).total_seconds() / 3600
        hours += max(overlap, 0.0)
        door_hours += max(overlap, 0.0) if roles[s["staff_id"]] == "door" else 0.0
    booked = [b["status"] for b in world["bookings"] if held and b["event_id"] == ev["event_id"]]
    confirmed = sum(s in ("confirmed", "completed", "no_show") for s in booked)
    no_shows = booked.count("no_show")
    gross = bar + table + tickets
    return dict(
        event_id=ev["event_id"],
        venue_id=here,
        business_date=night_of(ev["starts_at"]),
        brand=ev["brand"],
        status=ev["status"],
        starts_at=ev["starts_at"],
        attendance=entries,
        peak_occupancy=peak,
        occupancy_rate=peak / ev["capacity"],
        tickets_sold=sum(o["quantity"] for o in paid),
        ticket_revenue_pence=tickets,
        bar_revenue_pence=bar,
        table_revenue_pence=table,
        gross_revenue_pence=gross,
        feedback_count=len(scores),
        avg_satisfaction=sum(scores) / len(scores) if scores else None,
        staff_hours=hours,
        door_staff_hours=door_hours,
        revenue_per_staff_hour_pence=ratio(gross, hours),
        entries_per_door_staff_hour=ratio(entries, door_hours),
        bookings=len(booked),
        bookings_confirmed=confirmed,
        no_shows=no_shows,
        no_show_rate=ratio(no_shows, confirmed),
    )


def expected_rows(world: dict, window: BusinessWindow) -> dict[str, dict]:
    every = {ev["event_id"]: expected_figures(world, ev) for ev in world["events"]}
    rows = {}
    for ev in every.values():
        if not window.first_day <= ev["business_date"] <= window.last_day:
            continue
        same = [
            e
            for e in every.values()
            if (e["venue_id"], e["brand"]) == (ev["venue_id"], ev["brand"])
            and e["status"] != "cancelled"
            and ev["starts_at"] - LOOK_BACK <= e["starts_at"] < ev["starts_at"]
        ]
        previous = max(same, key=lambda e: e["starts_at"], default=None)
        recent = [e for e in same if e["starts_at"] >= ev["starts_at"] - AVERAGE_PERIOD]
        avg_attendance = sum(e["attendance"] for e in recent) / len(recent) if recent else None
        avg_gross = sum(e["gross_revenue_pence"] for e in recent) / len(recent) if recent else None
        compared = ev["status"] != "cancelled"
        rows[ev["event_id"]] = {
            **ev,
            "previous_event_id": previous and previous["event_id"],
            "attendance_change_vs_previous": (
                change(ev["attendance"], previous["attendance"]) if previous and compared else None
            ),
            "gross_revenue_change_vs_previous": (
                change(ev["gross_revenue_pence"], previous["gross_revenue_pence"])
                if previous and compared
                else None
            ),
            "events_previous_4_weeks": len(recent),
            "avg_attendance_previous_4_weeks": avg_attendance,
            "avg_gross_revenue_previous_4_weeks_pence": avg_gross,
            "attendance_change_vs_4_week_avg": change(ev["attendance"], avg_attendance) if compared else None,
            "gross_revenue_change_vs_4_week_avg": change(ev["gross_revenue_pence"], avg_gross)
            if compared
            else None,
        }
    return rows


def assert_rows_match(actual: dict[str, dict], expected: dict[str, dict]) -> None:
    assert actual.keys() == expected.keys()
    for event_id, row in expected.items():
        for column, value in row.items():
            got = actual[event_id][column]
            if isinstance(value, float):
                assert got == pytest.approx(value), (event_id, column)
            else:
                assert got == value, (event_id, column, got, value)


def analytics_rows(db) -> dict[str, dict]:
    return {r["event_id"]: r for r in db.read_table(event_performance_analytics).to_dicts()}


@pytest.fixture
def world(databases):
    world = build_world()
    write_raw(databases.warehouse, world)
    return world


# ------------------------------------------------------------------------------- tests


def test_every_event_of_the_window_gets_its_figures(databases, world, materialise):
    [stage] = materialise(WINDOW, ["event_performance_analytics"])
    rows = analytics_rows(databases.warehouse)
    assert_rows_match(rows, expected_rows(world, WINDOW))
    # The hand-checked nights, stated outright.
    n1, n2, l1, s1 = rows["n1"], rows["n2"], rows["l1"], rows["s1"]
    # Every sale of n1's night at Leeds, before the doors and after the window too.
    assert (n1["attendance"], n1["peak_occupancy"], n1["gross_revenue_pence"]) == (4, 4, 2300 + 1250 + 4320)
    assert (n1["previous_event_id"], n1["events_previous_4_weeks"]) == ("n0", 0)
    assert (n2["door_staff_hours"], n2["staff_hours"]) == (pytest.approx(5.0), pytest.approx(10.0))
    assert (n2["previous_event_id"], n2["events_previous_4_weeks"]) == ("n1", 1)
    assert l1["avg_satisfaction"] is None and l1["previous_event_id"] is None
    assert l1["attendance_change_vs_4_week_avg"] is None
    assert (s1["status"], s1["attendance"], s1["gross_revenue_pence"], s1["tickets_sold"]) == (
        "cancelled",
        0,
        0,
        0,
    )
    assert rows["s0"]["revenue_per_staff_hour_pence"] is None  # nobody on shift: no denominator
    assert stage.check_failures == ["event_performance_analytics:completed_events_have_entries"]
    nights = [m.metadata for m in stage.materializations]
    assert sum(m["dagster/row_count"].value for m in nights) == 7
    assert sum(m["held"].value for m in nights) == 6  # one cancelled


def test_comparisons_do_not_depend_on_the_order_partitions_run_in(databases, world, materialise):
    saturdays = [BusinessWindow(d, d) for d in (dt.date(2026, 3, 21), dt.date(2026, 3, 28))]
    results = []
    for order in (saturdays, saturdays[::-1]):
        databases.warehouse.replace(event_performance_analytics, pl.DataFrame())
        for window in order:
            materialise(window, ["event_performance_analytics"])
        results.append(analytics_rows(databases.warehouse))
    assert results[0] == results[1]
    expected = expected_rows(world, WINDOW)
    assert_rows_match(results[0], {k: expected[k] for k in ("n1", "n2")})


def test_rerunning_a_day_replaces_its_rows_and_follows_a_moved_event(databases, world, materialise):
    materialise(WINDOW, ["event_performance_analytics"])
    moved = [
        e
        | {"starts_at": e["starts_at"] + dt.timedelta(days=1), "ends_at": e["ends_at"] + dt.timedelta(days=1)}
        if e["event_id"] == "l1"
        else e
        for e in world["events"]
    ]
    write_raw(databases.warehouse, {"events": moved})
    materialise(BusinessWindow(dt.date(2026, 3, 27), dt.date(2026, 3, 27)), ["event_performance_analytics"])
    rows = analytics_rows(databases.warehouse)
    assert rows["l1"]["business_date"] == dt.date(2026, 3, 27)
    assert len(rows) == len(expected_rows(world, WINDOW))


# ------------------------------------------------------------------------- the forecast


def daily_aggregation_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """Whole daily_aggregations rows: the given columns, zero counts and null rates elsewhere."""
    schema = table_schema(daily_aggregations)
    nullable = {c.name for c in daily_aggregations.columns if c.nullable}
    return frame.with_columns(
        pl.lit(None if name in nullable else 0, dtype).alias(name)
        for name, dtype in schema.items()
        if name not in frame.columns
    ).select(list(schema))


def test_each_week_forecasts_28_days_per_venue_from_its_end_and_records_its_backtest(databases, materialise):
    made_on = dt.date(2026, 5, 17)  # a Sunday: the week of 11 May ends with it
    week = BusinessWindow(made_on - dt.timedelta(days=6), made_on)
    first, newcomer_first = dt.date(2025, 5, 1), dt.date(2026, 4, 8)
    leeds = synthetic(first, made_on)
    daily = pl.concat(
        [
            daily_rows("leeds", leeds, first, made_on),
            daily_rows("york", synthetic(newcomer_first, made_on, seed=5), newcomer_first, made_on),
        ]
    )
    databases.warehouse.replace(daily_aggregations, daily_aggregation_rows(daily))

    [stage] = materialise(week, ["revenue_forecast"])
    rows = databases.warehouse.read_table(revenue_forecast)
    assert rows.group_by("venue_id").len().sort("venue_id").rows() == [("leeds", 28), ("york", 28)]
    assert set(rows["week_start"]) == {week.first_day} and set(rows["made_on"]) == {made_on}
    assert rows["forecast_date"].min() == made_on + dt.timedelta(days=1)
    assert dict(rows.select("venue_id", "method").unique().iter_rows()) == {
        "leeds": "local_level_log",
        "york": "seasonal_naive",
    }
    assert (rows["predicted_pence"] >= 0).all() and (rows["lower_95_pence"] >= 0).all()

    [materialisation] = stage.materializations
    assert materialisation.partition == week.first_day.isoformat()
    metadata = {k: v.value for k, v in materialisation.metadata.items()}
    expected = seasonal_naive_errors(leeds, made_on)  # york is too young to back-test
    assert metadata["mape_28_seasonal_naive"] == pytest.approx(
        sum(expected[28]) / len(expected[28]), abs=1e-4
    )
    assert metadata["mape_7_seasonal_naive"] == pytest.approx(sum(expected[7]) / len(expected[7]), abs=1e-4)
    assert math.isfinite(metadata["mape_28_model"]) and math.isfinite(metadata["mape_7_model"])
    assert metadata["backtest_origins"] == 8
    assert metadata["seasonal_naive_venues"] == ["york"]
    assert metadata["backtest_by_venue"]["york"]["backtest_origins"] == 0
    assert metadata["backtest_by_venue"]["leeds"]["history_days"] == 364  # the trailing year only
    assert stage.check_failures == []

    # The week before keeps its own forecast, made at its own end.
    materialise(
        BusinessWindow(week.first_day - dt.timedelta(days=7), week.first_day - dt.timedelta(days=1)),
        ["revenue_forecast"],
    )
    earlier = databases.warehouse.read_table(revenue_forecast).filter(pl.col("week_start") < week.first_day)
    assert set(earlier["made_on"]) == {made_on - dt.timedelta(days=7)} and earlier.height == 56
    # A week's forecast is replaced whole: a venue gone from the actuals leaves none behind.
    with databases.warehouse.engine.begin() as conn:
        conn.execute(sa.delete(daily_aggregations).where(daily_aggregations.c.venue_id == "york"))
    materialise(week, ["revenue_forecast"])
    after = databases.warehouse.read_table(revenue_forecast)
    assert set(after.filter(pl.col("week_start") == week.first_day)["venue_id"]) == {"leeds"}
    assert after.filter(pl.col("week_start") < week.first_day).equals(earlier)


def test_a_weeks_backtest_scores_the_forecasts_earlier_weeks_stored(databases, materialise):
    made_on = dt.date(2026, 5, 17)
    week = BusinessWindow(made_on - dt.timedelta(days=6), made_on)
    first = dt.date(2025, 5, 1)
    leeds = synthetic(first, made_on)
    databases.warehouse.replace(
        daily_aggregations, daily_aggregation_rows(daily_rows("leeds", leeds, first, made_on))
    )

    def backtest() -> dict:
        [stage] = materialise(week, ["revenue_forecast"])
        [materialisation] = stage.materializations
        metadata = {k: v.value for k, v in materialisation.metadata.items()}
        assert metadata["mape_28_model"] == pytest.approx(
            metadata["backtest_by_venue"]["leeds"]["mape_28_model"], abs=1e-4
        )
        return metadata["backtest_by_venue"]["leeds"]

    fitted = backtest()  # no earlier week stored: every origin is fitted
    assert (fitted["backtest_origins"], fitted["backtest_origins_stored"]) == (8, 0)

    # Each origin's week (a Sunday's) stored a flat forecast, deliberately unlike the model's.
    origins = [made_on - dt.timedelta(days=28 + 7 * k) for k in range(8)]
    flat = {origin: 300_000 + 50_000 * k for k, origin in enumerate(origins)}
    stored = [
        {
            "week_start": origin - dt.timedelta(days=6),
            "venue_id": "leeds",
            "forecast_date": origin + dt.timedelta(days=h),
            "made_on": origin,
            "horizon_days": h,
            "expected_to_trade": True,
            "predicted_pence": pence,
            "method": "local_level_log",
        }
        for origin, pence in flat.items()
        for h in range(1, 29)
    ]
    databases.warehouse.replace(revenue_forecast, pl.DataFrame(stored, schema=table_schema(revenue_forecast)))
    reused = backtest()
    assert (reused["backtest_origins"], reused["backtest_origins_stored"]) == (8, 8)
    errors = [
        abs(pence - leeds[day]) / leeds[day]
        for origin, pence in flat.items()
        for day in (origin + dt.timedelta(days=h) for h in range(1, 29))
        if day in leeds
    ]
    assert reused["mape_28_model"] == pytest.approx(sum(errors) / len(errors), rel=1e-9)
    assert reused["mape_28_seasonal_naive"] == fitted["mape_28_seasonal_naive"]

    # Without them the origins are fitted again, as before.
    with databases.warehouse.engine.begin() as conn:
        conn.execute(sa.delete(revenue_forecast).where(revenue_forecast.c.week_start < week.first_day))
    assert backtest() == fitted


def test_no_actuals_no_forecast(databases, materialise):
    [stage] = materialise(WINDOW, ["revenue_forecast"])
    assert databases.warehouse.read_table(revenue_forecast).height == 0
    assert {m.metadata["venues"].value for m in stage.materializations} == {0}
