"""Backroom Reporting: The Backroom Leeds' reporting and alerting platform, as a Dagster code location."""

import warnings

# Single-run backfills and mappings to periods that have not closed yet are the design
# (docs/operations.md); Dagster 1.13 still calls both beta and would say so at every load.
warnings.filterwarnings("ignore", message=r"Parameter `backfill_policy` of function `asset`")
warnings.filterwarnings("ignore", message=r"Parameter `allow_nonexistent_upstream_partitions`")
# Check results per night (partitioned checks) and the policies applied to resolved specs
# are the design too (assets/nights.py, assets/policies.py); Dagster 1.13 calls them previews.
warnings.filterwarnings("ignore", message=r"Specifying a partitions_def on an AssetCheckSpec")
warnings.filterwarnings("ignore", message=r"Function `Definitions.map_resolved_asset_specs`")
