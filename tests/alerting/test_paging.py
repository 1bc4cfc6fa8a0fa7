"""Paging through real providers on loopback: level 1 on the rule's channels, texts as the
policy climbs, each step once however many ticks see it, Slack down falling through to a
text, escalation stopping at an acknowledgement, and the resolution told to everyone reached."""

import datetime as dt
import re

import pytest

from backroom_reporting.alerting.incidents import acknowledge, job_dedup_key, raise_incident, resolve
from backroom_reporting.alerting.on_call import parse_on_call
from backroom_reporting.alerting.paging import Pager, notifications_of
from backroom_reporting.alerting.rules import parse_rules
from backroom_reporting.delivery import links
from tests.alerting import ALEX_PHONE, SAM_PHONE
from tests.delivery.loopback import Reply
from tests.delivery.standins import SLACK_POST

T0 = dt.datetime(2026, 11, 28, 2, 0, tzinfo=dt.UTC)  # a Saturday night: Sam is on call
MIN = dt.timedelta(minutes=1)


@pytest.fixture
def paging(databases, providers):
    rules = parse_rules(providers.folder / "rules.yaml")
    on_call = parse_on_call(providers.folder / "on_call.yaml")
    with databases.warehouse as db:
        yield db, rules, Pager(db, on_call.roster(db))


def failed(db, rules, now=T0):
    rule = rules.by_key("tiny_failed")
    return raise_incident(
        db, rule, job_dedup_key(rule, "tiny_job"), "tiny_job failed: the source refused", None, now
    )


def texts(providers):
    return [(m["to"], m["body"]) for m in reversed(providers.twilio.messages)]  # kept newest first


def test_level_one_goes_on_the_rules_channels_once(paging, providers):
    db, rules, pager = paging
    incident = failed(db, rules)
    pager.page([incident], T0)
    pager.page([incident], T0 + dt.timedelta(seconds=30))  # the next tick: nothing twice
    pager.page_all(T0 + dt.timedelta(seconds=60))

    [post] = [p.args() for p in providers.slack.posts()]
    assert post["channel"] == "C0ALERTS01"
    assert post["text"].startswith(f"<@U0SAM00001> [CRITICAL] #{incident.incident_number} tiny_job failed")
    button = next(e for b in post["blocks"] if b["type"] == "actions" for e in b["elements"])
    assert (button["action_id"], button["value"]) == ("acknowledge_incident", str(incident.incident_number))

    [mail] = providers.relay.messages()
    assert mail["To"].addresses[0].addr_spec == "sam@backroom-leeds.example"
    assert mail["Subject"] == f"[CRITICAL] #{incident.incident_number} tiny_job failed: the source refused"
    body = mail.get_body(("plain",)).get_content()
    token = re.search(r"/incidents/ack/(\S+)", body)[1]
    assert links.read("incident", token) == {"i": incident.incident_number, "p": "Sam Okafor"}
    assert f"reply ACK {incident.incident_number}" in body
    assert texts(providers) == []
    assert [(n.step_key, n.channel, n.status) for n in notifications_of(db, incident.incident_number)] == [
        ("1", "slack", "sent"),
        ("1", "email", "sent"),
    ]


def test_unacknowledged_it_texts_on_call_then_the_venue_manager_until_acknowledged(paging, providers):
    db, rules, pager = paging
    incident = failed(db, rules)
    for minute in range(0, 61):  # a tick a minute for an hour (the sensor ticks every 30 s)
        pager.page_all(T0 + minute * MIN)
        if minute == 50:
            acknowledge(db, incident.incident_number, "Sam Okafor", "sms", T0 + minute * MIN)
    n = incident.incident_number
    assert [to for to, _ in texts(providers)] == [SAM_PHONE, ALEX_PHONE]  # minutes 15 and 30; not 60
    assert texts(providers)[0][1].startswith(
        f"Nobody has acknowledged this yet. [CRITICAL] #{n} tiny_job failed"
    )
    assert (
        f"Reply ACK {n} or open https://reports.backroom-leeds.example/incidents/ack/"
        in texts(providers)[0][1]
    )
    assert texts(providers)[1][1].startswith("The person on call has not acknowledged this.")


def test_slack_down_falls_through_to_a_text_and_is_recorded(paging, providers):
    db, rules, pager = paging
    providers.slack.faults[SLACK_POST] = [Reply(503, {"ok": False, "error": "service_unavailable"})]
    incident = failed(db, rules)
    pager.page([incident], T0)

    assert [to for to, _ in texts(providers)] == [SAM_PHONE]
    assert len(providers.relay.messages()) == 1
    sent = {(n.channel, n.status): n.detail for n in notifications_of(db, incident.incident_number)}
    assert set(sent) == {("slack", "failed"), ("email", "sent"), ("sms", "sent")}
    assert sent[("slack", "failed")] == "Slack answered 503 (service_unavailable)"


def test_the_resolution_is_told_on_each_channel_that_reached_someone(paging, providers):
    db, rules, pager = paging
    incident = failed(db, rules)
    for minute in range(0, 20):
        pager.page_all(T0 + minute * MIN)  # level 1, and the text to Sam at minute 15
    resolved = resolve(db, incident.incident_number, "dagster", "run succeeded", T0 + 20 * MIN)
    pager.page([resolved], T0 + 20 * MIN)
    pager.page_all(T0 + 21 * MIN)  # told once

    n = incident.incident_number
    posts = [p.args()["text"] for p in providers.slack.posts()]
    assert len(posts) == 2 and posts[1].startswith(f":white_check_mark: Resolved #{n} tiny_job failed")
    assert "resolved by dagster via run succeeded at 02:20 UTC" in posts[1]
    subjects = [m["Subject"] for m in providers.relay.messages()]
    assert subjects[1] == f"[RESOLVED] #{n} tiny_job failed: the source refused"
    assert [(to, body.split(" (")[0]) for to, body in texts(providers)][1:] == [
        (SAM_PHONE, f"RESOLVED #{n} tiny_job failed: the source refused")
    ]


def test_a_person_without_a_phone_is_reached_another_way(paging, providers, tmp_path):
    db, rules, _ = paging
    text = (providers.folder / "on_call.yaml").read_text().replace('    phone: "07700 900111"\n', "")
    (providers.folder / "on_call.yaml").write_text(text)
    pager = Pager(db, parse_on_call(providers.folder / "on_call.yaml").roster(db))
    incident = failed(db, rules)
    pager.page_all(T0)
    pager.page_all(T0 + 15 * MIN)

    steps = [
        (n.step_key, n.channel, n.status, n.detail) for n in notifications_of(db, incident.incident_number)
    ]
    assert steps[2][:3] == ("2.0", "sms", "failed")
    assert steps[2][3] == "Sam Okafor has no mobile number on the on-call list"
    assert [s[:3] for s in steps[3:]] == [("2.0", "slack", "sent")]
