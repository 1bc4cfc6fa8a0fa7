"""`backroom alerts`: list, show, ack, resolve and test; refusals exit 2 with their sentence."""

import datetime as dt
import json
import re

import pytest
from click.testing import CliRunner

from backroom_reporting.alerting.incidents import get_incident, job_dedup_key, raise_incident
from backroom_reporting.alerting.rules import parse_rules
from backroom_reporting.cli import main
from tests.alerting import write_on_call, write_rules
from tests.commands import ok, refused

T0 = dt.datetime(2026, 11, 28, 23, 40, tzinfo=dt.UTC)


@pytest.fixture
def rules_file(tmp_path):
    return write_rules(tmp_path / "alerts")


@pytest.fixture
def run(databases, rules_file, tmp_path):
    env = {
        "BACKROOM_WAREHOUSE_URL": databases.warehouse_url,
        "BACKROOM_ALERT_RULES": str(rules_file),
        "BACKROOM_ON_CALL": str(write_on_call(rules_file.parent)),
        "BACKROOM_OUTBOX": str(tmp_path / "outbox"),
    }

    def invoke(*args: str):
        return CliRunner().invoke(main, ["alerts", *args], env=env)

    return invoke


@pytest.fixture
def incident(databases, rules_file) -> int:
    rule = parse_rules(rules_file).by_key("tiny_failed")
    with databases.warehouse as db:
        for _ in range(3):
            number = raise_incident(
                db,
                rule,
                job_dedup_key(rule, "tiny_job"),
                "tiny_job failed (run r1): boom",
                "run r1: boom",
                T0,
            ).incident_number
    return number


def test_list_show_ack_resolve(run, databases, incident):
    listed = ok(run("list", "--open"))
    assert re.search(rf"^{incident}\s+triggered\s+critical\s+tiny_failed\s+3\s", listed, re.M)
    shown = ok(run("show", str(incident)))
    assert f"Incident {incident}: tiny_job failed (run r1): boom" in shown
    assert "3 occurrence(s)" in shown

    acked = ok(run("ack", str(incident), "--by", "Jo Bloggs"))
    assert "acknowledged" in acked and "by Jo Bloggs via cli" in acked
    refused(
        run("ack", str(incident), "--by", "Sam"), f"Incident {incident} was already acknowledged by Jo Bloggs"
    )

    ok(run("resolve", str(incident), "--by", "Sam"))
    with databases.warehouse as db:
        done = get_incident(db, incident)
    assert (done.status, done.acknowledged_by, done.resolved_by, done.resolved_via) == (
        "resolved",
        "Jo Bloggs",
        "Sam",
        "cli",
    )
    assert ok(run("list", "--open")).strip() == "No open incidents."
    assert str(incident) in ok(run("list"))
    refused(run("ack", str(incident)), f"Incident {incident} is already resolved")
    refused(run("resolve", str(incident)), f"Incident {incident} was already resolved by Sam")


def test_an_unknown_incident_is_refused(run):
    for command in ("show", "ack", "resolve"):
        refused(run(command, "4821"), "There is no incident 4821.")


def test_a_test_incident_is_titled_as_a_test_and_paged(run, databases, tmp_path):
    shown = ok(run("test", "tiny_slow"))
    number = int(re.search(r"^Incident (\d+): ", shown).group(1))
    with databases.warehouse as db:
        raised = get_incident(db, number)
    assert raised.title.startswith("TEST of alert rule tiny_slow")
    assert (raised.rule_key, raised.severity, raised.status) == ("tiny_slow", "info", "triggered")
    # It reaches the people on call as a real one would: tiny_slow posts on Slack (here, the outbox).
    posted = json.loads((tmp_path / "outbox" / f"incident-{number}-1.slack.json").read_text())
    assert posted["channel"] == "C0ALERTS01"
    assert f"#{number} TEST of alert rule tiny_slow" in posted["text"]
    shown = ok(run("show", str(number)))
    assert re.search(
        r"  message      step 1 slack to (Sam Okafor|Alex Reid) \(C0ALERTS01\): sent, no provider", shown
    )
    refused(run("test", "nope"), "no alert rule 'nope'; known: tiny_failed, anything_failed, tiny_slow")
