"""Runs the reports of subscriptions that keep a schedule of their own.

The layout schedules (schedules/reports.py) serve subscriptions on their template's
cron; this sensor serves the rest. Its cursor holds the last moment it looked and the
ticks still waiting for their figures: a subscription whose cron ticked since then gets
one run for its latest tick as soon as that period's nights are final.
"""

import datetime as dt
import json

import dagster as dg

from backroom_reporting.assets.nights import AS_OF_TAG
from backroom_reporting.rendering.periods import latest_completed
from backroom_reporting.rendering.readiness import not_ready
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
        return dg.SensorResult(cursor=json.dumps({"looked": now.isoformat(), "waiting": {}}))
    state = json.loads(context.cursor)
    since = dt.datetime.fromisoformat(state["looked"])
    waiting: dict[str, str] = state["waiting"]
    layouts = reports.layouts()
    db = warehouse.database()
    requests, still_waiting, reasons = [], {}, []
    for subscription in active_subscriptions(db):
        if subscription.cron is None or subscription.template_key not in layouts:
            continue
        layout = layouts[subscription.template_key]
        cron, timezone = subscription.schedule(layout)
        fired = latest_tick(cron, timezone, since, now)
        tick = fired.isoformat() if fired else waiting.get(subscription.subscription_id)
        if tick is None:
            continue
        period = latest_completed(layout.period, dt.datetime.fromisoformat(tick))
        problem = not_ready(db, period.first_day, period.last_day)
        if problem:
            still_waiting[subscription.subscription_id] = tick
            reasons.append(f"{subscription.subscription_id} waits: {problem}")
            continue
        requests.append(
            dg.RunRequest(
                run_key=f"{subscription.subscription_id}:{tick}",
                partition_key=subscription.subscription_id,
                tags={AS_OF_TAG: tick},
            )
        )
    cursor = json.dumps({"looked": now.isoformat(), "waiting": still_waiting})
    return dg.SensorResult(run_requests=requests, cursor=cursor, skip_reason="; ".join(reasons) or None)
