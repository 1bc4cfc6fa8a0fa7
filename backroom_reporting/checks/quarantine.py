"""The raw layer's data-quality check: how much of a load went to quarantine."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from backroom_reporting.ingest.guards import QUARANTINE_NOISE, too_many_quarantined
from backroom_reporting.ingest.load import LoadResult
from backroom_reporting.warehouse.source_contract import CONTRACT

QUARANTINE_RATE = "quarantine_rate"


def quarantine_check_spec(asset_key: dg.AssetKey, partitions_def=None) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        QUARANTINE_RATE,
        asset=asset_key,
        partitions_def=partitions_def,
        description=(
            "Warns when any source row was quarantined; fails when more than the table's limit "
            f"of the rows read were (and more than {QUARANTINE_NOISE}), as the load guard stopped the load. "
            "See table raw_quarantine for reasons and raw values."
        ),
    )


def quarantine_result(
    table: str,
    loaded: int,
    quarantined: int,
    reasons: dict[str, int],
    night: dt.date | None = None,
    limit: float | None = None,
) -> dg.AssetCheckResult:
    """`limit`: the share that fails the check; the source contract's for its tables."""
    limit = CONTRACT[table].quarantine_limit if limit is None else limit
    read = loaded + quarantined
    rate = quarantined / read if read else 0.0
    metadata = {
        "rows_read": read,
        "quarantined": quarantined,
        "quarantine_rate": dg.MetadataValue.float(round(rate, 6)),
        "reasons": dg.MetadataValue.json(reasons),
    }
    if quarantined == 0:
        return dg.AssetCheckResult(check_name=QUARANTINE_RATE, passed=True, metadata=metadata)
    where = f"{table} on {night:%A %-d %B %Y}" if night else table
    return dg.AssetCheckResult(
        check_name=QUARANTINE_RATE,
        passed=False,
        severity=dg.AssetCheckSeverity.ERROR
        if too_many_quarantined(quarantined, read, limit)
        else dg.AssetCheckSeverity.WARN,
        metadata=metadata,
        description=f"{where}: {quarantined} of {read} rows quarantined ({rate:.2%})",
    )


def quarantine_check_result(result: LoadResult) -> dg.AssetCheckResult:
    """A whole load (a snapshot table) judged at once."""
    return quarantine_result(result.table, result.loaded, result.quarantined, result.reasons)


def nightly_quarantine_results(result: LoadResult) -> dict[dt.date, dg.AssetCheckResult]:
    """A fact table's load judged night by night, from its ledger rows."""
    return {
        row["business_date"]: quarantine_result(
            result.table,
            row["rows_loaded"],
            row["rows_quarantined"],
            result.reasons_by_night.get(row["business_date"], {}),
            row["business_date"],
        )
        for row in result.nights.iter_rows(named=True)
    }
