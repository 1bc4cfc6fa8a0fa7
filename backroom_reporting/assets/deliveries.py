"""Deliveries: each subscription's report sent on each of its channels, exactly once.

report_deliveries follows subscription_reports in the same partition (one per subscription)
and the same run: it finds the report generated for the run's period, plans one parcel per
channel, and hands them to the dispatcher, which claims, sends and records each
(delivery/dispatch.py). A report that failed is never sent as if fresh: the last good
report goes out instead, marked stale, in deliveries of their own, and the step then
fails; the period's fresh report still goes out once when a later render succeeds. Once
every parcel has its outcome, the subscription's next_delivery_at moves on to its next time.
"""

import datetime as dt
from collections import Counter

import dagster as dg

from backroom_reporting.assets.policies import RETRY_TRANSIENT_FAULTS
from backroom_reporting.assets.reports import GROUP, report_period
from backroom_reporting.assets.step_metrics import measured
from backroom_reporting.delivery import ledger
from backroom_reporting.delivery.channels.email import verification_message
from backroom_reporting.delivery.dispatch import ABANDONED_AFTER, Dispatcher
from backroom_reporting.delivery.ledger import Delivery
from backroom_reporting.delivery.mailer import tell_owner
from backroom_reporting.delivery.model import DeliverableReport
from backroom_reporting.delivery.plan import plan
from backroom_reporting.delivery.reports import (
    deliverable,
    generation_for,
    last_good_before,
    stale,
    why_failed,
)
from backroom_reporting.partitions import subscriptions
from backroom_reporting.rendering.periods import period_containing
from backroom_reporting.resources.databases import WarehouseResource
from backroom_reporting.resources.delivery import DeliveryResource
from backroom_reporting.resources.reports import ReportRenderingResource
from backroom_reporting.subscriptions import consent, service

# Set by deliveries_due on a run making a period sent stale again: its fresh report goes out,
# and the subscription's next delivery stays where it is.
FRESH_FOR_TAG = "backroom/fresh_for"


def _claim_alive(instance: dg.DagsterInstance):
    """A claim is alive while the Dagster run holding it is; a holder that is not a run (a
    command) is trusted for ABANDONED_AFTER."""

    def alive(holder: str, claimed_at: dt.datetime) -> bool:
        run = instance.get_run_by_id(holder)
        if run is None:
            return dt.datetime.now(dt.UTC) - claimed_at < ABANDONED_AFTER
        return not run.is_finished

    return alive


def _tell_owner_of_unknown(delivery_resource: DeliveryResource, db):
    def tell(row: Delivery, why: str) -> None:
        tell_owner(
            db,
            f"Delivery outcome unknown: {row.subscription_id} {row.period} by {row.channel}",
            f"The {row.channel} delivery of {row.subscription_id} for {row.period} to {row.address} "
            f"({row.delivery_id}): {why}.\nCheck with the recipient, then resend or leave it.",
            mailer=delivery_resource.mailer(),
        )

    return tell


@dg.multi_asset(
    group_name=GROUP,
    retry_policy=RETRY_TRANSIENT_FAULTS,
    specs=[
        dg.AssetSpec(
            "report_deliveries",
            partitions_def=subscriptions,
            deps=["subscription_reports"],
            description="One row per (subscription, period, channel, address): its idempotency key, the "
            "report sent, attempts, provider message id and where it is in its lifecycle.",
            kinds={"sql"},
        ),
        dg.AssetSpec(
            "report_delivery_history",
            partitions_def=subscriptions,
            deps=["report_deliveries"],
            description="The lifecycle of every delivery, one row per change: queued, sending, sent, "
            "delivered, opened, clicked, or failed, bounced, complained, suppressed, unknown; when, why "
            "and who said so.",
            kinds={"sql"},
        ),
    ],
)
@measured
def report_deliveries(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    reports: ReportRenderingResource,
    delivery: DeliveryResource,
):
    db = warehouse.database()
    subscription = service.get_subscription(db, context.partition_key)
    recipient = service.get_recipient(db, subscription.recipient_id)
    layout = reports.layouts()[subscription.template_key]
    period = report_period(layout, context)
    report = _report_to_send(db, subscription.subscription_id, layout, period, recipient)
    now = dt.datetime.now(dt.UTC)
    run_id = context.run.run_id
    planned = plan(subscription, recipient, report)
    channels = delivery.channels(reports.store(), venues=service.venues(db))
    ledger.queue(db, [p.parcel for p in planned], now, run_id)
    held = [p for p in planned if p.settle is not None]
    rows = ledger.by_ids(db, [p.parcel.delivery_id for p in held])
    for p in held:
        row = rows[p.parcel.delivery_id]
        # Settled once: a re-run leaves what the first one recorded (or what came after it).
        if row.status == "queued" and row.detail != p.reason:
            ledger.record(db, row.delivery_id, p.settle, now, run_id, p.reason)
    if any(p.settle == "queued" for p in held) and recipient.verification_sent_at is None:
        mailer = delivery.mailer()
        mailer.send(verification_message(recipient, now=now))
        consent.mark_verification_sent(db, recipient.recipient_id, now)
    dispatcher = Dispatcher(
        db,
        channels,
        source=run_id,
        claim_alive=_claim_alive(context.instance),
        on_unknown=_tell_owner_of_unknown(delivery, db),
    )
    settled = dispatcher.deliver([p.parcel for p in planned if p.settle is None])
    final = ledger.by_ids(db, [p.parcel.delivery_id for p in planned])
    statuses = Counter(row.status for row in final.values())
    failed = [row for row in final.values() if row.status == "failed"]
    for_now = [row for row in failed if row.retryable]
    metadata = {
        "period": period.slug,
        "generation_id": report.generation_id,
        "stale": report.stale.reason if report.stale else False,
        "statuses": dg.MetadataValue.json(dict(statuses)),
        "sent_now": sum(s.sent_now for s in settled),
        "deliveries": dg.MetadataValue.md(_table(final.values())),
    }
    # Every outcome recorded (a refusal for good is an outcome): the subscription moves on; a
    # run for a period sent stale earlier leaves the schedule to the period due.
    if not for_now and FRESH_FOR_TAG not in context.run.tags:
        moved = service.advance(db, subscription.subscription_id, now)
        metadata["next_delivery_at"] = str(moved.next_delivery_at or "paused")
    if failed:
        raise dg.Failure(
            f"{len(failed)} of {len(planned)} deliveries of {subscription.subscription_id} for {period.slug} "
            f"failed: {_reasons(failed)}."
            + (" Those refused for now are tried again when the run is retried." if for_now else ""),
            metadata=metadata,
            allow_retries=bool(for_now),
        )
    yield dg.MaterializeResult(asset_key="report_deliveries", metadata=metadata)
    yield dg.MaterializeResult(
        asset_key="report_delivery_history", metadata={"deliveries": len(final), "period": period.slug}
    )
    if report.stale:
        # The stale report is handed over and recorded; the run still fails, so the report's
        # failure is seen (and alerted on) as one.
        raise dg.Failure(
            f"{report.stale.reason[0].upper()}{report.stale.reason[1:]}; the last good report "
            f"({report.period}, generation {report.generation_id}) went out instead, marked stale.",
            metadata=metadata,
            allow_retries=False,
        )


def _report_to_send(db, subscription_id: str, layout, period, recipient) -> DeliverableReport:
    """The period's good report; else the last good one before it, marked stale; else a Failure."""
    good = generation_for(db, subscription_id, period, good_only=True)
    if good is not None:
        return deliverable(db, good, layout, period)
    reason = why_failed(generation_for(db, subscription_id, period), layout.title, period)
    last = last_good_before(db, subscription_id, period)
    if last is None:
        raise dg.Failure(
            f"{layout.title} for {period.label} has no good report to deliver to {recipient}, "
            f"nor an earlier one to send marked stale: {reason}.",
            allow_retries=False,
        )
    return stale(
        deliverable(db, last, layout, period_containing(layout.period, last["period_first_day"])),
        period,
        reason,
    )


def _reasons(failed: list[Delivery]) -> str:
    return "; ".join(f"{row.channel}: {row.detail}" for row in failed)


def _table(rows) -> str:
    lines = ["| channel | address | status | attempts | detail |", "|---|---|---|---|---|"]
    lines += [f"| {r.channel} | {r.address} | {r.status} | {r.attempts} | {r.detail or ''} |" for r in rows]
    return "\n".join(lines)
