"""A copy of the shared reporting world with the demo subscriptions, in which reports are
rendered and delivered through Dagster (shared by the report and delivery tests)."""

import datetime as dt
import json
import shutil
from pathlib import Path

import dagster as dg

from backroom_reporting.assets.reports import REPORT_DAY_TAG
from backroom_reporting.definitions import defs
from backroom_reporting.rendering.history import generations_of
from backroom_reporting.rendering.store import ReportStore
from backroom_reporting.resources.databases import WarehouseResource
from backroom_reporting.resources.delivery import DeliveryResource
from backroom_reporting.resources.reports import ReportRenderingResource
from backroom_reporting.sensors.subscriptions import sync_subscription_partitions
from backroom_reporting.subscriptions.demo import load_demo_subscriptions
from backroom_reporting.warehouse.database import Database
from tests.conftest import Databases

LAYOUTS = Path(__file__).parents[2] / "report_layouts"
SATURDAY = dt.date(2026, 11, 21)
REPORTS = [dg.AssetKey("subscription_reports"), dg.AssetKey("report_generation_history")]
DELIVERIES = [dg.AssetKey("report_deliveries"), dg.AssetKey("report_delivery_history")]


class Venue:
    """A copy of the shared reporting world's warehouse, with the demo subscriptions, a
    report store and a Dagster instance of its own."""

    def __init__(self, world, tmp_path: Path, layouts: Path = LAYOUTS):
        copy = tmp_path / "warehouse.db"
        shutil.copy(world.databases.warehouse_url.removeprefix("sqlite:///"), copy)
        self.databases = Databases("sqlite", world.databases.source_url, f"sqlite:///{copy}")
        self.source_url = world.databases.source_url
        self.store = ReportStore(tmp_path / "reports")
        self.outbox = tmp_path / "outbox"
        self.layouts = layouts
        self.db = Database(self.databases.warehouse_url)
        _, self.subscriptions = load_demo_subscriptions(self.db, layouts)
        self.instance = dg.DagsterInstance.ephemeral()
        sync_subscription_partitions(self.instance, [s.subscription_id for s in self.subscriptions])
        self.resources = {
            "warehouse": WarehouseResource(url=self.databases.warehouse_url),
            "reports": ReportRenderingResource(layouts_dir=str(layouts), store_dir=str(self.store.root)),
            "delivery": DeliveryResource(outbox_dir=str(self.outbox)),
        }

    def render(self, subscription_id: str, day: dt.date = SATURDAY, raise_on_error: bool = True):
        return self.materialize(REPORTS, subscription_id, day, raise_on_error)

    def deliver(self, subscription_id: str, day: dt.date = SATURDAY, raise_on_error: bool = True):
        """The subscription's report for `day` and its delivery, in one run (as the sensor asks)."""
        return self.materialize(REPORTS + DELIVERIES, subscription_id, day, raise_on_error)

    def materialize(
        self, selection, subscription_id: str, day: dt.date, raise_on_error: bool, tags: dict | None = None
    ):
        return dg.materialize(
            [*defs.assets],
            selection=selection,
            partition_key=subscription_id,
            instance=self.instance,
            resources={**defs.resources, **self.resources},
            tags={REPORT_DAY_TAG: day.isoformat(), **(tags or {})},
            raise_on_error=raise_on_error,
        )

    def latest(self, subscription_id: str) -> dict:
        return generations_of(self.db, subscription_id).row(-1, named=True)

    def file(self, generation: dict, fmt: str) -> bytes:
        [entry] = [f for f in json.loads(generation["files"]) if f["format"] == fmt]
        return self.store.read(entry["path"])
