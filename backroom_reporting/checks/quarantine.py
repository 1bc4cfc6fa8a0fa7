"""The raw layer's data-quality check: how much of a load went to quarantine."""

from __future__ import annotations

import dagster as dg

from backroom_reporting.ingest.load import LoadResult

CHECK_NAME = "quarantine_rate"
# Above this share of a load quarantined, the source is broken, not merely noisy.
FAIL_ABOVE = 0.01


def quarantine_check_spec(asset_key: dg.AssetKey) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        CHECK_NAME,
        asset=asset_key,
        description=(
            "Warns when any source row was quarantined; fails when more than "
            f"{FAIL_ABOVE:.0%} of the rows read were. See table raw_quarantine for reasons and raw values."
        ),
    )


def quarantine_check_result(result: LoadResult) -> dg.AssetCheckResult:
    metadata = {
        "rows_read": result.read,
        "quarantined": result.quarantined,
        "quarantine_rate": dg.MetadataValue.float(round(result.quarantine_rate, 6)),
        "reasons": dg.MetadataValue.json(result.reasons),
    }
    if result.quarantined == 0:
        return dg.AssetCheckResult(check_name=CHECK_NAME, passed=True, metadata=metadata)
    severity = (
        dg.AssetCheckSeverity.ERROR if result.quarantine_rate > FAIL_ABOVE else dg.AssetCheckSeverity.WARN
    )
    return dg.AssetCheckResult(
        check_name=CHECK_NAME,
        passed=False,
        severity=severity,
        metadata=metadata,
        description=f"{result.quarantined} of {result.read} rows quarantined ({result.quarantine_rate:.2%})",
    )
