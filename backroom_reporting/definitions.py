"""The code location: every asset, check, job, schedule, sensor and resource, assembled.

The policies every asset follows (backfills, retries, automation) are stated in
assets/policies.py and applied here, once.
"""

import dagster as dg

from backroom_reporting import settings
from backroom_reporting.assets import aggregations, customers, events, kpis, operations, reports, sources
from backroom_reporting.assets.policies import SINGLE_RUN, described, with_automation
from backroom_reporting.checks.freshness import figures_ready_by_seven
from backroom_reporting.rendering.layouts import load_layouts
from backroom_reporting.resources.databases import BookingSystemResource, WarehouseResource
from backroom_reporting.resources.reports import ReportRenderingResource
from backroom_reporting.schedules.maintenance import MAINTENANCE_JOBS, MAINTENANCE_SCHEDULES
from backroom_reporting.schedules.nightly import NIGHTLY_JOBS, NIGHTLY_SCHEDULES
from backroom_reporting.schedules.reports import report_schedules
from backroom_reporting.sensors.automation import follow_inputs
from backroom_reporting.sensors.dead_runs import dead_runs
from backroom_reporting.sensors.reports import subscriptions_on_their_own_schedule
from backroom_reporting.sensors.subscriptions import subscription_partitions

# One module per stage of the graph; each holds its assets and the checks that guard them.
STAGES = [sources, aggregations, kpis, customers, events, reports, operations]
OWNERS = ["team:data"]

defs = with_automation(
    dg.Definitions(
        assets=dg.load_assets_from_modules(STAGES, backfill_policy=SINGLE_RUN, include_specs=True),
        asset_checks=[figures_ready_by_seven],
        jobs=[*NIGHTLY_JOBS, *MAINTENANCE_JOBS],
        # A layout file in the layouts folder is a report with its own schedule.
        schedules=[
            *NIGHTLY_SCHEDULES,
            *MAINTENANCE_SCHEDULES,
            *report_schedules(load_layouts(settings.LAYOUTS_DIR.get())),
        ],
        sensors=[follow_inputs, dead_runs, subscription_partitions, subscriptions_on_their_own_schedule],
        resources={
            "booking_system": BookingSystemResource(url=settings.SOURCE_URL.for_resource()),
            "warehouse": WarehouseResource(url=settings.WAREHOUSE_URL.for_resource()),
            "reports": ReportRenderingResource(
                layouts_dir=settings.LAYOUTS_DIR.for_resource(),
                store_dir=settings.REPORT_STORE.for_resource(),
            ),
        },
        executor=dg.in_process_executor,
    )
).map_resolved_asset_specs(func=lambda spec: described(spec).replace_attributes(owners=spec.owners or OWNERS))
