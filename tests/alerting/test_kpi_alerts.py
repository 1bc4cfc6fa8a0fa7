"""The kpi_status sensor on a real Dagster instance, over kpi_calculations materialised by the
project's own assets: a KPI critical (or warning, for a rule asking) on a venue's night raises
one incident carrying its value and threshold, once: five ticks, a resolution and a
recomputation of the night raise nothing more."""

import datetime as dt

import dagster as dg
import pytest
import sqlalchemy as sa
from dagster._core.test_utils import freeze_time

from backroom_reporting.alerting.incidents import list_incidents, resolve
from backroom_reporting.definitions import defs
from backroom_reporting.sensors.figure_alerts import alert_on_kpi_status
from backroom_reporting.warehouse.tables.aggregations import daily_aggregations
from backroom_reporting.warehouse.tables.raw import RAW
from tests.assets.test_kpi_assets import frame, leeds_day

WEDNESDAY, THURSDAY = dt.date(2026, 11, 25), dt.date(2026, 11, 26)
RULES = """\
rules:
  - key: spend_critical
    kind: kpi_status
    kpis: [spend_per_head]
    severity: warning
    channels: [slack]
    escalation: working_hours
  - key: spend_warning
    kind: kpi_status
    status: warning
    kpis: [spend_per_head]
    severity: info
    channels: [email]
    escalation: none
"""
# Spend per head (catalogue: target £30.00, warning £24.00, critical £18.00, higher better) is
# gross revenue over check-ins: £1,500 over 100 people on Wednesday, £2,000 on Thursday.
CRITICAL = "spend_critical:kpi:spend_per_head:leeds:2026-11-25"
WARNING_OF_CRITICAL = "spend_warning:kpi:spend_per_head:leeds:2026-11-25"
WARNING = "spend_warning:kpi:spend_per_head:leeds:2026-11-26"


def night(day: dt.date, gross_pence: int, check_ins: int) -> dict:
    bar, table = gross_pence * 2 // 3, gross_pence // 5
    return leeds_day(1, day) | {
        "bar_revenue_pence": bar,
        "table_revenue_pence": table,
        "ticket_revenue_pence": gross_pence - bar - table,
        "gross_revenue_pence": gross_pence,
        "net_revenue_pence": gross_pence,
        "check_ins": check_ins,
    }


@pytest.fixture
def rules_text() -> str:
    return RULES


@pytest.fixture
def world(databases, warehouse):
    """The two nights' figures in the warehouse, the catalogue loaded, a Dagster instance."""
    with databases.warehouse as db:
        db.replace(
            daily_aggregations,
            frame([night(WEDNESDAY, 150_000, 100), night(THURSDAY, 200_000, 100)], daily_aggregations),
        )
        with db.engine.begin() as conn:
            conn.execute(
                sa.insert(RAW["venues"]).values(
                    venue_id="leeds",
                    name="The Backroom Leeds",
                    city="Leeds",
                    timezone="Europe/London",
                    capacity=300,
                    business_day_cutoff="06:00",
                )
            )
    resources = {**defs.resources, "warehouse": warehouse}
    with dg.instance_for_test() as instance:
        dg.materialize([*defs.assets], selection=["kpi_definitions"], instance=instance, resources=resources)
        yield instance, resources


def calculate(world, day: dt.date) -> None:
    instance, resources = world
    dg.materialize(
        [*defs.assets],
        selection=["kpi_calculations"],
        partition_key=day.isoformat(),
        instance=instance,
        resources=resources,
    )


def tick(world, cursor: str | None, now: dt.datetime) -> dg.SensorResult:
    instance, resources = world
    with (
        freeze_time(now),
        dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources) as context,
    ):
        return alert_on_kpi_status(context)


def test_a_critical_kpi_alerts_once_for_its_night(world, db):
    calculate(world, WEDNESDAY)
    calculate(world, THURSDAY)
    friday_morning = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)

    # Nights long gone when first read (a rebuild of history) are not news.
    assert tick(world, None, friday_morning + dt.timedelta(days=30)).skip_reason.skip_message == (
        "nights written: 2026-11-25, 2026-11-26; incidents raised none"
    )
    assert list_incidents(db) == []

    cursor = None
    for _ in range(5):
        result = tick(world, cursor, friday_morning)
        cursor = result.cursor
    found = {i.dedup_key: i for i in list_incidents(db)}
    assert sorted(found) == [CRITICAL, WARNING_OF_CRITICAL, WARNING]
    assert {i.occurrences for i in found.values()} == {1}
    assert found[CRITICAL].title == found[WARNING_OF_CRITICAL].title
    assert found[CRITICAL].title == (
        "The Backroom Leeds: Spend per head at £15.00 on Wednesday 25 November 2026 is critical "
        "(at or below £18.00)"
    )
    assert found[WARNING].title == (
        "The Backroom Leeds: Spend per head at £20.00 on Thursday 26 November 2026 is warning "
        "(at or below £24.00)"
    )
    assert found[CRITICAL].detail.startswith("spend_per_head at leeds on 2026-11-25: value 1500 pence")
    assert (found[CRITICAL].severity, found[WARNING].severity) == ("warning", "info")

    # Someone resolves it; the night is recomputed, still critical: read again, raised no more.
    resolve(db, found[CRITICAL].incident_number, "sam", "cli", friday_morning)
    calculate(world, WEDNESDAY)
    again = tick(world, cursor, friday_morning + dt.timedelta(minutes=5))
    assert again.skip_reason.skip_message == "nights written: 2026-11-25; incidents raised none"
    assert len(list_incidents(db)) == 3
    after = {i.dedup_key: i for i in list_incidents(db)}
    assert (after[CRITICAL].status, after[CRITICAL].resolved_by) == ("resolved", "sam")
    assert {after[k].status for k in (WARNING, WARNING_OF_CRITICAL)} == {"triggered"}
