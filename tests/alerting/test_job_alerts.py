"""The job_alerts asset: the rules file as a table, one row per rule, with the file's hash."""

import hashlib
import json
from pathlib import Path

import dagster as dg
import sqlalchemy as sa
import yaml

from backroom_reporting.assets.operations import job_alerts
from backroom_reporting.resources.databases import WarehouseResource
from backroom_reporting.warehouse.tables.alerts import job_alerts as table
from tests.alerting import write_rules

SHIPPED = Path(__file__).resolve().parents[2] / "report_layouts" / "alerts" / "rules.yaml"


def materialise(databases) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [job_alerts],
        resources={"warehouse": WarehouseResource(url=databases.warehouse_url)},
        raise_on_error=False,
    )


def test_one_row_per_rule_of_the_shipped_file(databases, monkeypatch):
    monkeypatch.setenv("BACKROOM_ALERT_RULES", str(SHIPPED))
    assert materialise(databases).success
    written = yaml.safe_load(SHIPPED.read_text())["rules"]
    with databases.warehouse as db, db.engine.connect() as conn:
        rows = {row.rule_key: row for row in conn.execute(sa.select(table))}
    assert sorted(rows) == sorted(rule["key"] for rule in written)
    digest = hashlib.sha256(SHIPPED.read_bytes()).hexdigest()
    for rule in written:
        row = rows[rule["key"]]
        assert (row.kind, row.severity, row.escalation, row.rules_hash) == (
            rule["kind"],
            rule["severity"],
            rule["escalation"],
            digest,
        )
        assert json.loads(row.channels) == rule["channels"]
        jobs = rule.get("jobs", "all")
        assert (row.jobs if jobs == "all" else json.loads(row.jobs)) == jobs
    slow = rows["closing_run_slow"]
    assert json.loads(slow.thresholds) == {"multiple": 2, "min_runs": 5}


def test_rules_naming_a_job_the_project_lacks_fail_the_materialisation(databases, monkeypatch, tmp_path):
    monkeypatch.setenv("BACKROOM_ALERT_RULES", str(write_rules(tmp_path)))  # names tiny_job
    result = materialise(databases)
    assert not result.success
    # A mistake in the file is not retried: one failure, saying where the mistake is.
    [failed] = result.get_step_failure_events()
    failure = failed.step_failure_data.error
    while failure.cause is not None:
        failure = failure.cause
    assert "rules[1] (tiny_failed) jobs: unknown job 'tiny_job'" in failure.message


def test_the_code_version_is_the_rules_file_hash():
    # A changed file changes the code version, so on_change_of_definition records it again.
    version = job_alerts.specs_by_key[job_alerts.key].code_version
    assert (
        version
        == hashlib.sha256((Path.cwd() / "report_layouts/alerts/rules.yaml").read_bytes()).hexdigest()[:16]
    )
