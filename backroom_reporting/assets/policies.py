"""The policies every asset follows, stated once and applied in definitions.py.

- Backfill: a range of nights runs as one run that reads its whole window, or, where
  BACKROOM_BACKFILL_POLICY says `multi_run:<N>` (a deployment with a pod per run), as runs
  of at most N nights each, side by side.
- Retries: a step that fails on something transient (a database or the network) is tried
  again with exponential backoff and jitter; a fault that would fail again the same way
  is raised as `dg.Failure(allow_retries=False)` and is not retried.
- Automation: the raw layer is loaded by named jobs (schedules/nightly.py); every other
  asset follows its inputs, under `follows_inputs` below.
"""

from __future__ import annotations

import re

import dagster as dg

from backroom_reporting import settings

AC = dg.AutomationCondition


def backfill_policy(text: str) -> dg.BackfillPolicy:
    """`single_run`, or `multi_run:<N>` for runs of at most N partitions each."""
    if text.strip() == "single_run":
        return dg.BackfillPolicy.single_run()
    multi = re.fullmatch(r"multi_run:([1-9][0-9]*)", text.strip())
    if multi is None:
        raise ValueError(
            f"{settings.BACKFILL_POLICY.env} is {text!r}: use single_run, or multi_run:<N> with N "
            "nights per run (a whole number from 1), e.g. multi_run:30."
        )
    return dg.BackfillPolicy.multi_run(int(multi.group(1)))


# Read once, here: the policy is part of every asset's definition.
BACKFILL = backfill_policy(settings.BACKFILL_POLICY.get())
RETRY_TRANSIENT_FAULTS = dg.RetryPolicy(
    max_retries=3, delay=5, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)

# The same nights upstream.
SAME_NIGHTS = dg.TimeWindowPartitionMapping()
# A weekly snapshot reads far back, but late facts only reach the nights the closing run
# re-checks (the 14 before the night just closed): they lie in its week and the two before
# it, so a snapshot follows those nights (offsets count weeks, the snapshot's own unit).
LATE_NIGHTS_OF_WEEK = dg.TimeWindowPartitionMapping(
    start_offset=-2, allow_nonexistent_upstream_partitions=True
)
# A night's ticket revenue comes from tickets bought on the nights before it (presales) and
# its satisfaction from feedback sent on the nights after it: the raw partitions holding them,
# within these bounds, are its inputs, so loading or re-checking one recomputes the nights
# they are for. A ticket bought earlier, or feedback sent later, still counts when the night
# is next recomputed (docs/metrics.md, "daily_aggregations").
PRESALE_NIGHTS = 90
FEEDBACK_NIGHTS = 7
TICKETS_FOR_THE_NIGHT = dg.TimeWindowPartitionMapping(
    start_offset=-PRESALE_NIGHTS, allow_nonexistent_upstream_partitions=True
)
FEEDBACK_ABOUT_THE_NIGHT = dg.TimeWindowPartitionMapping(
    end_offset=FEEDBACK_NIGHTS, allow_nonexistent_upstream_partitions=True
)
# A night maps to its week or month, which may begin before the first night kept.
PERIOD_OF_NIGHT = dg.TimeWindowPartitionMapping(allow_nonexistent_upstream_partitions=True)


def looking_back(days: int) -> dg.TimeWindowPartitionMapping:
    """The same night and the `days` nights before it (those before the first night kept
    do not exist and are not waited for)."""
    return dg.TimeWindowPartitionMapping(start_offset=-days, allow_nonexistent_upstream_partitions=True)


def same_nights(*raw_tables: str) -> list[dg.AssetDep]:
    """Dependencies on the same nights of raw tables."""
    return [dg.AssetDep(f"raw_{name}", partition_mapping=SAME_NIGHTS) for name in raw_tables]


# --- automation ----------------------------------------------------------------------------

# Week- and month-to-date rows (the open week and month) are refreshed on Sunday at 03:00,
# the spec's weekly refresh of its summary views.
TO_DATE_REFRESH = ("0 3 * * 0", "Europe/London")


def follows_inputs(
    *,
    time_partitioned: bool,
    context_deps: list[dg.AssetKey],
    optional_deps: list[dg.AssetKey],
    to_date_refresh: bool = False,
) -> dg.AutomationCondition:
    """The automation condition of every asset downstream of the raw layer.

    Such an asset runs for a partition when something it reads for that partition was
    updated (a night loaded or recomputed, in any window, so backfills and late facts reach
    it too), once nothing it reads is still running and every input of that very night
    exists. A time-partitioned asset computes closed periods only: the open night is the
    raw layer's and hourly_aggregations' alone (the live view), and the open week and
    month are refreshed as to-date rows on TO_DATE_REFRESH.

    context_deps: unpartitioned inputs read as context (the venues, the KPI catalogue); a
        change to them does not recompute every night of history, but they must exist.
    optional_deps: inputs that need not exist yet (look-back windows, the period a night
        belongs to), so a gap or the history start does not hold the asset back.
    """
    updated = AC.any_deps_updated()
    if context_deps:
        updated = updated.ignore(dg.AssetSelection.assets(*context_deps))
    missing = AC.any_deps_missing()
    if optional_deps:
        missing = missing.ignore(dg.AssetSelection.assets(*optional_deps))
    if time_partitioned:
        trigger = (~AC.in_latest_time_window() & updated).with_label("an input of a closed period updated")
        if to_date_refresh:
            trigger = trigger | (
                AC.in_latest_time_window() & AC.cron_tick_passed(*TO_DATE_REFRESH)
            ).with_label("to-date refresh")
    else:
        trigger = updated
    return (
        trigger.since_last_handled() & ~missing & ~AC.any_deps_in_progress() & ~AC.in_progress()
    ).with_label("follows its inputs")


def on_change_of_definition() -> dg.AutomationCondition:
    """Assets built from the code location's own files (the KPI catalogue, the layouts):
    materialised while missing (a fresh deployment; `on_missing` would only catch assets that
    go missing later) unless that failed, and whenever their code version changes."""
    missing = AC.missing() & ~AC.execution_failed()
    return ((missing | AC.code_version_changed()) & ~AC.in_progress()).with_label(
        "while missing, or when its file changes"
    )


def every_hour_at(minute: int) -> dg.AutomationCondition:
    """Assets that read Dagster's own records: refreshed once an hour."""
    return AC.on_cron(f"{minute} * * * *", "Europe/London")


# Groups whose assets are run by schedules and sensors, never by automation: the raw layer
# (schedules/nightly.py), the reports and their deliveries (sensors/deliveries.py), and the
# connectors' pulls (assets/stripe.py, schedules/fatsoma.py).
SCHEDULED_GROUPS = ("raw", "reports", "stripe", "fatsoma")


def _identity(mapping) -> bool:
    return isinstance(mapping, dg.TimeWindowPartitionMapping) and (
        mapping.start_offset,
        mapping.end_offset,
    ) == (
        0,
        0,
    )


def with_automation(defs: dg.Definitions) -> dg.Definitions:
    """Give every asset without a condition of its own, outside SCHEDULED_GROUPS, the
    `follows_inputs` condition that fits its inputs."""
    graph = defs.resolve_asset_graph()

    def condition(spec: dg.AssetSpec) -> dg.AssetSpec:
        node = graph.get(spec.key)
        if (
            spec.automation_condition is not None
            or spec.group_name in SCHEDULED_GROUPS
            or not node.is_materializable
        ):
            return spec
        context, optional = [], []
        for parent_key in sorted(node.parent_keys, key=lambda k: k.to_user_string()):
            parent = graph.get(parent_key)
            if parent.partitions_def is None and node.partitions_def is not None:
                context.append(parent_key)
            elif parent.partitions_def != node.partitions_def or (
                node.partitions_def is not None
                and not _identity(graph.get_partition_mapping(spec.key, parent_key))
            ):
                optional.append(parent_key)
        return spec.replace_attributes(
            automation_condition=follows_inputs(
                time_partitioned=isinstance(node.partitions_def, dg.TimeWindowPartitionsDefinition),
                context_deps=context,
                optional_deps=optional,
                to_date_refresh=spec.metadata.get(TO_DATE_METADATA, False),
            )
        )

    return defs.map_resolved_asset_specs(func=condition)


# Asset metadata marking summaries whose open period is a to-date row refreshed on TO_DATE_REFRESH.
TO_DATE_METADATA = "backroom/to_date_row"


def described(spec: dg.AssetSpec) -> dg.AssetSpec:
    """An asset stored in a warehouse table, with that table's name and columns as metadata
    (the UI's column view, lineage by column), straight from warehouse/tables/."""
    from backroom_reporting.warehouse.tables import WAREHOUSE
    from backroom_reporting.warehouse.types import polars_dtype

    table = WAREHOUSE.tables.get(spec.key.to_user_string())
    if table is None:
        return spec
    columns = [
        dg.TableColumn(
            column.name,
            str(polars_dtype(column.type)),
            constraints=dg.TableColumnConstraints(nullable=column.nullable, unique=False),
        )
        for column in table.columns
    ]
    schema = dg.TableSchema(
        columns=columns,
        constraints=dg.TableConstraints(
            other=[f"primary key: {', '.join(table.primary_key.columns.keys())}"]
        ),
    )
    return spec.merge_attributes(
        metadata={"dagster/column_schema": schema, "dagster/table_name": f"reporting.{table.name}"}
    )
