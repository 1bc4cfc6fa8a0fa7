"""The sensor that runs every asset's automation condition, on from the first start.

Dagster's default automation sensor starts stopped, so on a fresh deployment nothing
would follow the nightly loads; this one is the project's own, declared running. It targets
every asset, so no asset is left to the default sensor: report_templates, in the reports
group, has a condition of its own. Assets without a condition (the raw layer, the reports)
are left alone by it.
"""

import dagster as dg

follow_inputs = dg.AutomationConditionSensorDefinition(
    "follow_inputs",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Runs each asset downstream of the raw layer when its inputs for a closed night, "
    "week or month were updated (assets/policies.py), and the KPI catalogue, the report "
    "templates and the job tables on their own conditions.",
)
