"""The warehouse the alert sensors write incidents to, with the rules they read; and the providers
on call is paged through, on loopback: a mail relay (aiosmtpd), Slack's Web API and Twilio's
Messages (tests/delivery/standins.py), with an on-call file naming two people."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from backroom_reporting.resources.databases import WarehouseResource
from tests.alerting import RULES, write_on_call, write_rules
from tests.delivery.conftest import Relay, free_port
from tests.delivery.loopback import Loopback
from tests.delivery.standins import SENDER, SID, SLACK_TOKEN, TWILIO_TOKEN, SlackStandIn, TwilioStandIn

PORTAL = "https://reports.backroom-leeds.example"


@pytest.fixture
def rules_text() -> str:
    """The rules file's text (a test module overrides this fixture for other rules)."""
    return RULES


@pytest.fixture
def warehouse(databases, tmp_path, monkeypatch, rules_text):
    """The warehouse resource; the sensors page the test's on-call people through the outbox."""
    monkeypatch.setenv("BACKROOM_ALERT_RULES", str(write_rules(tmp_path / "alerts", rules_text)))
    monkeypatch.setenv("BACKROOM_ON_CALL", str(write_on_call(tmp_path / "alerts")))
    monkeypatch.setenv("BACKROOM_OUTBOX", str(tmp_path / "outbox"))
    return WarehouseResource(url=databases.warehouse_url)


@pytest.fixture
def db(databases):
    with databases.warehouse as db:
        yield db


@dataclass
class Providers:
    """What each provider received."""

    relay: Relay
    slack: SlackStandIn
    twilio: TwilioStandIn
    folder: Path  # the rules, the on-call file and the outbox


@pytest.fixture
def providers(monkeypatch, tmp_path) -> Iterator[Providers]:
    relay, port = Relay(), free_port()
    controller = Controller(relay, hostname="127.0.0.1", port=port)
    controller.start()
    folder = tmp_path / "alerts"
    with Loopback() as slack_server, Loopback() as twilio_server:
        for name, value in {
            "BACKROOM_SMTP_URL": f"smtp://127.0.0.1:{port}",
            "SLACK_BOT_TOKEN": SLACK_TOKEN,
            "SLACK_BASE_URL": f"{slack_server.url}/api/",
            "TWILIO_ACCOUNT_SID": SID,
            "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
            "TWILIO_FROM": SENDER,
            "TWILIO_BASE_URL": twilio_server.url,
            "BACKROOM_PORTAL_URL": PORTAL,
            "BACKROOM_OUTBOX": str(tmp_path / "outbox"),
            "BACKROOM_ALERT_RULES": str(write_rules(folder)),
            "BACKROOM_ON_CALL": str(write_on_call(folder)),
        }.items():
            monkeypatch.setenv(name, value)
        yield Providers(relay, SlackStandIn(slack_server), TwilioStandIn(twilio_server), folder)
    controller.stop()
