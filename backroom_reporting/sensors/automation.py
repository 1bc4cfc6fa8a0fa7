"""The sensor that runs every asset's automation condition, on from the first start.

Dagster's default automation sensor starts stopped, so on a fresh deployment nothing
would follow the nightly loads; this one is the project's own, declared running.
"""

import dagster as dg

follow_inputs = dg.AutomationConditionSensorDefinition(
    "follow_inputs",
    # Every asset with a condition; the raw layer and the reports have none (schedules run them).
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Runs each asset downstream of the raw layer when its inputs for a closed night, "
    "week or month were updated (assets/policies.py), and the KPI catalogue, the report "
    "templates and the job tables on their own conditions.",
)
