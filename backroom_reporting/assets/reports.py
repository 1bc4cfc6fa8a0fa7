"""Reports: template versions, and one report asset partition per subscription.

report_templates records every layout version. subscription_reports renders a
subscription's report for its latest completed period (or the day named by the run tag
`backroom/report_day`), in the recipient's formats and with the subscription's filters,
keeps the files in the report store and appends a report_generation_history row.
"""

import datetime as dt
import hashlib

import dagster as dg

from backroom_reporting import settings
from backroom_reporting.assets.nights import as_of
from backroom_reporting.assets.policies import RETRY_TRANSIENT_FAULTS, on_change_of_definition
from backroom_reporting.assets.step_metrics import measured
from backroom_reporting.partitions import subscriptions
from backroom_reporting.rendering.build import ReportInputError
from backroom_reporting.rendering.generate import Request, generate
from backroom_reporting.rendering.history import latest_report, record_template_versions
from backroom_reporting.rendering.layouts import load_layouts
from backroom_reporting.rendering.periods import latest_completed, period_containing
from backroom_reporting.resources.databases import WarehouseResource
from backroom_reporting.resources.reports import ReportRenderingResource
from backroom_reporting.subscriptions.service import get_recipient, get_subscription

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
            "were refused (not ready, or failing their checks); its delivery then sends the last good "
            "report, marked stale.",
        )
    ],
)
@measured
def subscription_reports(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, reports: ReportRenderingResource
):
    db = warehouse.database()
    subscription = get_subscription(db, context.partition_key)
    layouts = reports.layouts()
    if subscription.template_key not in layouts:
        raise dg.Failure(
            f"{subscription.subscription_id} asks for template {subscription.template_key!r}, "
            f"which is not in {reports.layouts_path}",
            allow_retries=False,
        )
    layout = layouts[subscription.template_key]
    recipient = get_recipient(db, subscription.recipient_id)
    formats = subscription.formats or recipient.preferred_formats or layout.formats
    period = report_period(layout, context)
    now = dt.datetime.now(dt.UTC)
    record_template_versions(db, {layout.key: layout}, now)
    request = Request(
        subscription.subscription_id,
        layout,
        period,
        subscription.filters,
        tuple(formats),
        email="email" in subscription.channels,
    )
    try:
        generation, seconds = generate(
            db, request, reports.charts(), reports.store(), now, context.run.run_id, reports.layouts_path
        )
    except Exception as exc:
        last = latest_report(db, subscription.subscription_id)
        kept = (
            f"The last good report ({last.generation['period_first_day']}, generation "
            f"{last.generation['generation_id']}) stays available, marked stale."
            if last
            else "There is no earlier report for this subscription."
        )
        failure = f"{layout.title} for {period.label} could not be rendered: {exc}. {kept}"
        metadata = {"error": str(exc), "stale_generation": last.generation["generation_id"] if last else None}
        if not isinstance(exc, ReportInputError):
            # Anything but refused figures (a database gone away) may work when tried again.
            raise dg.Failure(description=failure, metadata=metadata, allow_retries=True) from exc
        # The builder refused the figures (not ready, or failing their checks): trying again
        # will not change that. The failure is recorded (report_generation_history) and shown
        # by the failed check; the step does not fail, so report_deliveries in the same run
        # still sends the last good report, marked stale, and then fails the run itself.
        yield dg.MaterializeResult(
            asset_key="subscription_reports",
            metadata={"status": "failed", "period": period.label, **metadata},
        )
        yield dg.MaterializeResult(
            asset_key="report_generation_history", metadata={"status": "failed", "error": str(exc)}
        )
        # What on call is told (alerting/figures.py): whose report, for when, and what went instead.
        stale_period = period_containing(layout.period, last.generation["period_first_day"]) if last else None
        yield dg.AssetCheckResult(
            asset_key="subscription_reports",
            check_name=RENDERED,
            passed=False,
            severity=dg.AssetCheckSeverity.ERROR,
            description=failure,
            metadata={
                **metadata,
                "recipient": recipient.name,
                "template": layout.title,
                "period": period.label,
                "stale_period": stale_period.label if stale_period else None,
            },
        )
        return
    files = {f["format"]: f for f in generation.files}
    yield dg.MaterializeResult(
        asset_key="subscription_reports",
        metadata={
            "template": layout.key,
            "template_version": layout.short_hash,
            "period": period.label,
            "filters": dg.MetadataValue.json(subscription.filters),
            "files": dg.MetadataValue.json({fmt: f["path"] for fmt, f in files.items()}),
            "bytes": dg.MetadataValue.json({fmt: f["size_bytes"] for fmt, f in files.items()}),
            "reused": dg.MetadataValue.json(sorted(fmt for fmt, f in files.items() if f["reused_from"])),
            "seconds": dg.MetadataValue.json({k: round(v, 3) for k, v in seconds.items()}),
        },
    )
    yield dg.MaterializeResult(
        asset_key="report_generation_history",
        metadata={"generation_id": generation.generation_id, "status": generation.status},
    )
    yield dg.AssetCheckResult(
        asset_key="subscription_reports",
        check_name=RENDERED,
        passed=True,
        metadata={"generation_id": generation.generation_id, "period": period.label},
    )
