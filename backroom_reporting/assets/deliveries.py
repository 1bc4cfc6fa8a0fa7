"""Deliveries: each subscription's report sent on each of its channels, exactly once.

report_deliveries follows subscription_reports in the same partitions (one per subscription)
and the same run (one subscription's, or every one due at a report time): for each
subscription it finds the report generated for the run's period, plans one parcel per
channel, and hands them to the dispatcher, which claims, sends and records each
(delivery/dispatch.py). A report that failed is never sent as if fresh: the last good
report goes out instead, marked stale, in deliveries of their own, and the step then
fails, naming it, once every other subscription of the run has been delivered; the
period's fresh report still goes out once when a later render succeeds. Once every parcel
has its outcome, the subscription's next_delivery_at moves on to its next time.
"""

import datetime as dt
from collections import Counter

import dagster as dg

from backroom_reporting.assets.policies import RETRY_TRANSIENT_FAULTS
from backroom_reporting.assets.reports import GROUP, Subscribers, report_period
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
from backroom_reporting.warehouse.faults import Fault

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
            # It reads the generation history (every attempt, failed ones too), so it runs for
            # every subscription of the run, including one whose report failed (sent stale).
            deps=["report_generation_history"],
            description="One row per (subscription, period, channel, address): its idempotency key, the "
            "report sent, attempts, provider message id and where it is in its lifecycle.",
            kinds={"sql"},
            # Materialised per subscription, only for those whose deliveries all have an outcome.
            skippable=True,
        ),
        dg.AssetSpec(
            "report_delivery_history",
            partitions_def=subscriptions,
            deps=["report_deliveries"],
            description="The lifecycle of every delivery, one row per change: queued, sending, sent, "
            "delivered, opened, clicked, or failed, bounced, complained, suppressed, unknown; when, why "
            "and who said so.",
            kinds={"sql"},
            skippable=True,
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
    """Every subscription of the run, each on its own: one whose deliveries failed, or whose
    report went out stale, does not hold back the others. The step fails at the end, naming
    each, so the run (and its alert) says which; their partitions alone read failed."""
    db = warehouse.database()
    layouts = reports.layouts()
    channels = delivery.channels(reports.store(), venues=service.venues(db))
    subscribers = Subscribers(db)
    problems: list[Problem] = []
    for subscription_id in context.partition_keys:
        try:
            subscription, recipient = subscribers.of(subscription_id)
            yield from _deliver(context, db, layouts, delivery, channels, subscription, recipient)
        except Fault as fault:
            if fault.transient:
                raise  # the warehouse, not this subscription: the step is tried again
            problems.append(Problem(subscription_id, str(fault), retry=False))
        except Problem as problem:
            problems.append(problem)
        except dg.Failure as failure:
            problems.append(Problem(subscription_id, failure.description or "", retry=False))
        except Exception as exc:
            context.log.exception(f"{subscription_id}: its deliveries could not be made")
            problems.append(Problem(subscription_id, f"{type(exc).__name__}: {exc}", retry=False))
    if problems:
        alone = len(context.partition_keys) == 1
        raise dg.Failure(
            problems[0].reason
            if alone
            else f"{len(problems)} of {len(context.partition_keys)} subscriptions: "
            + " ".join(f"{p.subscription_id}: {p.reason}" for p in problems),
            metadata={"subscriptions": dg.MetadataValue.json([p.subscription_id for p in problems])},
            # Deliveries refused for now are tried again when the run is retried; the ledger
            # sends nothing twice (delivery/dispatch.py).
            allow_retries=any(p.retry for p in problems),
        )


class Problem(Exception):
    """A subscription whose deliveries did not all go as asked (failed, or sent stale)."""

    def __init__(self, subscription_id: str, reason: str, retry: bool):
        super().__init__(reason)
        self.subscription_id, self.reason, self.retry = subscription_id, reason, retry


def _deliver(context, db, layouts, delivery: DeliveryResource, channels, subscription, recipient):
    """One subscription's deliveries: its materialisations when every parcel has its outcome;
    raises Problem when some failed or the report went out stale."""
    subscription_id = subscription.subscription_id
    layout = layouts[subscription.template_key]
    period = report_period(layout, context)
    report = _report_to_send(db, subscription.subscription_id, layout, period, recipient)
    now = dt.datetime.now(dt.UTC)
    run_id = context.run.run_id
    planned = plan(subscription, recipient, report)
    ledger.queue(db, [p.parcel for p in planned], now, run_id)
    held = [p for p in planned if p.settle is not None]
    rows = ledger.by_ids(db, [p.parcel.delivery_id for p in held])
    for p in held:
        row = rows[p.parcel.delivery_id]
        # Settled once: a re-run leaves what the first one recorded (or what came after it).
        if row.status == "queued" and row.detail != p.reason:
            ledger.record(db, row.delivery_id, p.settle, now, run_id, p.reason)
    # Read again: another subscription of the recipient, earlier in the run, may have sent it.
    if (
        any(p.settle == "queued" for p in held)
        and service.get_recipient(db, recipient.recipient_id).verification_sent_at is None
    ):
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
        moved = service.advance(db, subscription.subscription_id, now, templates=layouts, recipient=recipient)
        metadata["next_delivery_at"] = str(moved.next_delivery_at or "paused")
    if failed:
        raise Problem(
            subscription_id,
            f"{len(failed)} of {len(planned)} deliveries of {subscription.subscription_id} for {period.slug} "
            f"failed: {_reasons(failed)}."
            + (" Those refused for now are tried again when the run is retried." if for_now else ""),
            retry=bool(for_now),
        )
    yield dg.AssetMaterialization("report_deliveries", partition=subscription_id, metadata=metadata)
    yield dg.AssetMaterialization(
        "report_delivery_history",
        partition=subscription_id,
        metadata={"deliveries": len(final), "period": period.slug},
    )
    if report.stale:
        # The stale report is handed over and recorded; the run still fails, so the report's
        # failure is seen (and alerted on) as one.
        raise Problem(
            subscription_id,
            f"{report.stale.reason[0].upper()}{report.stale.reason[1:]}; the last good "
            f"report ({report.period}, generation {report.generation_id}) went out instead, marked stale.",
            retry=False,
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
