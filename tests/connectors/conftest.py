"""Fatsoma's stand-in on loopback, and the connector's resource pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from backroom_reporting.connectors.fatsoma import FatsomaResource
from tests.connectors.fatsoma_stub import FatsomaStub
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
