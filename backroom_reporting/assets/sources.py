"""The booking system and the raw layer (docs/metrics.md, Raw layer).

The booking system's twelve tables are external assets (`booking_system/<table>`), so
lineage starts where the data does; each raw asset loads one of them. Fact tables are
partitioned by night and backfill a whole range in one run; snapshot tables (venues,
customers, events, venue tables, staff) are reloaded whole when their source changed.
Each raw asset checks its rows against the contract, loads the good ones and quarantines
the rest, records each load (raw_loads per night, raw_snapshot_loads per snapshot), and
reports all of it per night in its metadata and its quarantine-rate check.

When the deployment's tickets come from Fatsoma (BACKROOM_TICKETS_SOURCE=fatsoma),
raw_ticket_sales reads the orders the Fatsoma connector landed instead of the booking
system's ticket_sales, and raw_events reads Fatsoma's events beside the booking system's
(docs/connectors.md); both pass the same contract and guards.

Raw assets have no automation condition: the named jobs in schedules/nightly.py load
them (the open night every hour, the night just closed and any recent night whose
source changed after 06:00); everything downstream follows them.
"""

import datetime as dt

import dagster as dg

from backroom_reporting.assets.nights import as_of, check_evaluations, describe_nights, window_of
from backroom_reporting.assets.policies import RETRY_TRANSIENT_FAULTS, SAME_NIGHTS
from backroom_reporting.assets.step_metrics import measured
from backroom_reporting.checks.load_guards import guard_result, load_guard_spec
from backroom_reporting.checks.quarantine import (
    nightly_quarantine_results,
    quarantine_check_result,
    quarantine_check_spec,
)
from backroom_reporting.connectors.fatsoma import LANDED, FatsomaResource
from backroom_reporting.ingest.guards import accepted
from backroom_reporting.ingest.load import NOTHING_LANDED, LoadResult, load_snapshot, load_window
from backroom_reporting.partitions import business_days
from backroom_reporting.resources.databases import BookingSystemResource, WarehouseResource
from backroom_reporting.warehouse.source_contract import CONTRACT, Rules

GROUP = "raw"
SOURCE_GROUP = "booking_system"


def raw_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(f"raw_{table}")


def source_key(table: str) -> dg.AssetKey:
    return dg.AssetKey([SOURCE_GROUP, table])


def source_spec(rules: Rules) -> dg.AssetSpec:
    return dg.AssetSpec(
        source_key(rules.name),
        group_name=SOURCE_GROUP,
        description=f"Table `{rules.name}` of the booking system (read only; owned by another system).",
        partitions_def=business_days if rules.is_fact else None,
        kinds={"sql"},
        owners=["team:booking-system"],
    )


def _description(rules: Rules) -> str:
    kind = (
        f"Partitioned by the night of `{rules.business_time}`."
        if rules.is_fact
        else "A snapshot, reloaded whole when its source changed."
    )
    return f"Booking-system table `{rules.name}`, validated against the source contract. {kind}"


def _night_metadata(result: LoadResult) -> dict[dt.date, dict]:
    return {
        row["business_date"]: {
            "dagster/row_count": row["rows_loaded"],
            "rows": row["rows_loaded"],
            "quarantined": row["rows_quarantined"],
            "source_rows": row["source_rows"],
            "final": row["final"],
            "fingerprint": row["fingerprint"][:16],
        }
        for row in result.nights.iter_rows(named=True)
    }


def landed(fatsoma: FatsomaResource):
    """The tables the connectors land instead of the booking system's (Fatsoma's, when tickets
    come from Fatsoma): read for a table itself, or for the facts its rows refer to."""
    return LANDED if fatsoma.for_tickets() else NOTHING_LANDED


def build_raw_asset(rules: Rules) -> dg.AssetsDefinition:
    key = raw_key(rules.name)
    # A row may only name rows the warehouse already holds, so snapshots load first.
    snapshot_deps = sorted(
        {raw_key(t) for t in rules.references.values() if not CONTRACT[t].is_fact},
        key=lambda k: k.to_user_string(),
    )
    # The connector's landing asset (named as its table) for a source table Fatsoma may stand in for.
    landed_from = [dg.AssetKey(LANDED[rules.name].name)] if rules.name in LANDED else []
    common = dict(
        key=key,
        group_name=GROUP,
        description=_description(rules),
        kinds={"polars", "sql"},
        tags={"layer": "raw"},
        retry_policy=RETRY_TRANSIENT_FAULTS,
    )

    if rules.is_fact:

        @dg.asset(
            **common,
            partitions_def=business_days,
            deps=[
                dg.AssetDep(source_key(rules.name), partition_mapping=SAME_NIGHTS),
                *snapshot_deps,
                *landed_from,
            ],
            check_specs=[quarantine_check_spec(key, business_days), load_guard_spec(key, business_days)],
        )
        @measured
        def raw_fact(
            context: dg.AssetExecutionContext,
            booking_system: BookingSystemResource,
            warehouse: WarehouseResource,
            fatsoma: FatsomaResource,
        ):
            window = window_of(context)
            result = load_window(
                booking_system.database(),
                warehouse.database(),
                rules,
                window,
                as_of(context),
                accept_changes=accepted(context.run.tags, rules.name),
                # Tickets from Fatsoma: the booking system's ticket_sales is not read at all.
                landed=landed(fatsoma),
            )
            context.log.info(
                f"{rules.name} {window}: {result.loaded} loaded, {result.quarantined} quarantined"
            )
            for trip in result.trips.values():
                context.log.error(trip.sentence)
            results = {
                day: [quarantine, guard_result(result, day)]
                for day, quarantine in nightly_quarantine_results(result).items()
            }
            describe_nights(context, _night_metadata(result), results)
            yield dg.MaterializeResult(metadata={"unattributable_quarantined": result.unattributable})
            yield from check_evaluations(context, key, results)

        return raw_fact

    @dg.asset(
        **common,
        deps=[source_key(rules.name), *snapshot_deps, *landed_from],
        check_specs=[quarantine_check_spec(key), load_guard_spec(key)],
    )
    @measured
    def raw_snapshot(
        context: dg.AssetExecutionContext,
        booking_system: BookingSystemResource,
        warehouse: WarehouseResource,
        fatsoma: FatsomaResource,
    ) -> dg.MaterializeResult:
        result = load_snapshot(
            booking_system.database(),
            warehouse.database(),
            rules,
            accept_changes=accepted(context.run.tags, rules.name),
            landed=landed(fatsoma),
        )
        for trip in result.trips.values():
            context.log.error(trip.sentence)
        unchanged = " (source unchanged: nothing written)" if result.unchanged else ""
        context.log.info(f"{rules.name}: {result.loaded} loaded, {result.quarantined} quarantined{unchanged}")
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": result.loaded,
                "quarantined": result.quarantined,
                "quarantine_reasons": dg.MetadataValue.json(result.reasons),
                "source_unchanged": result.unchanged,
                "kept_previous_rows": bool(result.trips),
            },
            check_results=[quarantine_check_result(result), guard_result(result, None)],
        )

    return raw_snapshot


source_specs = [source_spec(rules) for rules in CONTRACT.values()]
raw_assets = [build_raw_asset(rules) for rules in CONTRACT.values()]
