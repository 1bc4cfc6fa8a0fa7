"""The API channel: bearer tokens from `backroom tokens`, a delivery's report as JSON, refusals."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import sqlalchemy as sa
from click.testing import CliRunner

from backroom_reporting.cli import main
from backroom_reporting.delivery import ledger
from backroom_reporting.portal import tokens
from backroom_reporting.warehouse.tables.deliveries import api_tokens
from tests.portal.conftest import NIGHTS, NOW


def backroom(portal, *args: str) -> str:
    result = CliRunner().invoke(main, [*args, "--url", portal.db.url], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def new_token(portal, recipient_id: str) -> str:
    return backroom(portal, "tokens", "add", "--recipient", recipient_id, "--days", "30").splitlines()[-1]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_token_reads_its_recipients_delivery_with_working_file_links(portal, world):
    token = new_token(portal, world.sam.recipient_id)
    answer = portal.http.get(f"/api/deliveries/{world.sams_delivery}", headers=bearer(token))
    assert answer.status_code == 200
    body = answer.json()
    delivery = ledger.get(portal.db, world.sams_delivery)
    assert body["delivery_id"] == world.sams_delivery
    assert body["channel"] == "api"
    assert body["status"] == "delivered"
    assert dt.datetime.fromisoformat(body["lifecycle"]["delivered_at"]) == delivery.delivered_at
    assert body["lifecycle"]["opened_at"] is None
    report = body["report"]
    assert report["title"] == "Daily Summary"
    assert report["template"] == "daily_summary"
    assert report["period"] == str(NIGHTS[-1])
    assert report["venue_id"] == "backroom-leeds"
    assert report["key_metrics"] == {"daily_revenue": 5}
    assert report["warnings"] == []
    assert [f["format"] for f in body["files"]] == ["pdf", "csv"]
    for file in body["files"]:
        download = portal.http.get(portal.path(file["url"]))
        assert download.status_code == 200
        assert len(download.content) == file["size_bytes"]


def test_a_token_cannot_read_another_recipients_delivery(portal, world):
    token = new_token(portal, world.sam.recipient_id)
    jos = world.deliveries[NIGHTS[-1]]["dashboard"]
    answer = portal.http.get(f"/api/deliveries/{jos}", headers=bearer(token))
    assert answer.status_code == 404
    assert "Daily Summary" not in answer.text
    assert portal.http.get("/api/deliveries/dlv-nothing", headers=bearer(token)).status_code == 404


def test_missing_invalid_expired_and_revoked_tokens_are_refused_with_a_challenge(portal, world):
    path = f"/api/deliveries/{world.sams_delivery}"
    _, expired = tokens.issue(portal.db, world.sam.recipient_id, NOW - dt.timedelta(days=40), days=30)
    revoked = new_token(portal, world.sam.recipient_id)
    listed = backroom(portal, "tokens", "list")
    revoked_id = next(line.split()[0] for line in listed.splitlines()[1:] if line.split()[-1] == "active")
    backroom(portal, "tokens", "revoke", revoked_id)
    assert revoked.startswith("brt_")
    for headers in (
        {},
        bearer("brt_not-a-token"),
        {"Authorization": f"Basic {revoked}"},
        bearer(expired),
        bearer(revoked),
    ):
        answer = portal.http.get(path, headers=headers)
        assert answer.status_code == 401, headers
        assert answer.headers["www-authenticate"].startswith('Bearer realm="backroom"')
        assert "key_metrics" not in answer.text
    assert "expired" in portal.http.get(path, headers=bearer(expired)).json()["detail"]
    assert "revoked" in portal.http.get(path, headers=bearer(revoked)).json()["detail"]


def test_tokens_are_kept_as_their_hash_only_and_listed_with_their_state(portal, world):
    token = new_token(portal, world.sam.recipient_id)
    with portal.db.engine.connect() as conn:
        rows = conn.execute(sa.select(api_tokens)).mappings().all()
    assert len(rows) == 1
    assert rows[0]["token_sha256"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in json.dumps([dict(r) for r in rows], default=str)
    assert json.loads(rows[0]["scopes"]) == ["deliveries:read"]
    listed = backroom(portal, "tokens", "list")
    assert rows[0]["token_id"] in listed and "rcp-sam" in listed and "active" in listed
    assert token not in listed


def test_a_token_for_an_unknown_recipient_is_refused(portal, world):
    result = CliRunner().invoke(main, ["tokens", "add", "--recipient", "rcp-nobody", "--url", portal.db.url])
    assert result.exit_code == 2
    assert "unknown recipient 'rcp-nobody'" in result.output
    revoke = CliRunner().invoke(main, ["tokens", "revoke", "tok-nothing", "--url", portal.db.url])
    assert revoke.exit_code == 2
    assert "there is no API token 'tok-nothing'" in revoke.output
