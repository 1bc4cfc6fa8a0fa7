"""One bad night on call, end to end on a real Dagster instance and real providers on loopback:
an asset fails -> an incident in the failure sensor's tick -> Slack and email to the person on
call -> no acknowledgement -> a text after 15 minutes (Dagster's clock moved on) -> the reply
"ACK n" through the web app -> the Slack channel told who is on it, no more texts -> the next
run succeeds -> "resolved" on each channel that reached them."""

import datetime as dt

import dagster as dg
from dagster._core.test_utils import freeze_time
from fastapi.testclient import TestClient
from twilio.request_validator import RequestValidator

from backroom_reporting.alerting.incidents import get_incident, list_incidents
from backroom_reporting.alerting.paging import notifications_of
from backroom_reporting.portal.app import create_app
from backroom_reporting.resources.databases import WarehouseResource
from backroom_reporting.resources.delivery import DeliveryResource
from backroom_reporting.sensors.on_call import page_on_call
from tests.alerting import SAM_PHONE, write_rules
from tests.alerting.conftest import PORTAL
from tests.alerting.tiny_job import BROKEN, ERROR, execute, failure_sensor, success_sensor
from tests.delivery.standins import TWILIO_TOKEN

NIGHT = dt.datetime(2026, 11, 28, 2, 0, tzinfo=dt.UTC)  # Saturday night: Sam is on call
MIN = dt.timedelta(minutes=1)
INBOUND = "/hooks/twilio/inbound"
# The night's one rule: a failed tiny_job pages on call on Slack and by email, and climbs.
RULE = """\
rules:
  - key: tiny_failed
    kind: run_failure
    jobs: [tiny_job]
    severity: critical
    channels: [slack, email]
    escalation: on_call
"""


def paging_tick(instance: dg.DagsterInstance, warehouse: WarehouseResource, at: dt.datetime) -> str:
    resources = {"warehouse": warehouse, "delivery": DeliveryResource()}
    with freeze_time(at), dg.build_sensor_context(instance=instance, resources=resources) as context:
        return page_on_call(context).skip_message


def sms_reply(client: TestClient, number: str, body: str) -> str:
    """A reply as Twilio posts it, signed over the web app's public URL."""
    params = {"From": number, "To": "+447700900000", "Body": body, "MessageSid": "SM" + "1" * 32}
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(PORTAL + INBOUND, params)
    answer = client.post(INBOUND, data=params, headers={"X-Twilio-Signature": signature})
    assert answer.status_code == 200
    return answer.text


def texts(providers) -> list[tuple[str, str]]:
    return [(m["to"], m["body"]) for m in reversed(providers.twilio.messages)]  # kept newest first


def test_a_failed_night_is_paged_climbs_to_a_text_is_acknowledged_by_reply_and_resolved(
    databases, db, providers, tmp_path
):
    write_rules(providers.folder, RULE)
    warehouse = WarehouseResource(url=databases.warehouse_url)
    instance = dg.DagsterInstance.ephemeral()

    # 02:00 the run fails; the failure sensor's one tick raises the incident and pages it.
    with freeze_time(NIGHT):
        failed = execute(instance, BROKEN)
        said = failure_sensor(instance, failed.run_id, warehouse).skip_message
    [incident] = list_incidents(db)
    n = incident.incident_number
    assert incident.title == f"tiny_job failed (run {failed.run_id}): ValueError: {ERROR}"
    assert said.endswith(f"failed: incidents {n}; paging: sent #{n} 1 email, #{n} 1 slack")
    [post] = [p.args() for p in providers.slack.posts()]
    assert post["channel"] == "C0ALERTS01" and post["text"].startswith(f"<@U0SAM00001> [CRITICAL] #{n}")
    [mail] = providers.relay.messages()
    assert mail["To"].addresses[0].addr_spec == "sam@backroom-leeds.example"
    assert texts(providers) == []

    # Nobody acknowledges: nothing more until 15 minutes, then a text to Sam.
    for minute in (0.5, 5, 14.5):
        assert paging_tick(instance, warehouse, NIGHT + minute * MIN) == "nothing due"
    assert paging_tick(instance, warehouse, NIGHT + 15 * MIN) == f"sent #{n} 2.0 sms"
    [(to, body)] = texts(providers)
    assert to == SAM_PHONE and f"Reply ACK {n}" in body

    # Sam replies from his phone; the web app acknowledges for him.
    with TestClient(create_app(databases.warehouse_url, tmp_path / "reports", watch_every=None)) as client:
        assert f"Incident {n} acknowledged: escalation stopped." in sms_reply(client, SAM_PHONE, f"ACK {n}")
        assert "already acknowledged by Sam Okafor" in sms_reply(client, SAM_PHONE, f"ack {n}")
    acknowledged = get_incident(db, n)
    assert (acknowledged.status, acknowledged.acknowledged_by, acknowledged.acknowledged_via) == (
        "acknowledged",
        "Sam Okafor",
        "sms",
    )

    # The channel hears who is on it; escalation stops: the venue manager is never texted.
    assert paging_tick(instance, warehouse, NIGHT + 16 * MIN) == f"sent #{n} acknowledged slack"
    assert (
        providers.slack.posts()[-1]
        .args()["text"]
        .startswith(f":eyes: #{n} acknowledged by Sam Okafor via sms")
    )
    for minute in (30, 45, 60, 120):
        assert paging_tick(instance, warehouse, NIGHT + minute * MIN) == "nothing due"
    assert len(texts(providers)) == 1

    # 04:00 the next run succeeds: resolved, and said on Slack, by email and by text.
    with freeze_time(NIGHT + 120 * MIN):
        succeeded = execute(instance)
        said = success_sensor(instance, succeeded.run_id, succeeded.get_run_success_event(), warehouse)
    resolved = get_incident(db, n)
    assert (resolved.status, resolved.resolved_by, resolved.resolved_via) == (
        "resolved",
        "dagster",
        "run succeeded",
    )
    assert (
        f"incidents resolved {n}; paging: sent #{n} resolved email, #{n} resolved slack, #{n} resolved sms"
        in (said.skip_message)
    )
    assert (
        providers.slack.posts()[-1]
        .args()["text"]
        .startswith(f":white_check_mark: Resolved #{n} tiny_job failed")
    )
    assert providers.relay.messages()[-1]["Subject"].startswith(f"[RESOLVED] #{n} tiny_job failed")
    assert texts(providers)[-1] == (SAM_PHONE, texts(providers)[-1][1])
    assert texts(providers)[-1][1].startswith(f"RESOLVED #{n} tiny_job failed")
    assert paging_tick(instance, warehouse, NIGHT + 121 * MIN) == "nothing due"  # said once
    assert [(x.step_key.split(":")[0], x.channel, x.status) for x in notifications_of(db, n)] == [
        ("1", "slack", "sent"),
        ("1", "email", "sent"),
        ("2.0", "sms", "sent"),
        ("acknowledged", "slack", "sent"),
        ("resolved", "email", "sent"),
        ("resolved", "slack", "sent"),
        ("resolved", "sms", "sent"),
    ]
