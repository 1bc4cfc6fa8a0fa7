"""The code location: every asset, check, schedule, sensor and resource, assembled."""

import dagster as dg

from backroom_reporting.assets.sources import raw_assets
from backroom_reporting.resources.databases import BookingSystemResource, WarehouseResource

defs = dg.Definitions(
    assets=[*raw_assets],
    resources={
        "booking_system": BookingSystemResource(),
        "warehouse": WarehouseResource(),
    },
)
