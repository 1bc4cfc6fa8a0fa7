"""The code location: every asset, check, schedule, sensor and resource, assembled."""

import dagster as dg

from backroom_reporting.assets import aggregations, customers, events, kpis, sources
from backroom_reporting.assets.policies import SINGLE_RUN
from backroom_reporting.resources.databases import BookingSystemResource, WarehouseResource

# One module per stage of the graph; each holds its assets and the checks that guard them.
STAGES = [sources, aggregations, kpis, customers, events]

defs = dg.Definitions(
    assets=dg.load_assets_from_modules(STAGES, backfill_policy=SINGLE_RUN),
    asset_checks=dg.load_asset_checks_from_modules(STAGES),
    resources={
        "booking_system": BookingSystemResource(),
        "warehouse": WarehouseResource(),
    },
)
