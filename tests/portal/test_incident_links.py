"""The on-call engineer's pages over a real socket: an alert's acknowledge link (opening it shows
the incident, only its button acknowledges) and the incident list with its buttons. Each
refusal is a sentence on a readable page, and leaves the incidents as they were."""

from __future__ import annotations

import datetime as dt
import re
import time
from html import unescape
from urllib.parse import parse_qs, urlsplit

from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from backroom_reporting.alerting.incidents import get_incident
from backroom_reporting.delivery import links
from tests.portal.conftest import LINK_SECRET, incident_rows

SAM = "Sam Okafor"


def text_of(html: str) -> str:
    """The page's words, as a person reads them: tags gone, whitespace as one space."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def ack_path(portal, number: int, who: str = SAM) -> str:
    return portal.path(links.url("incident", {"i": number, "p": who}))


def signed_days_ago(purpose: str, payload: dict, days: int) -> str:
    """A token as the portal signed it `days` ago: a link kept in a mailbox that long."""

    class Then(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - days * 86_400

    return URLSafeTimedSerializer(LINK_SECRET, salt=f"backroom-{purpose}", signer=Then).dumps(payload)


# --- an alert's link ---------------------------------------------------------------------------


def test_opening_an_alerts_link_shows_the_incident_and_changes_nothing(portal, on_call):
    path = ack_path(portal, on_call.triggered)
    before = incident_rows(portal)
    for _ in range(2):  # a mail scanner prefetching it, then the person
        answer = portal.http.get(path)
        assert answer.status_code == 200
    assert incident_rows(portal) == before
    shown = text_of(answer.text)
    assert f"Incident {on_call.triggered}: tiny_job failed" in shown
    for line in (
        "Status triggered",
        "Severity critical",
        "First seen Sun 29 Nov 2026 00:00 UTC",
        "Last seen Sun 29 Nov 2026 00:02 UTC",
        "Occurrences 3",
        "Detail run 2 failed: disk full",
        "Acknowledged not yet",
        f"Acknowledging, as {SAM}, tells the others",
    ):
        assert line in shown, line
    # The button posts back to the link itself.
    assert re.search(r'<form method="post">\s*<button type="submit">Acknowledge</button>', answer.text)


def test_the_links_button_acknowledges_as_the_person_it_was_sent_to(portal, on_call):
    path = ack_path(portal, on_call.triggered)
    before = dt.datetime.now(dt.UTC)
    answer = portal.http.post(path)
    after = dt.datetime.now(dt.UTC)
    assert answer.status_code == 200
    shown = text_of(answer.text)
    assert f"Incident {on_call.triggered} acknowledged by {SAM}: escalation stopped." in shown
    assert "Status acknowledged" in shown
    assert ">Acknowledge</button>" not in answer.text
    incident = get_incident(portal.db, on_call.triggered)
    assert (incident.status, incident.acknowledged_by, incident.acknowledged_via) == (
        "acknowledged",
        SAM,
        "link",
    )
    assert before <= incident.acknowledged_at <= after
    assert f"Acknowledged by {SAM}, {incident.acknowledged_at:%a %d %b %Y %H:%M} UTC (via link)" in shown

    # The same button pressed again (a second tab, a colleague's forward): said, not done twice.
    again = portal.http.post(path)
    assert again.status_code == 409
    stamp = f"{incident.acknowledged_at:%Y-%m-%d %H:%M}"
    assert f"Incident {on_call.triggered} was already acknowledged by {SAM} at {stamp} UTC." in text_of(
        again.text
    )
    assert get_incident(portal.db, on_call.triggered) == incident


def test_an_acknowledged_resolved_or_unknown_incident_is_answered_in_a_sentence(portal, on_call):
    before = incident_rows(portal)
    acknowledged = portal.http.post(ack_path(portal, on_call.acknowledged))
    assert acknowledged.status_code == 409
    shown = text_of(acknowledged.text)
    assert (
        f"Incident {on_call.acknowledged} was already acknowledged by Jo Bloggs at 2026-11-29 02:05 UTC."
        in shown
    )
    assert f"Incident {on_call.acknowledged}: closing_run failed" in shown  # still the incident's page
    assert "Acknowledged by Jo Bloggs, Sun 29 Nov 2026 02:05 UTC (via cli)" in shown

    resolved = portal.http.post(ack_path(portal, on_call.resolved))
    assert resolved.status_code == 409
    shown = text_of(resolved.text)
    assert (
        f"Incident {on_call.resolved} is already resolved (dagster, 2026-11-29 03:30 UTC); "
        "there is nothing to acknowledge." in shown
    )
    assert "Resolved by dagster, Sun 29 Nov 2026 03:30 UTC (via run succeeded)" in shown

    for answer in (
        portal.http.get(ack_path(portal, on_call.unknown)),
        portal.http.post(ack_path(portal, on_call.unknown)),
    ):
        assert answer.status_code == 404
        assert "<h1>No such incident</h1>" in answer.text
        assert f"There is no incident {on_call.unknown}." in text_of(answer.text)
    assert incident_rows(portal) == before


def test_a_tampered_expired_or_misused_link_is_refused(portal, on_call):
    payload = {"i": on_call.triggered, "p": SAM}
    good = links.token("incident", payload)
    not_ours = "This incident link is not one we made, or it was altered."
    refusals = {
        good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB"): not_ours,
        links.token("incident", payload, secret="someone-else's-secret"): not_ours,
        links.token("incidents", {"p": SAM}): not_ours,  # the list's, for another purpose
        signed_days_ago("incident", payload, 8): "This incident link has expired: it worked for 7 days",
    }
    before = incident_rows(portal)
    for token, sentence in refusals.items():
        for method in ("GET", "POST"):
            answer = portal.http.request(method, f"/incidents/ack/{token}")
            assert answer.status_code == 403, (method, sentence)
            assert "<h1>This link does not work</h1>" in answer.text
            shown = text_of(answer.text)
            assert sentence in shown
            assert "Open the incident from a more recent alert, or with `backroom alerts show N`." in shown
    assert incident_rows(portal) == before
    # Six days on, the link still works.
    assert portal.http.get(f"/incidents/ack/{signed_days_ago('incident', payload, 6)}").status_code == 200


# --- the incident list -------------------------------------------------------------------------


def rows_of(html: str) -> dict[int, str]:
    """Each listed incident's row, by number, in the order listed."""
    return {
        int(number): row
        for number, row in re.findall(r'<tr id="incident-(\d+)">(.*?)</tr>', html, flags=re.DOTALL)
    }


def list_token(url: str) -> str:
    return parse_qs(urlsplit(url).query)["t"][0]


def test_the_incident_list_shows_the_open_incidents_first_each_with_its_buttons(portal, on_call):
    url = links.incidents_url(SAM)
    assert url.startswith(f"{portal.base}/incidents?t=")
    answer = portal.http.get(portal.path(url))
    assert answer.status_code == 200
    assert f"You are acting as {SAM}." in text_of(answer.text)
    rows = rows_of(answer.text)
    # Open ones newest first, then the resolved one, though it was the latest seen.
    assert list(rows) == [on_call.acknowledged, on_call.triggered, on_call.resolved]
    buttons = {number: re.findall(r"<button[^>]*>(\w+)</button>", row) for number, row in rows.items()}
    assert buttons == {
        on_call.acknowledged: ["Resolve"],
        on_call.triggered: ["Acknowledge", "Resolve"],
        on_call.resolved: [],
    }
    assert text_of(rows[on_call.acknowledged]).startswith(
        f"{on_call.acknowledged} closing_run failed acknowledged by Jo Bloggs critical"
    )
    assert text_of(rows[on_call.resolved]).startswith(
        f"{on_call.resolved} nightly_export failed resolved by dagster warning"
    )
    # Each form carries the list's token back, and acts on its own incident.
    forms = re.findall(
        r'<form method="post" action="([^"]+)">\s*<input type="hidden" name="t" value="([^"]+)">', answer.text
    )
    assert forms == [
        (f"/incidents/{on_call.acknowledged}/resolve", list_token(url)),
        (f"/incidents/{on_call.triggered}/ack", list_token(url)),
        (f"/incidents/{on_call.triggered}/resolve", list_token(url)),
    ]


def test_the_lists_buttons_acknowledge_and_resolve_as_the_person_on_call(portal, on_call):
    t = list_token(links.incidents_url(SAM))
    before = dt.datetime.now(dt.UTC)
    answer = portal.http.post(f"/incidents/{on_call.triggered}/ack", data={"t": t})
    assert answer.status_code == 200
    assert f"Incident {on_call.triggered} acknowledged by {SAM}: escalation stopped." in text_of(answer.text)
    assert text_of(rows_of(answer.text)[on_call.triggered]).startswith(
        f"{on_call.triggered} tiny_job failed acknowledged by {SAM}"
    )
    answer = portal.http.post(f"/incidents/{on_call.acknowledged}/resolve", data={"t": t})
    after = dt.datetime.now(dt.UTC)
    assert answer.status_code == 200
    assert f"Incident {on_call.acknowledged} resolved by {SAM}." in text_of(answer.text)
    acked, done = get_incident(portal.db, on_call.triggered), get_incident(portal.db, on_call.acknowledged)
    assert (acked.status, acked.acknowledged_by, acked.acknowledged_via) == ("acknowledged", SAM, "web")
    assert (done.status, done.resolved_by, done.resolved_via) == ("resolved", SAM, "web")
    assert done.acknowledged_by == "Jo Bloggs"
    assert before <= acked.acknowledged_at <= done.resolved_at <= after

    # Refusals come back on the list, with a status a script can read.
    stamp = f"{acked.acknowledged_at:%Y-%m-%d %H:%M} UTC"
    refused = {
        f"/incidents/{on_call.triggered}/ack": (
            409,
            f"Incident {on_call.triggered} was already acknowledged by {SAM} at {stamp}.",
        ),
        f"/incidents/{on_call.resolved}/ack": (
            409,
            f"Incident {on_call.resolved} is already resolved (dagster,",
        ),
        f"/incidents/{on_call.resolved}/resolve": (
            409,
            f"Incident {on_call.resolved} was already resolved by dagster at 2026-11-29 03:30 UTC.",
        ),
        f"/incidents/{on_call.unknown}/resolve": (404, f"There is no incident {on_call.unknown}."),
    }
    settled = incident_rows(portal)
    for path, (status, sentence) in refused.items():
        answer = portal.http.post(path, data={"t": t})
        assert answer.status_code == status, path
        assert sentence in text_of(answer.text), path
        assert len(rows_of(answer.text)) == 3, path  # the list is still there
    assert incident_rows(portal) == settled


def test_a_button_without_the_lists_token_is_refused_as_a_cross_site_request_would_be(portal, on_call):
    t = list_token(links.incidents_url(SAM))
    before = incident_rows(portal)
    attempts = {
        "no token": {},
        "altered": {"t": t[:-4] + ("AAAA" if not t.endswith("AAAA") else "BBBB")},
        "an alert's link": {"t": links.token("incident", {"i": on_call.triggered, "p": SAM})},
    }
    for case, form in attempts.items():
        for step in ("ack", "resolve"):
            answer = portal.http.post(f"/incidents/{on_call.triggered}/{step}", data=form)
            assert answer.status_code == 403, (case, step)
            assert "This incident list link is not one we made, or it was altered." in text_of(answer.text)
    # The token in the address is not enough: a POST must carry it in its body.
    answer = portal.http.post(f"/incidents/{on_call.triggered}/ack", params={"t": t})
    assert answer.status_code == 403
    expired = portal.http.get("/incidents", params={"t": signed_days_ago("incidents", {"p": SAM}, 31)})
    assert expired.status_code == 403
    shown = text_of(expired.text)
    assert "This incident list link has expired: it worked for 30 days after it was sent." in shown
    assert "Open the incident list from the link in a more recent alert." in shown
    assert portal.http.get("/incidents").status_code == 403
    assert incident_rows(portal) == before
