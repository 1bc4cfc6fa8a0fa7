"""A generated venue with its whole analytics graph materialised, shared by the report tests."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from backroom_reporting.backfill import backfill
from backroom_reporting.definitions import defs
from backroom_reporting.demo.generator import generate
from backroom_reporting.metrics.business_time import BusinessWindow
from backroom_reporting.warehouse.migrate import upgrade
from tests.assets.conftest import definitions_for
from tests.conftest import Databases
from tests.reports.venue import Venue

# Seven weeks ending on Sunday 22 November 2026, with the fall-back night inside.
WINDOW = BusinessWindow(dt.date(2026, 10, 5), dt.date(2026, 11, 22))
REPORT_ASSETS = {
    "subscription_reports",
    "report_generation_history",
    "report_deliveries",
    "report_delivery_history",
}


@dataclass
class ReportingWorld:
    databases: Databases
    window: BusinessWindow


def analysed_world(folder: Path, venues: int, window: BusinessWindow, seed: int) -> ReportingWorld:
    """Generated booking data of `venues` venues over `window` and every asset but the reports
    materialised, in SQLite files under `folder`."""
    databases = Databases("sqlite", f"sqlite:///{folder}/booking.db", f"sqlite:///{folder}/warehouse.db")
    generate(databases.source_url, venues, window.first_day, window.last_day, seed=seed)
    upgrade(databases.warehouse_url)
    everything_but_reports = [
        key
        for key in defs.resolve_asset_graph().get_all_asset_keys()
        if key.to_user_string() not in REPORT_ASSETS
    ]
    # Presales and deposits come weeks before the first night: load from a month earlier.
    history = BusinessWindow(window.first_day - dt.timedelta(days=35), window.last_day)
    with dg.DagsterInstance.ephemeral() as instance:
        backfill(definitions_for(databases), history, instance, selection=everything_but_reports)
    return ReportingWorld(databases, window)


@pytest.fixture(scope="session")
def reporting_world(tmp_path_factory) -> ReportingWorld:
    return analysed_world(tmp_path_factory.mktemp("reporting"), 1, WINDOW, seed=17)


@pytest.fixture
def venue(reporting_world, tmp_path) -> Venue:
    return Venue(reporting_world, tmp_path)
