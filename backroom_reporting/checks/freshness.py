"""Freshness: last night's figures are final by 07:00 London, or someone hears about it.

Judged from night_status (written by daily_aggregations), so "figures ready" means what a
report needs: every fact table loaded after the night closed, the figures computed from
that load, and no blocking check failed.
"""

import datetime as dt

import dagster as dg

from backroom_reporting.assets.nights import as_of
from backroom_reporting.metrics.nights import night_due, night_statuses, readiness
from backroom_reporting.resources.databases import WarehouseResource
from backroom_reporting.warehouse.tables.aggregations import night_status

FIGURES_READY = "figures_ready_by_0700"
DEADLINE = dt.time(7, 0)


@dg.asset_check(
    asset="daily_aggregations",
    name=FIGURES_READY,
    description="Last night's figures are final by 07:00 London: every fact table loaded after the "
    "night closed, the figures computed, and no blocking check failed.",
)
def figures_ready_by_seven(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
) -> dg.AssetCheckResult:
    night, deadline = night_due(as_of(context), DEADLINE)
    rows = warehouse.database().read_table(night_status, night_status.c.business_date == night)
    status = night_statuses(rows).get(night)
    problem = readiness(status, night)
    return dg.AssetCheckResult(
        passed=problem is None,
        description=problem or f"The figures for {night:%A %-d %B %Y} were final by {deadline:%H:%M}.",
        metadata={
            "night": str(night),
            "deadline": deadline.isoformat(),
            "final_at": str(status["aggregated_at"]) if status else "never",
        },
    )
