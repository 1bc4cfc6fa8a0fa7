"""The policies the platform's assets follow, stated once.

Every asset backfills a range in one run that reads its whole window (applied to all
assets in definitions.py); assets follow their inputs once a business day closes.
"""

import dagster as dg

SINGLE_RUN = dg.BackfillPolicy.single_run()

# A partitioned asset recomputes a partition when its upstream partitions change.
FOLLOW_INPUTS = dg.AutomationCondition.eager()
# A snapshot over partitioned history: plain eager would wait for every partition since
# the history start, which a venue that opened later never has.
FOLLOW_INPUTS_DESPITE_GAPS = FOLLOW_INPUTS.without(~dg.AutomationCondition.any_deps_missing())

SAME_WINDOW = dg.TimeWindowPartitionMapping()
# A day maps to its week or month, which has not closed yet on most days.
CLOSING_PERIOD = dg.TimeWindowPartitionMapping(allow_nonexistent_upstream_partitions=True)


def same_nights(*raw_tables: str) -> list[dg.AssetDep]:
    """Dependencies on the same business days of raw tables."""
    return [dg.AssetDep(f"raw_{name}", partition_mapping=SAME_WINDOW) for name in raw_tables]
