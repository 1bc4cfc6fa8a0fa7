"""The watchdog, from outside Dagster: quiet while the paging sensor beats, a text to the person
on call once it has been silent past the rule's minutes, one incident however often it checks,
and resolved (and said so) when the sensor ticks again."""

import datetime as dt
import time

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from backroom_reporting.alerting.incidents import list_incidents
from backroom_reporting.alerting.on_call import parse_on_call
from backroom_reporting.alerting.paging import Pager
from backroom_reporting.alerting.rules import parse_rules
from backroom_reporting.alerting.watchdog import PAGING_SENSOR, beat, watch
from backroom_reporting.cli import main
from backroom_reporting.portal.app import create_app
from backroom_reporting.warehouse.migrate import upgrade
from tests.alerting import SAM_PHONE

T0 = dt.datetime(2026, 11, 28, 2, 0, tzinfo=dt.UTC)
MIN = dt.timedelta(minutes=1)


@pytest.fixture
def watched(databases, providers):
    rules = parse_rules(providers.folder / "rules.yaml")
    with databases.warehouse as db:
        yield db, rules, Pager(db, parse_on_call(providers.folder / "on_call.yaml").roster(db))


def test_nothing_to_watch_before_the_sensor_ever_ticked(watched):
    db, rules, pager = watched
    found, changed = watch(db, rules, pager, T0)
    assert (found, changed) == (f"{PAGING_SENSOR} has never ticked here: nothing to watch yet", [])


def test_silence_past_the_limit_texts_once_and_the_next_tick_resolves_it(watched, providers):
    db, rules, pager = watched
    beat(db, PAGING_SENSOR, T0)
    assert watch(db, rules, pager, T0 + 5 * MIN)[1] == []  # five minutes is the limit, not over it
    for minute in range(6, 11):  # cron every minute: one incident, one text
        found, [incident] = watch(db, rules, pager, T0 + minute * MIN)
    assert found == f"silent for 10 min: incident {incident.incident_number}"
    assert incident.occurrences == 5
    [(to, body)] = [(m["to"], m["body"]) for m in providers.twilio.messages]
    assert to == SAM_PHONE
    assert body.startswith(
        f"[CRITICAL] #{incident.incident_number} The alert sensors have not ticked for 6 min"
    )
    assert len(providers.relay.messages()) == 1

    beat(db, PAGING_SENSOR, T0 + 11 * MIN)
    found, [resolved] = watch(db, rules, pager, T0 + 11 * MIN)
    assert found == f"ticking again: incident {incident.incident_number} resolved"
    assert (resolved.status, resolved.resolved_by, resolved.resolved_via) == (
        "resolved",
        "watchdog",
        "sensors ticking again",
    )
    assert providers.twilio.messages[0]["body"].startswith(f"RESOLVED #{incident.incident_number}")
    assert watch(db, rules, pager, T0 + 12 * MIN)[1] == []


def test_backroom_watchdog_exits_1_while_the_sensors_are_silent(databases, providers):
    upgrade(databases.warehouse_url)
    with databases.warehouse as db:
        beat(db, PAGING_SENSOR, dt.datetime.now(dt.UTC) - 20 * MIN)
    env = {"BACKROOM_WAREHOUSE_URL": databases.warehouse_url}
    silent = CliRunner().invoke(main, ["watchdog"], env=env)
    assert silent.exit_code == 1, silent.output
    assert silent.output.startswith("silent for 20 min: incident ")
    with databases.warehouse as db:
        beat(db, PAGING_SENSOR, dt.datetime.now(dt.UTC))
        again = CliRunner().invoke(main, ["watchdog"], env=env)
        assert again.exit_code == 0, again.output
        assert "resolved" in again.output
        assert [i.status for i in list_incidents(db)] == ["resolved"]


def test_the_web_app_keeps_watch_and_answers_healthz(databases, providers, tmp_path):
    upgrade(databases.warehouse_url)
    with databases.warehouse as db:
        beat(db, PAGING_SENSOR, dt.datetime.now(dt.UTC) - 7 * MIN)
    app = create_app(databases.warehouse_url, tmp_path / "reports", watch_every=0.1)
    with TestClient(app) as client:
        deadline = time.monotonic() + 60  # generous: the test ends at the first text
        while not providers.twilio.messages:
            assert time.monotonic() < deadline, "the web app's watchdog sent no text"
            time.sleep(0.1)
        health = client.get("/healthz")
        assert health.status_code == 503
        assert health.json()["sensors"] == "silent"
        assert health.json()["detail"] == (
            "the alert sensors have not ticked for 7 min; the Dagster daemon may be down"
        )
        with databases.warehouse as db:
            beat(db, PAGING_SENSOR, dt.datetime.now(dt.UTC))
        assert client.get("/healthz").json()["sensors"] == "ticking"
        while len(providers.twilio.messages) < 2:  # the next check resolves it and says so
            assert time.monotonic() < deadline, "the web app's watchdog did not resolve the incident"
            time.sleep(0.1)
    on_call_now = (
        parse_on_call(providers.folder / "on_call.yaml").roster(db=None).on_call_at(dt.datetime.now(dt.UTC))
    )
    assert {m["to"] for m in providers.twilio.messages} == {on_call_now.phone}
    assert providers.twilio.messages[0]["body"].startswith("RESOLVED #")
