"""The code location the alert latency benchmark's daemon loads: jobs whose one asset fails, and
the project's own run-failure and paging sensors with their resources, as the real location
configures them from the environment."""

import dagster as dg

from backroom_reporting import settings
from backroom_reporting.resources.databases import WarehouseResource
from backroom_reporting.resources.delivery import DeliveryResource
from backroom_reporting.sensors.alerts import alert_on_run_failure, resolve_on_run_success
from backroom_reporting.sensors.on_call import page_on_call

JOBS = 5


def failing_asset(number: int) -> dg.AssetsDefinition:
    @dg.asset(name=f"figures_{number}")
    def figures() -> int:
        raise ValueError("the booking system refused the connection")

    return figures


ASSETS = [failing_asset(n) for n in range(JOBS)]
defs = dg.Definitions(
    assets=ASSETS,
    jobs=[dg.define_asset_job(f"night_{n}", selection=[asset]) for n, asset in enumerate(ASSETS)],
    sensors=[alert_on_run_failure, resolve_on_run_success, page_on_call],
    resources={
        "warehouse": WarehouseResource(url=settings.WAREHOUSE_URL.for_resource()),
        "delivery": DeliveryResource(),
    },
)
