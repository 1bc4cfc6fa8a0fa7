"""Paging on a sensor tick: every 30 s, each triggered incident takes its escalation's due
steps and each one resolved lately is announced (backroom_reporting/alerting/paging.py).

The escalation lives in the warehouse (the incidents and the messages sent), not in the
daemon's memory, so a restart picks it up where it was. The alert sensors page what they
raise in the same tick (`paged`), so the first message never waits for this sensor.
Each tick also beats the heartbeat the watchdog reads.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import dagster as dg
from dagster._time import get_current_datetime

from backroom_reporting import settings
from backroom_reporting.alerting.incidents import Incident
from backroom_reporting.alerting.on_call import parse_on_call
from backroom_reporting.alerting.watchdog import PAGING_SENSOR, beat
from backroom_reporting.resources.databases import WarehouseResource
from backroom_reporting.resources.delivery import DeliveryResource

if TYPE_CHECKING:
    from backroom_reporting.alerting.paging import Notification, Pager


def pager(warehouse: WarehouseResource, delivery: DeliveryResource) -> Pager:
    # The providers' SDKs load here, when something is paged, not when the code location loads.
    from backroom_reporting.alerting.paging import Pager

    db = warehouse.database()
    roster = parse_on_call(settings.ON_CALL.get()).roster(db)
    return Pager(db, roster, delivery.outbox(), delivery.mailer())


def paged(
    warehouse: WarehouseResource, delivery: DeliveryResource, incidents: list[Incident], now: dt.datetime
) -> str:
    """Send what is due for incidents a tick raised or resolved, without waiting for the next
    tick; what went, as "; paging: ..." for the tick's message ("" for no incidents)."""
    if not incidents:
        return ""
    return f"; paging: {summary(pager(warehouse, delivery).page(incidents, now))}"


def incident_numbers(incidents: list[Incident], none: str = "none") -> str:
    """E.g. "4821, 4822", for a tick's message; `none` when there are none."""
    return ", ".join(str(i.incident_number) for i in incidents) or none


def summary(sent: list[Notification]) -> str:
    if not sent:
        return "nothing due"
    failed = [n for n in sent if n.status == "failed"]
    # A resolution's step key names its address; the summary needs only that it was one.
    told = sorted(
        {f"#{n.incident_number} {n.step_key.split(':')[0]} {n.channel}" for n in sent if n.status == "sent"}
    )
    text = f"sent {', '.join(told) or 'nothing'}"
    if failed:
        text += "; failed " + "; ".join(f"#{n.incident_number} {n.channel}: {n.detail}" for n in failed)
    return text


@dg.sensor(
    name=PAGING_SENSOR,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Takes each open incident's due escalation steps and announces resolutions; beats "
    "the heartbeat the watchdog reads.",
)
def page_on_call(
    context: dg.SensorEvaluationContext, warehouse: WarehouseResource, delivery: DeliveryResource
):
    # Dagster's clock: the tests move it through a night.
    now = get_current_datetime()
    paging = pager(warehouse, delivery)
    beat(paging.db, PAGING_SENSOR, now)
    return dg.SkipReason(summary(paging.page_all(now)))
