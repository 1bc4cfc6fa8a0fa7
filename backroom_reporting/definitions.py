"""The code location: every asset, check, schedule, sensor and resource, assembled."""

import dagster as dg

from backroom_reporting import settings
from backroom_reporting.assets import aggregations, customers, events, kpis, reports, sources
from backroom_reporting.assets.policies import SINGLE_RUN
from backroom_reporting.rendering.layouts import load_layouts
from backroom_reporting.resources.databases import BookingSystemResource, WarehouseResource
from backroom_reporting.resources.reports import ReportRenderingResource
from backroom_reporting.schedules.reports import report_schedules
from backroom_reporting.sensors.reports import subscriptions_on_their_own_schedule
from backroom_reporting.sensors.subscriptions import subscription_partitions

# One module per stage of the graph; each holds its assets and the checks that guard them.
STAGES = [sources, aggregations, kpis, customers, events, reports]

defs = dg.Definitions(
    assets=dg.load_assets_from_modules(STAGES, backfill_policy=SINGLE_RUN),
    asset_checks=dg.load_asset_checks_from_modules(STAGES),
    # A layout file in the layouts folder is a report with its own schedule.
    schedules=report_schedules(load_layouts(settings.LAYOUTS_DIR.get())),
    sensors=[subscription_partitions, subscriptions_on_their_own_schedule],
    resources={
        "booking_system": BookingSystemResource(),
        "warehouse": WarehouseResource(),
        "reports": ReportRenderingResource(),
    },
)
