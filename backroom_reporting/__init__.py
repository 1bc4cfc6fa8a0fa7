"""Backroom Reporting: The Backroom Leeds' reporting and alerting platform, as a Dagster code location."""

import warnings

# Single-run backfills are the design (DESIGN section 6); Dagster 1.13 still calls the
# parameter beta and would say so once per asset at every load.
warnings.filterwarnings("ignore", message=r"Parameter `backfill_policy` of function `asset`")
