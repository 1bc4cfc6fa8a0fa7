"""Materialising the job tables, Dagster's own records exported to the warehouse."""

from __future__ import annotations

import dagster as dg
import pytest

from tests.assets.conftest import definitions_for


@pytest.fixture
def export(databases, home_instance):
    """export(*assets): materialise the named job tables through Dagster, on the instance in
    DAGSTER_HOME, into the test's warehouse; the run's result."""
    wired = definitions_for(databases)

    def run(*assets: str) -> dg.ExecuteInProcessResult:
        return dg.materialize(
            wired.assets, selection=list(assets), instance=home_instance, resources=wired.resources
        )

    return run
