"""The raw layer's load guards as checks: a night (or a snapshot) whose load was stopped
fails, with the guard's sentence; one whose tripped guard the run accepted passes, saying so."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from backroom_reporting.ingest.guards import ACCEPT_TAG
from backroom_reporting.ingest.load import LoadResult

LOAD_GUARD = "load_guard"


def load_guard_spec(asset_key: dg.AssetKey, partitions_def=None) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        LOAD_GUARD,
        asset=asset_key,
        partitions_def=partitions_def,
        description="Fails when a load was stopped before it replaced anything: the source table was "
        "empty where it had rows, a snapshot shrank, a night collapsed against the same night of "
        f"recent weeks, or too many rows failed the contract. Run tag {ACCEPT_TAG} accepts a real change.",
        metadata={"blocks_the_load": True},
    )


def guard_result(result: LoadResult, night: dt.date | None) -> dg.AssetCheckResult:
    if night in result.trips:
        trip = result.trips[night]
        return dg.AssetCheckResult(
            check_name=LOAD_GUARD,
            passed=False,
            severity=dg.AssetCheckSeverity.ERROR,
            description=trip.sentence,
            metadata={"guard": trip.guard, "kept_previous_rows": True},
        )
    if night in result.accepted:
        trip = result.accepted[night]
        return dg.AssetCheckResult(
            check_name=LOAD_GUARD,
            passed=True,
            description=f"Accepted by the run ({ACCEPT_TAG}): {trip.sentence}",
            metadata={"guard": trip.guard, "kept_previous_rows": False},
        )
    return dg.AssetCheckResult(check_name=LOAD_GUARD, passed=True)
