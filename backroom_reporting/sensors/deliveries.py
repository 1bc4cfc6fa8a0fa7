"""When to send: one sensor for every subscription's report time.

A subscription is due when its next_delivery_at has come (its own cron, else its
template's, on the recipient's clock). The sensor asks for its report and delivery in one
run, for the period complete at the latest time its cron fired, once that period's nights
are final (else it waits and says why). next_delivery_at moves on only when the delivery
asset has recorded every outcome, so a run that fails leaves the subscription due. A
subscription resumed after weeks gets the latest period only: the missed ones are not a
backlog (a past period is asked for by materialising with the `backroom/report_day` tag).

When a period's report failed, its delivery sent the last good report, marked stale; the
sensor then asks, once an hour for a week, for that period's report and delivery again, so
the fresh report goes out once it renders.

It also sends the deliveries held for an unverified address once the address is verified.

Subscriptions due together (the same report time: the same tags) go in one run over their
partitions, so a venue group's fifty reports at 22:00 share one process, one Chromium and
every render they have in common (docs/reports.md, "Many subscriptions in one run"). Dagster
runs a range of partitions, not any set of them: subscriptions alike but not consecutive in
the partitions' order (others between them are not due) go in one run per consecutive
stretch. Each subscription's request keeps its own key (subscription and cron time); the
sensor's cursor holds those already asked for, so a second tick, or a restarted daemon,
asks for nothing twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence

import dagster as dg
from dagster._time import get_current_datetime

from backroom_reporting.assets.deliveries import FRESH_FOR_TAG
from backroom_reporting.assets.nights import AS_OF_TAG
from backroom_reporting.assets.reports import REPORT_DAY_TAG
from backroom_reporting.backfill import partition_range
from backroom_reporting.delivery import ledger
from backroom_reporting.partitions import subscriptions
from backroom_reporting.rendering.periods import latest_completed
from backroom_reporting.rendering.readiness import not_ready
from backroom_reporting.resources.databases import WarehouseResource
from backroom_reporting.resources.reports import ReportRenderingResource
from backroom_reporting.subscriptions.service import active_subscriptions, list_recipients, next_delivery

REPORT_AND_DELIVERY = dg.AssetSelection.assets(
    "subscription_reports", "report_generation_history", "report_deliveries", "report_delivery_history"
)
DELIVERY_ONLY = [dg.AssetKey("report_deliveries"), dg.AssetKey("report_delivery_history")]
# A period sent stale is made again at most once an hour, for up to a week, until its fresh
# report goes out.
FRESH_RETRY_EVERY = dt.timedelta(hours=1)
FRESH_RETRY_FOR = dt.timedelta(days=7)


def latest_tick(cron: str, timezone: str, due: dt.datetime, now: dt.datetime) -> dt.datetime:
    """The last time `cron` fired in [due, now]; `due` itself is such a time."""
    fired, tick = due, next_delivery(cron, timezone, due)
    while tick <= now:
        fired, tick = tick, next_delivery(cron, timezone, tick)
    return fired


def due_requests(db, layouts: dict, now: dt.datetime) -> tuple[list[dg.RunRequest], list[str]]:
    """The runs due at `now`, and why the others due wait."""
    recipients = {r.recipient_id: r for r in list_recipients(db)}
    requests, waiting = [], []
    for subscription in active_subscriptions(db):
        due = subscription.next_delivery_at
        if due is None or due > now or subscription.template_key not in layouts:
            continue
        layout = layouts[subscription.template_key]
        cron, timezone = subscription.delivery_schedule(layout, recipients[subscription.recipient_id])
        tick = latest_tick(cron, timezone, due, now)
        period = latest_completed(layout.period, tick)
        problem = not_ready(db, period.first_day, period.last_day)
        if problem:
            waiting.append(f"{subscription.subscription_id} waits: {problem}")
            continue
        requests.append(
            dg.RunRequest(
                run_key=f"{subscription.subscription_id}:{tick.isoformat()}",
                partition_key=subscription.subscription_id,
                tags={AS_OF_TAG: tick.isoformat()},
            )
        )
    requests += fresh_requests(db, {s.subscription_id for s in active_subscriptions(db)}, now)
    for held in ledger.held(db):
        recipient = recipients.get(held.recipient_id)
        if recipient is None or not recipient.email_verified or held.address != recipient.email:
            continue
        requests.append(
            dg.RunRequest(
                run_key=f"verified:{held.delivery_id}",
                partition_key=held.subscription_id,
                tags={REPORT_DAY_TAG: held.period_first_day.isoformat()},
                asset_selection=DELIVERY_ONLY,
            )
        )
    return requests, waiting


def fresh_requests(db, active: set[str], now: dt.datetime) -> list[dg.RunRequest]:
    """A run per period sent stale whose fresh report has not gone out: its report made again
    and, when it renders, delivered. One run key an hour, so a report still failing is tried
    hourly, not every tick."""
    hour = int(now.timestamp() // FRESH_RETRY_EVERY.total_seconds())
    return [
        dg.RunRequest(
            run_key=f"fresh:{stale.subscription_id}:{stale.period}:{hour}",
            partition_key=stale.subscription_id,
            tags={REPORT_DAY_TAG: stale.period_first_day.isoformat(), FRESH_FOR_TAG: stale.period},
        )
        for stale in ledger.awaiting_fresh(db, since=now - FRESH_RETRY_FOR)
        if stale.subscription_id in active
        and not not_ready(db, stale.period_first_day, stale.period_last_day)
    ]


def batched(requests: Sequence[dg.RunRequest], order: Sequence[str]) -> list[dg.RunRequest]:
    """The subscriptions' requests as few runs: those alike (tags and assets) and consecutive
    in `order` (the partitions' order) share one run over their range. A request for a
    subscription without its partition yet stays as it is."""
    position = {key: i for i, key in enumerate(order)}
    groups: dict[tuple, list[dg.RunRequest]] = {}
    alone = []
    for request in requests:
        if request.partition_key not in position:
            alone.append(request)
            continue
        selection = tuple(sorted(k.to_user_string() for k in request.asset_selection or ()))
        groups.setdefault((tuple(sorted(request.tags.items())), selection), []).append(request)
    runs = []
    for members in groups.values():
        members.sort(key=lambda r: position[r.partition_key])
        stretches: list[list[dg.RunRequest]] = []
        for request in members:
            if stretches and position[request.partition_key] == position[stretches[-1][-1].partition_key] + 1:
                stretches[-1].append(request)
            else:
                stretches.append([request])
        runs += [_one_run(stretch) for stretch in stretches]
    return runs + alone


def _one_run(stretch: list[dg.RunRequest]) -> dg.RunRequest:
    if len(stretch) == 1:
        return stretch[0]
    first = stretch[0]
    keys = "\n".join(r.run_key or "" for r in stretch)
    return dg.RunRequest(
        run_key=f"batch:{hashlib.sha256(keys.encode()).hexdigest()[:20]}",
        tags={**first.tags, **partition_range([r.partition_key for r in stretch])},
        asset_selection=first.asset_selection,
    )


@dg.sensor(
    target=REPORT_AND_DELIVERY,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Requests the report and delivery of each subscription whose next_delivery_at has come, "
    "once its period's figures are final, all those due together in one run; and the deliveries held "
    "for an address now verified.",
)
def deliveries_due(
    context: dg.SensorEvaluationContext, warehouse: WarehouseResource, reports: ReportRenderingResource
):
    requests, waiting = due_requests(warehouse.database(), reports.layouts(), get_current_datetime())
    asked = set(json.loads(context.cursor or "[]"))
    new = [r for r in requests if r.run_key not in asked]
    # Only what is still due is kept: a subscription that moved on never asks with that key again.
    context.update_cursor(json.dumps(sorted(r.run_key for r in requests)))
    if not new:
        return dg.SkipReason(
            "; ".join(waiting)
            or (f"{len(requests)} due, already asked for" if requests else "no subscription is due")
        )
    return batched(new, context.instance.get_dynamic_partitions(subscriptions.name))
