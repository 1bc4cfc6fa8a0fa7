"""The code location: every asset, check, job, schedule, sensor and resource, assembled.

The policies every asset follows (backfills, retries, automation) are stated in
assets/policies.py and applied here, once.
"""

import dagster as dg

from backroom_reporting import settings
from backroom_reporting.assets import (
    aggregations,
    customers,
    deliveries,
    events,
    fatsoma,
    kpis,
    operations,
    reports,
    sources,
)
from backroom_reporting.assets.policies import BACKFILL, described, with_automation
from backroom_reporting.assets.stripe import stripe_definitions
from backroom_reporting.checks.freshness import figures_ready_by_seven
from backroom_reporting.connectors.fatsoma import FatsomaResource
from backroom_reporting.resources.databases import BookingSystemResource, WarehouseResource
from backroom_reporting.resources.delivery import DeliveryResource
from backroom_reporting.resources.reports import ReportRenderingResource
from backroom_reporting.schedules.fatsoma import FATSOMA_JOBS, FATSOMA_SCHEDULES
from backroom_reporting.schedules.maintenance import MAINTENANCE_JOBS, MAINTENANCE_SCHEDULES
from backroom_reporting.schedules.nightly import NIGHTLY_JOBS, NIGHTLY_SCHEDULES
from backroom_reporting.sensors.alerts import alert_on_run_failure, resolve_on_run_success
from backroom_reporting.sensors.automation import follow_inputs
from backroom_reporting.sensors.dead_runs import dead_runs
from backroom_reporting.sensors.deliveries import deliveries_due
from backroom_reporting.sensors.fatsoma import fatsoma_nights
from backroom_reporting.sensors.figure_alerts import (
    alert_on_failed_checks,
    alert_on_kpi_status,
    alert_on_late_figures,
)
from backroom_reporting.sensors.on_call import page_on_call
from backroom_reporting.sensors.subscriptions import subscription_partitions

# One module per stage of the graph; each holds its assets and the checks that guard them.
STAGES = [sources, fatsoma, aggregations, kpis, customers, events, reports, deliveries, operations]
OWNERS = ["team:data"]

# Connectors present only when configured as the code location loads (docs/connectors.md).
CONNECTORS = [d for d in (stripe_definitions(),) if d is not None]

defs = with_automation(
    dg.Definitions.merge(
        dg.Definitions(
            assets=dg.load_assets_from_modules(STAGES, backfill_policy=BACKFILL, include_specs=True),
            asset_checks=[figures_ready_by_seven],
            jobs=[*NIGHTLY_JOBS, *MAINTENANCE_JOBS, *FATSOMA_JOBS],
            schedules=[*NIGHTLY_SCHEDULES, *MAINTENANCE_SCHEDULES, *FATSOMA_SCHEDULES],
            # Reports go out when each subscription is due (its cron on its recipient's clock).
            sensors=[
                follow_inputs,
                dead_runs,
                subscription_partitions,
                deliveries_due,
                alert_on_run_failure,
                resolve_on_run_success,
                alert_on_failed_checks,
                alert_on_late_figures,
                alert_on_kpi_status,
                page_on_call,
                fatsoma_nights,
            ],
            resources={
                "booking_system": BookingSystemResource(url=settings.SOURCE_URL.for_resource()),
                "warehouse": WarehouseResource(url=settings.WAREHOUSE_URL.for_resource()),
                "reports": ReportRenderingResource(
                    layouts_dir=settings.LAYOUTS_DIR.for_resource(),
                    store_dir=settings.REPORT_STORE.for_resource(),
                ),
                "delivery": DeliveryResource(
                    smtp_url=settings.SMTP_URL.for_resource(), outbox_dir=settings.OUTBOX_DIR.for_resource()
                ),
                "fatsoma": FatsomaResource(
                    tickets_source=settings.TICKETS_SOURCE.for_resource(),
                    base_url=settings.FATSOMA_BASE_URL.for_resource(),
                    api_key=settings.FATSOMA_API_KEY.for_resource(),
                    venues=settings.FATSOMA_VENUES.for_resource(),
                ),
            },
            executor=dg.in_process_executor,
        ),
        *CONNECTORS,
    )
).map_resolved_asset_specs(func=lambda spec: described(spec).replace_attributes(owners=spec.owners or OWNERS))
