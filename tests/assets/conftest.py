"""Materialising assets against real databases, the way the Dagster UI would."""

from __future__ import annotations

import dagster as dg
import pytest

from backroom_reporting.backfill import backfill, with_databases
from backroom_reporting.definitions import defs
from backroom_reporting.metrics.business_time import BusinessWindow


def definitions_for(databases, report_store: str | None = None) -> dg.Definitions:
    """The project's assets and checks, wired to the test's databases (and a report store)."""
    return with_databases(defs, databases.source_url, databases.warehouse_url, report_store)


@pytest.fixture
def materialise(databases):
    """materialise(window, selection=None, tags=None): a single-run backfill of the selection
    over the window."""
    instance = dg.DagsterInstance.ephemeral()

    def run(window: BusinessWindow, selection: list[str] | None = None, tags: dict[str, str] | None = None):
        keys = None if selection is None else [dg.AssetKey(k) for k in selection]
        return backfill(definitions_for(databases), window, instance, selection=keys, tags=tags)

    yield run
    instance.dispose()
