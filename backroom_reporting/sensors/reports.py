"""Runs the reports of subscriptions that keep a schedule of their own.

The layout schedules (schedules/reports.py) serve subscriptions on their template's
cron; this sensor serves the rest. Its cursor is the last moment it looked: a
subscription whose cron ticked since then gets one run for its latest tick.
"""

import datetime as dt

import dagster as dg

from backroom_reporting.resources.databases import WarehouseResource
from backroom_reporting.resources.reports import ReportRenderingResource
from backroom_reporting.schedules.reports import REPORTS
from backroom_reporting.subscriptions.service import active_subscriptions, next_delivery


def latest_tick(cron: str, timezone: str, since: dt.datetime, now: dt.datetime) -> dt.datetime | None:
    """The last time `cron` fired in (since, now], if it did."""
    tick, fired = next_delivery(cron, timezone, since), None
    while tick <= now:
        fired, tick = tick, next_delivery(cron, timezone, tick)
    return fired


@dg.sensor(
    target=REPORTS,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Requests the report of each subscription with its own cron when that cron ticks.",
)
def subscriptions_on_their_own_schedule(
    context: dg.SensorEvaluationContext, warehouse: WarehouseResource, reports: ReportRenderingResource
):
    now = dt.datetime.now(dt.UTC)
    if context.cursor is None:  # first look: nothing is overdue yet
        return dg.SensorResult(cursor=now.isoformat())
    since = dt.datetime.fromisoformat(context.cursor)
    layouts = reports.layouts()
    requests = []
    for subscription in active_subscriptions(warehouse.database()):
        if subscription.cron is None or subscription.template_key not in layouts:
            continue
        cron, timezone = subscription.schedule(layouts[subscription.template_key])
        tick = latest_tick(cron, timezone, since, now)
        if tick is not None:
            requests.append(
                dg.RunRequest(
                    run_key=f"{subscription.subscription_id}:{tick.isoformat()}",
                    partition_key=subscription.subscription_id,
                )
            )
    return dg.SensorResult(run_requests=requests, cursor=now.isoformat())
