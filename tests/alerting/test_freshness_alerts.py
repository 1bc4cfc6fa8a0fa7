"""The not_fresh sensor on a simulated clock: past a rule's deadline (London time, whatever
the season) a night not ready to report raises one incident naming the venues, the night and
why; the night's figures landing resolve it."""

import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
import sqlalchemy as sa
from dagster._core.test_utils import freeze_time

from backroom_reporting.alerting.figures import FIGURES_READY
from backroom_reporting.alerting.incidents import list_incidents
from backroom_reporting.resources.delivery import DeliveryResource
from backroom_reporting.sensors.figure_alerts import alert_on_late_figures
from backroom_reporting.warehouse.tables.aggregations import night_status
from backroom_reporting.warehouse.tables.raw import RAW

LONDON = ZoneInfo("Europe/London")
RULES = """\
rules:
  - key: figures_not_ready
    kind: not_fresh
    severity: critical
    channels: [sms]
    escalation: on_call
    deadline: "07:00"
  - key: figures_late_for_lunch
    kind: not_fresh
    severity: warning
    channels: [email]
    escalation: working_hours
    deadline: "11:30"
"""
VENUES = [("leeds", "The Backroom Leeds"), ("york", "The Backroom York")]


@pytest.fixture
def rules_text() -> str:
    return RULES


@pytest.fixture(autouse=True)
def venues(db) -> None:
    with db.engine.begin() as conn:
        conn.execute(
            sa.insert(RAW["venues"]),
            [
                dict(
                    venue_id=v,
                    name=n,
                    city="-",
                    timezone="Europe/London",
                    capacity=300,
                    business_day_cutoff="06:00",
                )
                for v, n in VENUES
            ],
        )


def record(db, night: dt.date, not_final: str | None = None, failed_checks: str | None = None) -> None:
    """night_status as daily_aggregations writes it for a night it computed."""
    with db.engine.begin() as conn:
        conn.execute(sa.delete(night_status).where(night_status.c.business_date == night))
        conn.execute(
            sa.insert(night_status).values(
                business_date=night,
                final=not_final is None,
                not_final=not_final,
                loaded_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                aggregated_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                failed_checks=failed_checks,
            )
        )


def tick(warehouse, moment: dt.datetime) -> str:
    with (
        freeze_time(moment),
        dg.build_sensor_context(
            resources={"warehouse": warehouse, "delivery": DeliveryResource()}
        ) as context,
    ):
        return alert_on_late_figures(context).skip_message


def london(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=LONDON)


def test_a_night_not_ready_by_the_deadline_raises_one_incident_until_its_figures_land(warehouse, db):
    saturday, sunday = dt.date(2026, 11, 28), dt.date(2026, 11, 29)
    record(db, saturday - dt.timedelta(days=1))

    assert tick(warehouse, london(2026, 11, 29, 6, 59)) == "incidents raised none; resolved none"
    assert list_incidents(db) == []

    tick(warehouse, london(2026, 11, 29, 7, 0))
    [incident] = list_incidents(db)
    assert (incident.rule_key, incident.dedup_key, incident.severity) == (
        "figures_not_ready",
        "figures_not_ready:night:2026-11-28",
        "critical",
    )
    assert incident.title == (
        "Past the 07:00 deadline for The Backroom Leeds and The Backroom York: The figures for "
        "Saturday 28 November 2026 are not ready: the night has not been loaded since it closed."
    )
    record(db, saturday, not_final="bookings, payments")
    tick(warehouse, london(2026, 11, 29, 7, 0, 30))
    [incident] = list_incidents(db)
    assert incident.occurrences == 2
    assert "bookings, payments were not loaded after the night closed" in incident.detail

    # Held back by a blocking check is not ready either; the lunchtime rule hears of it too.
    record(db, saturday, failed_checks="matches_hourly")
    tick(warehouse, london(2026, 11, 29, 11, 30))
    found = {i.dedup_key: i for i in list_incidents(db)}
    assert sorted(found) == ["figures_late_for_lunch:night:2026-11-28", "figures_not_ready:night:2026-11-28"]
    assert found["figures_late_for_lunch:night:2026-11-28"].title == (
        "Past the 11:30 deadline for The Backroom Leeds and The Backroom York: The figures for Saturday "
        "28 November 2026 are held back: they failed matches_hourly, so the previous figures were kept."
    )

    # Still not ready the next morning, when Sunday is due (and is ready): Saturday's stay open.
    record(db, sunday)
    tick(warehouse, london(2026, 11, 30, 7, 5))
    assert {i.status for i in list_incidents(db)} == {"triggered"}
    assert len(list_incidents(db)) == 2

    record(db, saturday)
    numbers = sorted(i.incident_number for i in list_incidents(db))
    assert f"; resolved {numbers[0]}, {numbers[1]}; paging: sent " in tick(
        warehouse, london(2026, 11, 30, 8, 0)
    )
    assert {(i.status, i.resolved_by, i.resolved_via) for i in list_incidents(db)} == {
        ("resolved", "dagster", FIGURES_READY)
    }


@pytest.mark.parametrize(
    ("night", "before_utc", "deadline_utc"),
    [
        # Spring forward: 07:00 on Sunday 29 March is 06:00 UTC.
        (
            dt.date(2026, 3, 28),
            dt.datetime(2026, 3, 29, 5, 59, tzinfo=dt.UTC),
            dt.datetime(2026, 3, 29, 6, 0, tzinfo=dt.UTC),
        ),
        # Fall back: 07:00 on Sunday 25 October is 07:00 UTC (06:00 UTC would be 06:00 GMT).
        (
            dt.date(2026, 10, 24),
            dt.datetime(2026, 10, 25, 6, 59, tzinfo=dt.UTC),
            dt.datetime(2026, 10, 25, 7, 0, tzinfo=dt.UTC),
        ),
    ],
    ids=["spring-forward", "fall-back"],
)
def test_the_deadline_is_seven_in_london_on_a_clock_change_night(
    warehouse, db, night, before_utc, deadline_utc
):
    record(db, night - dt.timedelta(days=1))
    tick(warehouse, before_utc)
    assert list_incidents(db) == []
    tick(warehouse, deadline_utc)
    assert [i.dedup_key for i in list_incidents(db)] == [f"figures_not_ready:night:{night.isoformat()}"]
