"""The raw layer: one asset per table of the booking system (DESIGN section 4).

Fact tables are partitioned by business day and backfill a whole range in one run;
snapshot tables (venues, customers, events, venue tables, staff) are reloaded whole.
Each asset checks its rows against the contract, loads the good ones and quarantines
the rest, and reports both through its metadata and its quarantine-rate check.
"""

import dagster as dg

from backroom_reporting.checks.quarantine import quarantine_check_result, quarantine_check_spec
from backroom_reporting.ingest.load import LoadResult, load_snapshot, load_window
from backroom_reporting.metrics.business_time import BusinessWindow
from backroom_reporting.partitions import business_days
from backroom_reporting.resources.databases import BookingSystemResource, WarehouseResource
from backroom_reporting.warehouse.source_contract import CONTRACT, Rules

GROUP = "raw"
# A business day closes at 06:00 London; its raw partitions load a quarter of an hour later,
# and everything downstream follows (AutomationCondition.eager on those assets).
AFTER_THE_NIGHT_CLOSES = dg.AutomationCondition.on_cron("15 6 * * *", "Europe/London")


def raw_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(f"raw_{table}")


def _metadata(result: LoadResult) -> dict:
    return {
        "rows": dg.MetadataValue.int(result.loaded),
        "quarantined": dg.MetadataValue.int(result.quarantined),
        "quarantine_reasons": dg.MetadataValue.json(result.reasons),
        "window": result.window,
        "seconds": dg.MetadataValue.float(round(result.seconds, 3)),
        "dagster/row_count": dg.MetadataValue.int(result.loaded),
    }


def _description(rules: Rules) -> str:
    kind = (
        f"Partitioned by the business day of `{rules.business_time}`."
        if rules.is_fact
        else "A snapshot, reloaded whole."
    )
    return f"Booking-system table `{rules.name}`, validated against the source contract. {kind}"


def build_raw_asset(rules: Rules) -> dg.AssetsDefinition:
    key = raw_key(rules.name)
    # A row may only name rows the warehouse already holds, so snapshots load first.
    snapshot_deps = sorted(
        {raw_key(t) for t in rules.references.values() if not CONTRACT[t].is_fact},
        key=lambda k: k.to_user_string(),
    )

    common = dict(
        key=key,
        group_name=GROUP,
        description=_description(rules),
        deps=snapshot_deps,
        check_specs=[quarantine_check_spec(key)],
        kinds={"polars", "sql"},
        tags={"layer": "raw"},
        automation_condition=AFTER_THE_NIGHT_CLOSES,
    )

    if rules.is_fact:

        @dg.asset(
            **common,
            partitions_def=business_days,
        )
        def raw_fact(
            context: dg.AssetExecutionContext,
            booking_system: BookingSystemResource,
            warehouse: WarehouseResource,
        ) -> dg.MaterializeResult:
            window = BusinessWindow.from_instants(*context.partition_time_window)
            result = load_window(booking_system.database(), warehouse.database(), rules, window)
            context.log.info(
                f"{rules.name} {window}: {result.loaded} loaded, {result.quarantined} quarantined"
            )
            return dg.MaterializeResult(
                metadata=_metadata(result), check_results=[quarantine_check_result(result)]
            )

        return raw_fact

    @dg.asset(**common)
    def raw_snapshot(
        context: dg.AssetExecutionContext, booking_system: BookingSystemResource, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        result = load_snapshot(booking_system.database(), warehouse.database(), rules)
        context.log.info(f"{rules.name}: {result.loaded} loaded, {result.quarantined} quarantined")
        return dg.MaterializeResult(
            metadata=_metadata(result), check_results=[quarantine_check_result(result)]
        )

    return raw_snapshot


raw_assets = [build_raw_asset(rules) for rules in CONTRACT.values()]
