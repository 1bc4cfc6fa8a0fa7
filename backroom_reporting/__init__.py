"""Backroom Reporting: The Backroom Leeds' reporting and alerting platform, as a Dagster code location."""

import warnings

# Single-run backfills and mappings to periods that have not closed yet are the design
# (DESIGN section 6); Dagster 1.13 still calls both beta and would say so at every load.
warnings.filterwarnings("ignore", message=r"Parameter `backfill_policy` of function `asset`")
warnings.filterwarnings("ignore", message=r"Parameter `allow_nonexistent_upstream_partitions`")
