"""Alerts: the rules in force (job_alerts) and the incidents they raised (alert_incidents).

job_alerts is report_layouts/alerts/rules.yaml as a table, one row per rule, rewritten when
the file changes. alert_incidents is the on-call history: one row per incident, numbered
for people to type (`backroom alerts ack 4821`), at most one open per dedup key, with who
acknowledged and resolved it, when and through which channel. alert_notifications is every
message sent about an incident, one row per step and channel, claimed before it is sent so a
step goes out once. sensor_heartbeats holds each alert sensor's last tick, for the watchdog.
"""

import sqlalchemy as sa

from backroom_reporting.warehouse.tables.metadata import WAREHOUSE
from backroom_reporting.warehouse.types import Count, UtcTimestamp

# An autoincrementing key: SQLite only autoincrements INTEGER PRIMARY KEY.
IncidentNumber = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

job_alerts = sa.Table(
    "job_alerts",
    WAREHOUSE,
    sa.Column("rule_key", sa.Text, primary_key=True),
    # run_failure, timeout, slow_execution, consecutive_failures, check_failed, not_fresh, kpi_status
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("jobs", sa.Text, nullable=False),  # JSON list of job names, or "all"
    sa.Column("thresholds", sa.Text, nullable=False),  # JSON, e.g. {"multiple": 2, "min_runs": 5}
    sa.Column("severity", sa.Text, nullable=False),  # critical | warning | info
    sa.Column("channels", sa.Text, nullable=False),  # JSON list: email, sms, slack, webhook
    sa.Column("escalation", sa.Text, nullable=False),  # the escalation policy's name
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("rules_hash", sa.Text, nullable=False),  # sha256 of the rules file
    sa.Column("recorded_at", UtcTimestamp, nullable=False),
)

OPEN = sa.text("status != 'resolved'")

alert_incidents = sa.Table(
    "alert_incidents",
    WAREHOUSE,
    sa.Column("incident_number", IncidentNumber, primary_key=True, autoincrement=True),
    # What makes two alerts one incident: the rule and the job, or the rule, KPI and night.
    sa.Column("dedup_key", sa.Text, nullable=False),
    sa.Column("rule_key", sa.Text, nullable=False),
    sa.Column("severity", sa.Text, nullable=False),
    sa.Column("title", sa.Text, nullable=False),  # one sentence
    sa.Column("detail", sa.Text, nullable=True),  # the latest occurrence's detail
    sa.Column("first_seen_at", UtcTimestamp, nullable=False),
    sa.Column("last_seen_at", UtcTimestamp, nullable=False),
    sa.Column("occurrences", Count, nullable=False),
    sa.Column("status", sa.Text, nullable=False),  # triggered | acknowledged | resolved
    # Taken from the rule when the incident opens, so it pages as raised if the rules change.
    sa.Column("channels", sa.Text, nullable=False),  # JSON list: email, sms, slack, webhook
    sa.Column("escalation", sa.Text, nullable=False),  # the escalation policy's name
    sa.Column("acknowledged_at", UtcTimestamp, nullable=True),
    sa.Column("acknowledged_by", sa.Text, nullable=True),
    sa.Column("acknowledged_via", sa.Text, nullable=True),  # cli, slack, sms, link, web
    sa.Column("resolved_at", UtcTimestamp, nullable=True),
    sa.Column("resolved_by", sa.Text, nullable=True),  # a person, or dagster
    sa.Column("resolved_via", sa.Text, nullable=True),  # cli, ..., or "run succeeded"
    # At most one open incident per dedup key, even for two sensors racing.
    sa.Index(
        "ix_alert_incidents_open_dedup_key",
        "dedup_key",
        unique=True,
        sqlite_where=OPEN,
        postgresql_where=OPEN,
    ),
    sa.Index(None, "status", "last_seen_at"),
)

alert_notifications = sa.Table(
    "alert_notifications",
    WAREHOUSE,
    sa.Column("notification_id", IncidentNumber, primary_key=True, autoincrement=True),
    sa.Column("incident_number", IncidentNumber, nullable=False),
    # Which step of the escalation: "1" (level 1), "2.0" (round 0 of level 2), ..., "resolved".
    sa.Column("step_key", sa.Text, nullable=False),
    sa.Column("channel", sa.Text, nullable=False),  # email, sms, slack, webhook
    sa.Column("person", sa.Text, nullable=True),  # whom it was for; null for a Slack channel post
    sa.Column("address", sa.Text, nullable=True),  # where it went; null when there was none
    sa.Column("status", sa.Text, nullable=False),  # sending | sent | failed
    sa.Column("detail", sa.Text, nullable=True),  # the provider's id, or why it failed
    sa.Column("claimed_at", UtcTimestamp, nullable=False),
    sa.Column("finished_at", UtcTimestamp, nullable=True),
    # A step goes out once on each channel, whichever sensor tick gets there first.
    sa.Index(None, "incident_number", "step_key", "channel", unique=True),
)

sensor_heartbeats = sa.Table(
    "sensor_heartbeats",
    WAREHOUSE,
    sa.Column("sensor_name", sa.Text, primary_key=True),
    sa.Column("ticked_at", UtcTimestamp, nullable=False),
)
