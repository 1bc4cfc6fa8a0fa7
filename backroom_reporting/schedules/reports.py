"""One schedule per report layout, on the layout's own cron: the spec's scheduled_jobs.

Each tick asks for the report of every active subscription to that template that keeps
the template's schedule, once the period's figures are ready; a period whose nights are
not final yet is skipped with the reason, and the morning freshness check has already
said so. A layout file added to report_layouts/ brings its schedule with it.
Subscriptions with a cron of their own are run by the sensor in sensors/reports.py.
"""

import dagster as dg

from backroom_reporting.assets.nights import AS_OF_TAG
from backroom_reporting.rendering.layouts import Layout
from backroom_reporting.rendering.periods import latest_completed
from backroom_reporting.rendering.readiness import not_ready
from backroom_reporting.resources.databases import WarehouseResource
from backroom_reporting.subscriptions.service import active_subscriptions

REPORTS = dg.AssetSelection.assets("subscription_reports", "report_generation_history")


def report_schedule(layout: Layout) -> dg.ScheduleDefinition:
    @dg.schedule(
        name=f"{layout.key}_schedule",
        cron_schedule=layout.cron,
        execution_timezone=layout.timezone,
        target=REPORTS,
        description=f"{layout.title} at {layout.cron} ({layout.timezone}), for subscriptions on the "
        "template's schedule.",
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )
    def _schedule(context: dg.ScheduleEvaluationContext, warehouse: WarehouseResource):
        due = [
            s
            for s in active_subscriptions(warehouse.database())
            if s.template_key == layout.key and s.cron is None
        ]
        if not due:
            return dg.SkipReason(f"no active subscription follows the {layout.key} schedule")
        tick = context.scheduled_execution_time
        period = latest_completed(layout.period, tick)
        problem = not_ready(warehouse.database(), period.first_day, period.last_day)
        if problem:
            return dg.SkipReason(f"{layout.title} for {period.label} waits: {problem}")
        return [
            dg.RunRequest(
                run_key=f"{s.subscription_id}:{tick.isoformat()}",
                partition_key=s.subscription_id,
                tags={AS_OF_TAG: tick.isoformat()},
            )
            for s in due
        ]

    return _schedule


def report_schedules(layouts: dict[str, Layout]) -> list[dg.ScheduleDefinition]:
    return [report_schedule(layout) for layout in layouts.values()]
