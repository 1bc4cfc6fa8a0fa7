"""Consents recorded from the command line with who, when and how; a withdrawal stops that
channel's sends at once, a grant lets them go again."""

from __future__ import annotations

import datetime as dt

from click.testing import CliRunner

from backroom_reporting.cli import main
from backroom_reporting.delivery.plan import plan
from backroom_reporting.privacy import audit
from backroom_reporting.rendering.store import ReportStore
from backroom_reporting.subscriptions import consent, service
from backroom_reporting.warehouse.tables.deliveries import consent_events
from tests.commands import ok
from tests.delivery.parcels import report
from tests.subscriptions import LEEDS, set_venues, write_layouts

ADDED = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


def settled(db, store: ReportStore) -> dict[str, str | None]:
    """What the planner does with each channel of Jo's subscription now: None is a send."""
    recipient, subscription = service.get_recipient(db, "rcp-jo"), service.get_subscription(db, "sub-jo")
    return {p.parcel.channel: p.settle for p in plan(subscription, recipient, report(store))}


def test_a_withdrawal_stops_the_channel_and_is_recorded(databases, tmp_path, monkeypatch):
    db = databases.warehouse
    monkeypatch.setenv("BACKROOM_WAREHOUSE_URL", databases.warehouse_url)
    monkeypatch.setattr("getpass.getuser", lambda: "pat")
    set_venues(db, LEEDS)
    service.add_recipient(
        db,
        "Jo Bloggs",
        "manager",
        recipient_id="rcp-jo",
        email="jo@example.com",
        phone="07700 900123",
        channels=["email", "sms"],
        email_consent=True,
        sms_consent=True,
        how="signed form",
        by="owner",
        now=ADDED,
    )
    consent.verify_email(db, "rcp-jo", "jo@example.com", ADDED)
    service.add_subscription(
        db,
        "rcp-jo",
        "daily_summary",
        layouts_dir=write_layouts(tmp_path / "layouts"),
        subscription_id="sub-jo",
        channels=["email", "sms"],
    )
    store = ReportStore(tmp_path / "reports")
    assert settled(db, store) == {"email": None, "sms": None}

    runner = CliRunner()
    said = ok(
        runner.invoke(
            main, ["gdpr", "consent", "rcp-jo", "--channel", "email", "--withdraw", "--how", "asked by phone"]
        )
    )
    assert "rcp-jo: email consent withdrawn (asked by phone)" in said
    assert settled(db, store) == {"email": "suppressed", "sms": None}
    ok(
        runner.invoke(
            main, ["gdpr", "consent", "rcp-jo", "--channel", "sms", "--withdraw", "--how", "letter"]
        )
    )
    assert settled(db, store) == {"email": "suppressed", "sms": "suppressed"}
    ok(runner.invoke(main, ["gdpr", "consent", "rcp-jo", "--channel", "email", "--grant", "--how", "form"]))
    assert settled(db, store) == {"email": None, "sms": "suppressed"}

    events = db.read_table(consent_events).sort("event_id").to_dicts()
    assert [(e["channel"], e["action"], e["how"], e["by"]) for e in events[-3:]] == [
        ("email", "withdrawn", "asked by phone", "cli:pat"),
        ("sms", "withdrawn", "letter", "cli:pat"),
        ("email", "granted", "form", "cli:pat"),
    ]
    listed = ok(runner.invoke(main, ["gdpr", "consents", "rcp-jo"]))
    assert "email yes, sms no" in listed
    lines = [line for line in listed.splitlines() if "cli:pat" in line]
    assert len(lines) == 3 and "asked by phone" in lines[0] and "signed form" in listed
    logged = [(e.actor, e.action, e.subject, e.detail) for e in audit.entries(db)]
    assert logged[0] == ("cli:pat", "consent", "rcp-jo", {"channel": "email", "action": "withdrawn"})
    assert len(logged) == 3
