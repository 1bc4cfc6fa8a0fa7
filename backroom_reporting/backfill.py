"""Materialising the whole asset graph over a window of business days, in-process.

Dagster runs one partitions definition per run, so the graph is cut into stages: each
stage is a run of assets sharing one partitions definition (unpartitioned assets ride
along with any), over the whole window (or every subscription) at once (single-run
backfill), in dependency order. This is what `backroom demo` runs; the Dagster UI's backfills do the same work
through the daemon.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import dagster as dg

from backroom_reporting.metrics.business_time import BusinessWindow


@dataclass
class Stage:
    partitions_def: dg.PartitionsDefinition | None
    keys: list[dg.AssetKey] = field(default_factory=list)


@dataclass
class StageResult:
    stage: Stage
    partitions: int
    seconds: float
    materializations: list[dg.AssetMaterialization]
    # "asset:check" -> the checks that did not pass: severity ("warn" or "error") and the
    # partitions (nights, weeks) they failed on, empty for an unpartitioned check
    failed_checks: dict[str, FailedCheck]

    @property
    def check_failures(self) -> list[str]:
        return list(self.failed_checks)


@dataclass
class FailedCheck:
    severity: str
    partitions: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        if not self.partitions:
            return self.severity
        shown = ", ".join(self.partitions[:3]) + (
            f" and {len(self.partitions) - 3} more" if len(self.partitions) > 3 else ""
        )
        return f"{self.severity} on {len(self.partitions)} partition(s): {shown}"


def with_databases(
    defs: dg.Definitions,
    source_url: str,
    warehouse_url: str,
    report_store: str | None = None,
    outbox: str | None = None,
    fatsoma=None,
) -> dg.Definitions:
    """The project's definitions wired to given databases (tests, benchmarks), a report store,
    an outbox for what is delivered, and a Fatsoma resource (default: from the settings)."""
    from backroom_reporting.connectors.fatsoma import FatsomaResource
    from backroom_reporting.resources.databases import BookingSystemResource, WarehouseResource
    from backroom_reporting.resources.delivery import DeliveryResource
    from backroom_reporting.resources.reports import ReportRenderingResource

    return dg.Definitions(
        assets=defs.assets,
        asset_checks=defs.asset_checks,
        jobs=defs.jobs,
        schedules=defs.schedules,
        sensors=defs.sensors,
        executor=dg.in_process_executor,
        resources={
            # Connectors' resources (Stripe's, when configured) as the code location has them.
            **defs.resources,
            "booking_system": BookingSystemResource(url=source_url),
            "warehouse": WarehouseResource(url=warehouse_url),
            "reports": ReportRenderingResource(store_dir=report_store),
            "delivery": DeliveryResource(outbox_dir=outbox),
            "fatsoma": fatsoma or FatsomaResource(),
        },
    )


def plan_stages(asset_graph) -> list[Stage]:
    """Cut the graph into runs: a topological order that keeps assets of one partitions
    definition together for as long as their dependencies allow."""
    keys = [k for k in asset_graph.get_all_asset_keys() if asset_graph.get(k).is_materializable]
    parents = {k: {p for p in asset_graph.get(k).parent_keys if p in keys} for k in keys}
    done: set[dg.AssetKey] = set()
    stages: list[Stage] = []
    current: Stage | None = None
    remaining = sorted(keys, key=lambda k: k.to_user_string())
    while remaining:
        ready = [k for k in remaining if parents[k] <= done | set(current.keys if current else [])]
        fits = [
            k
            for k in ready
            if current is not None and asset_graph.get(k).partitions_def in (None, current.partitions_def)
        ]
        if current is not None and fits:
            chosen = fits[0]
            if current.partitions_def is None:
                current.partitions_def = asset_graph.get(chosen).partitions_def
        else:
            if current is not None:
                done.update(current.keys)
            ready = [k for k in remaining if parents[k] <= done]
            # Prefer unpartitioned assets first: they are the snapshots the rest reads.
            chosen = min(
                ready, key=lambda k: (asset_graph.get(k).partitions_def is not None, k.to_user_string())
            )
            current = Stage(asset_graph.get(chosen).partitions_def)
            stages.append(current)
        current.keys.append(chosen)
        remaining.remove(chosen)
    return stages


def _range_tags(partitions_def: dg.PartitionsDefinition | None, window: BusinessWindow) -> tuple[dict, int]:
    if partitions_def is None:
        return {}, 0
    if not isinstance(partitions_def, dg.TimeWindowPartitionsDefinition):
        raise TypeError(f"cannot backfill partitions of type {type(partitions_def).__name__} by time")
    # Every closed partition that overlaps the window: a window starting mid-week still
    # refreshes that week, and a month not yet over has no partition to run.
    first = partitions_def.get_partition_key_for_timestamp(window.start.timestamp())
    span = dg.TimeWindow(partitions_def.time_window_for_partition_key(first).start, window.end)
    keys = [
        k
        for k in partitions_def.get_partition_keys_in_time_window(span)
        if partitions_def.has_partition_key(k)
    ]
    if not keys:
        raise ValueError(f"no {partitions_def} partitions fall within {window}")
    return partition_range(keys), len(keys)


def partition_range(keys: Sequence[str]) -> dict[str, str]:
    """The tags of one run over `keys`, consecutive partitions in their definition's order."""
    return {"dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[-1]}


def run_stage(stage: Stage, instance, job_assets, defs, log_level: str, tags=None, partition_key=None):
    """One run of a stage: its materialisations (one per asset) and its failed checks."""
    run = dg.materialize(
        job_assets,
        selection=stage.keys,
        instance=instance,
        resources=defs.resources,
        tags=tags,
        partition_key=partition_key,
        raise_on_error=True,
        run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
    )
    evaluations = [
        event.event_specific_data
        for event in run.all_events
        if event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION
    ]
    failures: dict[str, FailedCheck] = {}
    for e in evaluations:
        if not e.passed:
            failed = failures.setdefault(
                f"{e.asset_key.to_user_string()}:{e.check_name}", FailedCheck(e.severity.value.lower())
            )
            if e.partition:
                failed.partitions.append(e.partition)
    # A single-run backfill records one materialisation per partition, each with its own metadata.
    materializations = [e.materialization for e in run.get_asset_materialization_events()]
    return materializations, failures


def backfill(
    defs: dg.Definitions,
    window: BusinessWindow,
    instance: dg.DagsterInstance,
    on_stage: Callable[[int, int, Stage, StageResult | None], None] = lambda *_: None,
    selection: Sequence[dg.AssetKey] | None = None,
    log_level: str = "WARNING",
    tags: dict[str, str] | None = None,
) -> list[StageResult]:
    """Materialise every asset (or `selection`) over `window`, stage by stage.

    Calls `on_stage(i, n, stage, None)` before and `on_stage(i, n, stage, result)` after
    each stage. Raises when a run fails, leaving earlier stages' data in place.
    """
    graph = defs.resolve_asset_graph()
    stages = plan_stages(graph)
    if selection is not None:
        wanted = set(selection)
        stages = [Stage(s.partitions_def, [k for k in s.keys if k in wanted]) for s in stages]
        stages = [s for s in stages if s.keys]
    # Checks that stand alone (last night's freshness) run on their own schedule, not in backfills.
    job_assets = list(defs.assets)
    results = []
    for i, stage in enumerate(stages, start=1):
        on_stage(i, len(stages), stage, None)
        began = time.perf_counter()
        if isinstance(stage.partitions_def, dg.DynamicPartitionsDefinition):
            # Every subscription in one run, as at a report time: each still names its own period.
            keys = instance.get_dynamic_partitions(stage.partitions_def.name)
            runs = (
                [
                    run_stage(
                        stage,
                        instance,
                        job_assets,
                        defs,
                        log_level,
                        tags={**(tags or {}), **partition_range(keys)},
                    )
                ]
                if keys
                else []
            )
            partitions = len(keys)
        else:
            range_tags, partitions = _range_tags(stage.partitions_def, window)
            runs = [
                run_stage(stage, instance, job_assets, defs, log_level, tags={**(tags or {}), **range_tags})
            ]
        result = StageResult(
            stage,
            partitions,
            time.perf_counter() - began,
            [m for run in runs for m in run[0]],
            {k: v for run in runs for k, v in run[1].items()},
        )
        results.append(result)
        on_stage(i, len(stages), stage, result)
    return results
