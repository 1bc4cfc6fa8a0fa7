"""Fatsoma's stand-in on loopback, the connector's resource pointed at it, and the world of
tests/connectors/fatsoma/ticket_world.py on the test's databases."""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg
import pytest

from backroom_reporting.connectors.fatsoma import FatsomaResource
from tests.connectors.fatsoma.fatsoma_stub import FatsomaStub
from tests.connectors.fatsoma.ticket_world import booking_system, fatsoma_world
from tests.delivery.loopback import Loopback


@pytest.fixture
def stub() -> Iterator[FatsomaStub]:
    with Loopback() as server:
        yield FatsomaStub(server)


@pytest.fixture
def fatsoma(stub: FatsomaStub) -> FatsomaResource:
    """Tickets from Fatsoma, at the stand-in, with short waits so faults cost milliseconds."""
    return FatsomaResource(
        tickets_source="fatsoma",
        base_url=stub.base_url,
        api_key="fatsoma-test-key",
        venues="loc-leeds=leeds",
        timeout_seconds=0.5,
        max_retries=3,
        backoff_seconds=0.01,
    )


@pytest.fixture
def world(databases, stub: FatsomaStub):
    """The booking system written, and Fatsoma's stand-in serving its events and orders."""
    booking_system(databases)
    fatsoma_world(stub)
    return databases


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.DagsterInstance.ephemeral() as dagster:
        yield dagster
