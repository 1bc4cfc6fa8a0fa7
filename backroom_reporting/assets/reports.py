"""Reports: template versions, and one report asset partition per subscription.

report_templates records every layout version. subscription_reports renders a
subscription's report for its latest completed period (or the day named by the run tag
`backroom/report_day`), in the recipient's formats and with the subscription's filters,
keeps the files in the report store and appends a report_generation_history row.
"""

import dataclasses
import datetime as dt
import hashlib

import dagster as dg

from backroom_reporting import settings
from backroom_reporting.assets.nights import as_of
from backroom_reporting.assets.policies import RETRY_TRANSIENT_FAULTS, on_change_of_definition
from backroom_reporting.assets.step_metrics import measured
from backroom_reporting.partitions import subscriptions
from backroom_reporting.rendering.build import ReportInputError
from backroom_reporting.rendering.generate import Request, SharedRenders, generate
from backroom_reporting.rendering.history import latest_report, record_template_versions
from backroom_reporting.rendering.layouts import load_layouts
from backroom_reporting.rendering.periods import latest_completed, period_containing
from backroom_reporting.resources.databases import WarehouseResource
from backroom_reporting.resources.reports import ReportRenderingResource
from backroom_reporting.subscriptions.service import (
    Recipient,
    Subscription,
    get_recipient,
    get_subscription,
    list_recipients,
    list_subscriptions,
)
from backroom_reporting.warehouse.faults import Fault

GROUP = "reports"
REPORT_DAY_TAG = "backroom/report_day"
# The check a report whose figures were refused fails (the last good report then goes out stale).
RENDERED = "report_rendered"
# What a report reads; a report depends on all of their partitions, since any may be in it.
REPORT_INPUTS = (
    "daily_aggregations",
    "hourly_aggregations",
    "weekly_summary",
    "kpi_calculations",
    "kpi_definitions",
    "event_performance_analytics",
    "staff_performance",
    "top_customers",
    "customer_analytics",
    "revenue_forecast",
)


def layouts_fingerprint() -> str:
    """One hash of every layout version in the layouts folder: report_templates' code version."""
    layouts = load_layouts(settings.LAYOUTS_DIR.get())
    hashes = sorted(layout.content_hash for layout in layouts.values())
    return hashlib.sha256("".join(hashes).encode()).hexdigest()[:16]


@dg.asset(
    group_name=GROUP,
    code_version=layouts_fingerprint(),
    # A changed or added layout is recorded as soon as the code location reloads.
    automation_condition=on_change_of_definition(),
    kinds={"yaml", "sql"},
    retry_policy=RETRY_TRANSIENT_FAULTS,
)
@measured
def report_templates(warehouse: WarehouseResource, reports: ReportRenderingResource) -> dg.MaterializeResult:
    """One row per layout version in report_layouts/ (content hash, version, when it changed
    and a summary of the change), so every report names the exact template that made it."""
    layouts = reports.layouts()
    added = record_template_versions(warehouse.database(), layouts, dt.datetime.now(dt.UTC))
    return dg.MaterializeResult(
        metadata={
            "layouts": dg.MetadataValue.json(sorted(layouts)),
            "new_versions": dg.MetadataValue.json(
                {row["template_key"]: row["diff_summary"] for row in added.iter_rows(named=True)}
            ),
        }
    )


def report_period(layout, context: dg.AssetExecutionContext):
    """The day named by the run's tag, else the latest period complete at the schedule's tick
    (so a report run late still reports the period its schedule checked was ready)."""
    day = context.run.tags.get(REPORT_DAY_TAG)
    if day:
        return period_containing(layout.period, dt.date.fromisoformat(day))
    return latest_completed(layout.period, as_of(context))


@dg.multi_asset(
    group_name=GROUP,
    retry_policy=RETRY_TRANSIENT_FAULTS,
    # Every output optional: a subscription whose report failed gets no materialisation of
    # subscription_reports, while the others in the same run do (see subscription_reports).
    can_subset=True,
    specs=[
        dg.AssetSpec(
            "subscription_reports",
            partitions_def=subscriptions,
            deps=[
                report_templates,
                *(dg.AssetDep(key, partition_mapping=dg.AllPartitionMapping()) for key in REPORT_INPUTS),
            ],
            description="Each subscription's report (PDF, HTML, Excel, CSV) for its latest completed period, "
            "with the subscription's filters, kept in the report store.",
            kinds={"pdf", "html", "excel"},
        ),
        dg.AssetSpec(
            "report_generation_history",
            partitions_def=subscriptions,
            deps=["subscription_reports"],
            description="One row per generation attempt: template version, period, filters, formats, files "
            "and sizes, row counts, key metrics, warnings, duration, status and error.",
            kinds={"sql"},
        ),
    ],
    check_specs=[
        dg.AssetCheckSpec(
            RENDERED,
            asset="subscription_reports",
            description="The subscription's report for the run's period rendered: fails when its figures "
            "were refused (not ready, or failing their checks) or its rendering failed; its delivery then "
            "sends the last good report, marked stale.",
        )
    ],
)
@measured
def subscription_reports(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, reports: ReportRenderingResource
):
    """Every subscription of the run (one, or all those due at a report time), each on its own.

    What subscriptions share (template version, period, filters) is built and rendered once
    and handed to each (rendering/generate.py, SharedRenders). A subscription whose report
    fails is recorded (report_generation_history), shown by its failed check, and gets no
    materialisation of subscription_reports; the others are rendered and materialised. When
    the run delivers too, report_deliveries sends the failed one's last good report, marked
    stale, and fails the run naming it; a run without deliveries fails here, at the end, so
    Dagster marks the failed subscriptions' partitions failed and only those.
    """
    db = warehouse.database()
    layouts = reports.layouts()
    with SharedRenders() as shared:
        yield from _render_each(context, db, reports, layouts, shared)


def _render_each(
    context: dg.AssetExecutionContext,
    db,
    reports: ReportRenderingResource,
    layouts: dict,
    shared: SharedRenders,
):
    # One time for the whole run: reports sharing their data share it exactly.
    now = dt.datetime.now(dt.UTC)
    record_template_versions(db, layouts, now)
    selected = {key.to_user_string() for key in context.selected_asset_keys}
    failed: dict[str, str] = {}
    histories = {}
    subscribers = Subscribers(db)
    printing = shared.print_ahead(
        db,
        list(_readable_requests(context, layouts, subscribers)),
        reports.charts(),
        now,
        reports.layouts_path,
    )
    if printing:
        context.log.info(f"{printing} distinct PDF(s) printing beside the run")
    for subscription_id in context.partition_keys:
        try:
            subscription, recipient = subscribers.of(subscription_id)
            outcome = render_subscription(context, db, reports, layouts, shared, subscription, recipient, now)
        except Fault as fault:
            if fault.transient:
                raise  # the warehouse, not this subscription: the step is tried again
            outcome = _unreadable(subscription_id, fault)
        except Exception as exc:  # its subscription or recipient cannot be read
            outcome = _unreadable(subscription_id, exc)
        histories[subscription_id] = outcome.history
        if "subscription_reports" in selected:
            if outcome.materialization is not None:
                yield outcome.materialization
            yield outcome.check
        if outcome.failure is not None:
            failed[subscription_id] = outcome.failure
    context.log.info(
        f"{len(context.partition_keys)} subscription(s): {shared.builds} report(s) built, "
        f"{shared.renders} file(s) rendered, {len(failed)} failed"
    )
    if "report_generation_history" in selected:
        for subscription_id, metadata in histories.items():
            context.add_asset_metadata(
                metadata, asset_key="report_generation_history", partition_key=subscription_id
            )
        yield dg.MaterializeResult(
            asset_key="report_generation_history",
            metadata={
                "builds": shared.builds,
                "renders": shared.renders,
                "printed_ahead": printing,
                "failed": len(failed),
            },
        )
    if failed and not delivers_too(context):
        raise dg.Failure(
            description=f"{len(failed)} of {len(context.partition_keys)} report(s) failed: "
            + " ".join(f"{key}: {why}" for key, why in failed.items()),
            metadata={"failed": dg.MetadataValue.json(sorted(failed))},
            allow_retries=False,
        )


def delivers_too(context: dg.AssetExecutionContext) -> bool:
    """Whether the run also delivers (the sensor's and the demo's runs do), so its delivery
    step, not this one, fails the run for a report that failed."""
    # A run launched from the UI names its selection; one made by `materialize` is its own job.
    selection = context.run.asset_selection or context.job_def.asset_layer.executable_asset_keys
    return dg.AssetKey("report_deliveries") in selection


@dataclasses.dataclass(frozen=True)
class Outcome:
    history: dict
    check: dg.AssetCheckEvaluation
    materialization: dg.AssetMaterialization | None = None
    failure: str | None = None


class Subscribers:
    """The subscriptions and recipients, read once for every subscription of a run."""

    def __init__(self, db):
        self.db = db
        self._subscriptions = {s.subscription_id: s for s in list_subscriptions(db)}
        self._recipients = {r.recipient_id: r for r in list_recipients(db)}

    def of(self, subscription_id: str) -> tuple[Subscription, Recipient]:
        # One not found is asked for again, to fail with the service's own sentence.
        subscription = self._subscriptions.get(subscription_id) or get_subscription(self.db, subscription_id)
        recipient = self._recipients.get(subscription.recipient_id) or get_recipient(
            self.db, subscription.recipient_id
        )
        return subscription, recipient


def subscription_request(
    context: dg.AssetExecutionContext, layouts: dict, subscription: Subscription, recipient: Recipient
) -> Request:
    """What the subscription asks of this run: its layout, period, filters and formats."""
    layout = layouts[subscription.template_key]
    return Request(
        subscription.subscription_id,
        layout,
        report_period(layout, context),
        subscription.filters,
        tuple(subscription.formats or recipient.preferred_formats or layout.formats),
        email="email" in subscription.channels,
    )


def _readable_requests(context: dg.AssetExecutionContext, layouts: dict, subscribers: Subscribers):
    """The requests of the run's subscriptions that can be read; the others fail, recorded, in
    their turn (render_subscription)."""
    for subscription_id in context.partition_keys:
        try:
            subscription, recipient = subscribers.of(subscription_id)
        except Exception:
            continue
        if subscription.template_key in layouts:
            yield subscription_request(context, layouts, subscription, recipient)


def render_subscription(
    context: dg.AssetExecutionContext,
    db,
    reports: ReportRenderingResource,
    layouts: dict,
    shared: SharedRenders,
    subscription: Subscription,
    recipient: Recipient,
    now: dt.datetime,
) -> Outcome:
    """One subscription's report, rendered or failed: its events, never an exception for a
    fault of its own (its filters, its template, its render)."""
    subscription_id = subscription.subscription_id
    if subscription.template_key not in layouts:
        return _unreadable(
            subscription_id,
            LookupError(f"its template {subscription.template_key!r} is not in {reports.layouts_path}"),
        )
    request = subscription_request(context, layouts, subscription, recipient)
    layout, period = request.layout, request.period
    try:
        generation, seconds = generate(
            db,
            request,
            reports.charts(),
            reports.store(),
            now,
            context.run.run_id,
            reports.layouts_path,
            shared=shared,
        )
    except Exception as exc:
        if isinstance(exc, Fault) and exc.transient:
            raise
        # Refused figures (not ready, failing their checks) or a render that broke: recorded by
        # generate() in report_generation_history; the others in the run carry on.
        if not isinstance(exc, ReportInputError):
            context.log.exception(f"{subscription_id}: the report could not be rendered")
        last = latest_report(db, subscription.subscription_id)
        kept = (
            f"The last good report ({last.generation['period_first_day']}, generation "
            f"{last.generation['generation_id']}) stays available, marked stale."
            if last
            else "There is no earlier report for this subscription."
        )
        failure = f"{layout.title} for {period.label} could not be rendered: {exc}. {kept}"
        stale = last.generation["generation_id"] if last else None
        # What on call is told (alerting/figures.py): whose report, for when, and what went instead.
        stale_period = period_containing(layout.period, last.generation["period_first_day"]) if last else None
        return Outcome(
            history={"status": "failed", "error": str(exc)},
            check=_check(
                subscription_id,
                passed=False,
                description=failure,
                metadata={
                    "error": str(exc),
                    "stale_generation": stale,
                    "recipient": recipient.name,
                    "template": layout.title,
                    "period": period.label,
                    "stale_period": stale_period.label if stale_period else None,
                },
            ),
            failure=failure,
        )
    files = {f["format"]: f for f in generation.files}
    return Outcome(
        history={"generation_id": generation.generation_id, "status": generation.status},
        check=_check(
            subscription_id,
            passed=True,
            metadata={"generation_id": generation.generation_id, "period": period.label},
        ),
        materialization=dg.AssetMaterialization(
            "subscription_reports",
            partition=subscription_id,
            metadata={
                "template": layout.key,
                "template_version": layout.short_hash,
                "period": period.label,
                "filters": dg.MetadataValue.json(subscription.filters),
                "files": dg.MetadataValue.json({fmt: f["path"] for fmt, f in files.items()}),
                "bytes": dg.MetadataValue.json({fmt: f["size_bytes"] for fmt, f in files.items()}),
                "reused": dg.MetadataValue.json(sorted(fmt for fmt, f in files.items() if f["reused_from"])),
                # The generation whose report (data, files) this one was handed, else its own.
                "report_from": shared.built_by(generation.generation_id),
                "seconds": dg.MetadataValue.json({k: round(v, 3) for k, v in seconds.items()}),
            },
        ),
    )


def _unreadable(subscription_id: str, exc: Exception) -> Outcome:
    failure = f"{subscription_id} could not be read: {exc}"
    return Outcome(
        history={"status": "failed", "error": failure},
        check=_check(subscription_id, passed=False, description=failure, metadata={"error": str(exc)}),
        failure=failure,
    )


def _check(subscription_id: str, passed: bool, metadata: dict, description: str | None = None):
    return dg.AssetCheckEvaluation(
        asset_key=dg.AssetKey("subscription_reports"),
        check_name=RENDERED,
        passed=passed,
        partition=subscription_id,
        severity=dg.AssetCheckSeverity.ERROR,
        description=description,
        metadata=metadata,
    )
