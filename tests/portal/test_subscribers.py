"""Unsubscribe (RFC 8058) and address verification: a GET never changes anything, a POST does."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from backroom_reporting.delivery import links
from backroom_reporting.subscriptions import service
from backroom_reporting.warehouse.tables.deliveries import consent_events

ONE_CLICK = {"List-Unsubscribe": "One-Click"}


def consents(portal, after: int = 0) -> list[dict]:
    """consent_events rows after the first `after` (those written when the recipients were added)."""
    with portal.db.engine.connect() as conn:
        rows = conn.execute(sa.select(consent_events).order_by(consent_events.c.event_id)).mappings()
        return [dict(r) for r in rows][after:]


@pytest.fixture
def known(portal, world) -> int:
    return len(consents(portal))


def unsubscribe_path(portal, world) -> str:
    payload = {"s": world.subscription.subscription_id, "r": world.jo.recipient_id}
    return portal.path(links.url("unsubscribe", payload))


def test_the_unsubscribe_page_asks_and_changes_nothing(portal, world, known):
    answer = portal.http.get(unsubscribe_path(portal, world))
    assert answer.status_code == 200
    assert '<form method="post">' in answer.text
    assert "Stop getting the daily summary report?" in answer.text
    assert not service.get_subscription(portal.db, world.subscription.subscription_id).paused
    assert consents(portal, known) == []


def test_one_click_unsubscribe_pauses_the_subscription_and_records_consent_withdrawn(portal, world, known):
    answer = portal.http.post(unsubscribe_path(portal, world), data=ONE_CLICK)
    assert answer.status_code == 200
    assert "You are unsubscribed" in answer.text
    subscription = service.get_subscription(portal.db, world.subscription.subscription_id)
    assert subscription.paused and subscription.next_delivery_at is None
    [event] = consents(portal, known)
    assert (
        event["recipient_id"],
        event["subscription_id"],
        event["channel"],
        event["action"],
        event["how"],
    ) == (
        "rcp-jo",
        "sub-jo",
        "email",
        "withdrawn",
        "one-click unsubscribe",
    )
    # A second click (a client retrying) is answered the same and records nothing more.
    assert portal.http.post(unsubscribe_path(portal, world), data=ONE_CLICK).status_code == 200
    assert len(consents(portal, known)) == 1


def test_the_page_button_unsubscribes_too(portal, world, known):
    answer = portal.http.post(unsubscribe_path(portal, world))
    assert answer.status_code == 200
    assert service.get_subscription(portal.db, world.subscription.subscription_id).paused
    assert [e["how"] for e in consents(portal, known)] == ["unsubscribe page"]


def test_a_forged_unsubscribe_changes_nothing(portal, world, known):
    payload = {"s": world.subscription.subscription_id, "r": world.jo.recipient_id}
    forged = links.token("unsubscribe", payload, secret="guessed")
    for path in (f"/unsubscribe/{forged}", f"/unsubscribe/{links.token('verify', payload)}"):
        answer = portal.http.post(path, data=ONE_CLICK)
        assert answer.status_code == 403
        assert "not one we made" in answer.text
    # Signed, but naming a subscription of someone else.
    theirs = links.url("unsubscribe", {"s": "sub-sam", "r": world.jo.recipient_id})
    assert portal.http.post(portal.path(theirs), data=ONE_CLICK).status_code == 403
    assert not service.get_subscription(portal.db, world.subscription.subscription_id).paused
    assert not service.get_subscription(portal.db, "sub-sam").paused
    assert consents(portal, known) == []


def test_verification_asks_then_marks_the_address_verified(portal, world, known):
    path = portal.path(links.url("verify", {"r": world.jo.recipient_id, "e": world.jo.email}))
    page = portal.http.get(path)
    assert page.status_code == 200
    assert f"Confirm {world.jo.email}" in page.text
    assert not service.get_recipient(portal.db, world.jo.recipient_id).email_verified

    done = portal.http.post(path)
    assert done.status_code == 200
    assert f"{world.jo.email} is confirmed" in done.text
    jo = service.get_recipient(portal.db, world.jo.recipient_id)
    assert jo.email_verified and jo.email_verified_at is not None
    assert [(e["channel"], e["action"]) for e in consents(portal, known)] == [("email", "granted")]


def test_a_forged_or_outdated_verification_changes_nothing(portal, world, known):
    forged = links.token("verify", {"r": world.jo.recipient_id, "e": world.jo.email}, secret="guessed")
    assert portal.http.post(f"/verify/{forged}").status_code == 403
    old_address = links.url("verify", {"r": world.jo.recipient_id, "e": "jo@old-job.example"})
    answer = portal.http.post(portal.path(old_address))
    assert answer.status_code == 409
    assert "no longer the address" in answer.text
    assert not service.get_recipient(portal.db, world.jo.recipient_id).email_verified
    assert consents(portal, known) == []
