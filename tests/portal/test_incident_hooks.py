"""Acknowledging an incident from Slack's button and by an SMS reply, over a real socket: Slack's
requests signed as Slack signs them (HMAC-SHA256 of "v0:{timestamp}:{body}" with the app's
signing secret), Twilio's with its RequestValidator; forged and stale requests refused and
the incidents left as they were."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import time
from urllib.parse import urlencode

import pytest

from backroom_reporting.alerting.incidents import get_incident
from tests.portal.conftest import KIMS_NUMBER, TWILIO_TOKEN, incident_rows, reply_of, twilio

SIGNING_SECRET = "slack-test-signing-secret"
INBOUND = "/hooks/twilio/inbound"


@pytest.fixture
def secrets(monkeypatch):
    monkeypatch.setenv("BACKROOM_SLACK_SIGNING_SECRET", SIGNING_SECRET)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TWILIO_TOKEN)


# --- Slack -----------------------------------------------------------------------------------


def button_pressed(value: str, user: dict | None = None, action_id: str = "acknowledge_incident") -> dict:
    """The block_actions payload of a press on an alert message's button, trimmed to what matters."""
    return {
        "type": "block_actions",
        "user": user if user is not None else {"id": "U024BE7LH", "username": "sam", "name": "sam"},
        "team": {"id": "T9TK3CUKW", "domain": "backroom-leeds"},
        "channel": {"id": "C0LAN2Q65", "name": "on-call"},
        "response_url": "https://hooks.slack.com/actions/T9TK3CUKW/1/abc",
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "incident",
                "value": value,
                "action_ts": "1764406800.000100",
            }
        ],
    }


def slack_form(payload: dict) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


def slack_headers(body: bytes, secret: str = SIGNING_SECRET, timestamp: int | None = None) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/x-www-form-urlencoded",
    }


def slack(portal, payload: dict):
    body = slack_form(payload)
    return portal.http.post("/hooks/slack/interactivity", content=body, headers=slack_headers(body))


def said(answer) -> str:
    """The sentence shown to the person who pressed the button, only to them."""
    assert answer.status_code == 200
    message = answer.json()
    assert (message["response_type"], message["replace_original"]) == ("ephemeral", False)
    return message["text"]


def test_slacks_button_acknowledges_the_incident_as_the_person_who_pressed_it(portal, on_call, secrets):
    before = dt.datetime.now(dt.UTC)
    answer = slack(portal, button_pressed(str(on_call.triggered)))
    assert answer.json() == {
        "response_type": "ephemeral",
        "replace_original": False,
        "text": f"Incident {on_call.triggered} acknowledged by sam: escalation stopped.",
    }
    incident = get_incident(portal.db, on_call.triggered)
    assert (incident.status, incident.acknowledged_by, incident.acknowledged_via) == (
        "acknowledged",
        "sam",
        "slack",
    )
    assert before <= incident.acknowledged_at <= dt.datetime.now(dt.UTC)

    stamp = f"{incident.acknowledged_at:%Y-%m-%d %H:%M} UTC"
    assert said(slack(portal, button_pressed(str(on_call.triggered)))) == (
        f"Incident {on_call.triggered} was already acknowledged by sam at {stamp}."
    )
    assert said(slack(portal, button_pressed(str(on_call.resolved)))) == (
        f"Incident {on_call.resolved} is already resolved (dagster, 2026-11-29 03:30 UTC); "
        "there is nothing to acknowledge."
    )
    assert (
        said(slack(portal, button_pressed(str(on_call.unknown))))
        == f"There is no incident {on_call.unknown}."
    )
    assert get_incident(portal.db, on_call.triggered) == incident


def test_who_pressed_is_the_slack_name_else_the_username_else_the_id(portal, on_call, secrets):
    answer = slack(portal, button_pressed(str(on_call.triggered), {"id": "U024BE7LH"}))
    assert said(answer) == f"Incident {on_call.triggered} acknowledged by U024BE7LH: escalation stopped."
    assert get_incident(portal.db, on_call.triggered).acknowledged_by == "U024BE7LH"


def test_other_buttons_and_a_button_naming_no_incident_change_nothing(portal, on_call, secrets):
    before = incident_rows(portal)
    answer = slack(portal, button_pressed("https://reports.example/r/x", action_id="open_report"))
    assert (answer.status_code, answer.content) == (200, b"")
    assert said(slack(portal, button_pressed("tonight"))) == (
        "This button names no incident ('tonight'), so nothing was acknowledged."
    )
    assert incident_rows(portal) == before


def test_forged_stale_and_unsigned_slack_requests_are_refused_and_change_nothing(
    portal, on_call, secrets, refusals
):
    body = slack_form(button_pressed(str(on_call.triggered)))
    other = slack_form(button_pressed(str(on_call.acknowledged)))
    cases = {
        "another secret": (body, slack_headers(body, secret="guessed-secret"), 403),
        "altered body": (other, slack_headers(body), 403),
        "six minutes old": (body, slack_headers(body, timestamp=int(time.time()) - 360), 403),
        "not a timestamp": (body, slack_headers(body) | {"X-Slack-Request-Timestamp": "noon"}, 403),
        "unsigned": (body, {"Content-Type": "application/x-www-form-urlencoded"}, 401),
    }
    before = incident_rows(portal)
    for case, (content, headers, expected) in cases.items():
        answer = portal.http.post("/hooks/slack/interactivity", content=content, headers=headers)
        assert answer.status_code == expected, case
    assert incident_rows(portal) == before
    assert len(refusals) == len(cases)
    assert all(line.startswith("POST /hooks/slack/interactivity refused: ") for line in refusals)
    # Six minutes, and the seconds the test took to get there.
    assert any(
        re.search(r"the timestamp is 36\d seconds old \(at most 300 allowed\)", line) for line in refusals
    )
    assert sum("the signature does not match the body" in line for line in refusals) == 2


def test_without_a_signing_secret_every_slack_request_is_refused(portal, on_call, refusals, monkeypatch):
    monkeypatch.delenv("BACKROOM_SLACK_SIGNING_SECRET", raising=False)
    before = incident_rows(portal)
    answer = slack(portal, button_pressed(str(on_call.triggered)))
    assert answer.status_code == 403
    assert incident_rows(portal) == before
    assert refusals == [
        "POST /hooks/slack/interactivity refused: "
        "$BACKROOM_SLACK_SIGNING_SECRET is not set, so no request can be checked"
    ]


# --- SMS -------------------------------------------------------------------------------------


def texted(portal, body: str, token: str = TWILIO_TOKEN) -> list[str]:
    answer = twilio(portal, INBOUND, {"From": KIMS_NUMBER, "Body": body}, token=token)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/xml")
    return reply_of(answer)


def test_an_ack_from_a_number_not_on_call_acknowledges_nothing(portal, on_call, secrets):
    answer = twilio(portal, INBOUND, {"From": "+447700900999", "Body": f"ACK {on_call.triggered}"})
    assert reply_of(answer) == ["This number is not on the on-call list, so it cannot acknowledge incidents."]
    assert get_incident(portal.db, on_call.triggered).status == "triggered"


def test_an_ack_reply_acknowledges_the_incident_by_sms(portal, on_call, secrets):
    before = dt.datetime.now(dt.UTC)
    assert texted(portal, f" ack #{on_call.triggered}. ") == [
        f"Incident {on_call.triggered} acknowledged: escalation stopped."
    ]
    incident = get_incident(portal.db, on_call.triggered)
    # The on-call list names the number's owner (Sam Okafor's entry, with Kim's number).
    assert (incident.status, incident.acknowledged_by, incident.acknowledged_via) == (
        "acknowledged",
        "Sam Okafor",
        "sms",
    )
    assert before <= incident.acknowledged_at <= dt.datetime.now(dt.UTC)

    stamp = f"{incident.acknowledged_at:%Y-%m-%d %H:%M} UTC"
    assert texted(portal, f"ACK {on_call.triggered}") == [
        f"Incident {on_call.triggered} was already acknowledged by Sam Okafor at {stamp}."
    ]
    assert texted(portal, f"Ack {on_call.resolved}.") == [
        f"Incident {on_call.resolved} is already resolved (dagster, 2026-11-29 03:30 UTC); "
        "there is nothing to acknowledge."
    ]
    assert texted(portal, f"ACK {on_call.unknown}") == [f"There is no incident {on_call.unknown}."]
    assert get_incident(portal.db, on_call.triggered) == incident


def test_an_ack_without_a_number_is_shown_how_and_other_words_are_left_alone(portal, on_call, secrets):
    before = incident_rows(portal)
    for body in ("ACK", "ack please", "Ack #", f"ACK {on_call.triggered} and more"):
        assert texted(portal, body) == ["Reply ACK and the incident number, e.g. ACK 4821."], body
    assert texted(portal, f"acknowledged {on_call.triggered}") == []
    assert incident_rows(portal) == before


def test_a_forged_ack_is_refused_and_acknowledges_nothing(portal, on_call, secrets):
    before = incident_rows(portal)
    params = {"From": KIMS_NUMBER, "Body": f"ACK {on_call.triggered}"}
    assert twilio(portal, INBOUND, params, token="guessed-token").status_code == 403
    assert portal.http.post(INBOUND, data=params).status_code == 401
    assert incident_rows(portal) == before
