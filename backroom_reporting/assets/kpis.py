"""KPI definitions, KPI calculations and the report metrics cache."""
