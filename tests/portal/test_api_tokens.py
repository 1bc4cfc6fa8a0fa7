"""Account API tokens: `backroom tokens issue`, the scopes a role may hold, the hash kept, and
revoked, expired, disabled-account and recipient tokens refused by /api/v1/."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from backroom_reporting.cli import main
from backroom_reporting.portal import accounts, tokens
from backroom_reporting.portal.tokens import TokenError
from backroom_reporting.warehouse.tables.deliveries import api_tokens
from tests.portal.api_world import account, bearer, fill


def backroom(portal, *args: str, exit_code: int = 0) -> str:
    result = CliRunner().invoke(main, [*args, "--url", portal.db.url], catch_exceptions=False)
    assert result.exit_code == exit_code, result.output
    return result.output


def issued(portal, email: str, *scopes: str) -> tuple[str, str]:
    """(token id, token) of `backroom tokens issue`."""
    arguments = [a for scope in scopes for a in ("--scope", scope)]
    lines = backroom(portal, "tokens", "issue", "--user", email, *arguments).splitlines()
    return lines[0].split()[2], next(line for line in lines if line.startswith(tokens.PREFIX))


def test_issue_keeps_only_the_hash_for_ninety_days_and_lists_the_account(portal):
    finance = account(portal.db, "finance")
    token_id, token = issued(portal, finance.person.email, "daily:read", "reports:read")
    with portal.db.engine.connect() as conn:
        row = conn.execute(sa.select(api_tokens)).mappings().one()
    assert (
        row["token_id"] == token_id
        and row["user_id"] == finance.person.user_id
        and row["recipient_id"] is None
    )
    assert row["token_sha256"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in json.dumps(dict(row), default=str)
    assert json.loads(row["scopes"]) == ["daily:read", "reports:read"]
    assert row["expires_at"] - row["created_at"] == dt.timedelta(days=90)
    listed = backroom(portal, "tokens", "list")
    assert token_id in listed and finance.person.user_id in listed and "daily:read, reports:read" in listed
    assert token not in listed
    assert portal.http.get("/api/v1/daily", headers=bearer(token)).status_code == 200


def test_a_scope_the_role_may_not_have_is_refused(portal):
    finance = account(portal.db, "finance")
    refused = backroom(
        portal, "tokens", "issue", "--user", finance.person.email, "--scope", "events:read", exit_code=2
    )
    assert "a finance account may not be given events:read" in refused
    now = dt.datetime.now(dt.UTC)
    with pytest.raises(TokenError, match=r"there is no account 'nobody@backroom\.test'"):
        tokens.issue_for_account(portal.db, "nobody@backroom.test", ["daily:read"], now)
    with pytest.raises(TokenError, match="name at least one scope"):
        tokens.issue_for_account(portal.db, finance.person.email, [], now)
    with pytest.raises(TokenError, match="there is no scope 'daily:write'"):
        tokens.issue_for_account(portal.db, finance.person.email, ["daily:write"], now)
    accounts.disable(portal.db, finance.person.email, now)
    with pytest.raises(TokenError, match="is disabled"):
        tokens.issue_for_account(portal.db, finance.person.email, ["daily:read"], now)
    with portal.db.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(api_tokens)).scalar() == 0


def test_revoked_expired_and_disabled_accounts_tokens_are_refused(portal):
    fill(portal.db)
    manager = account(portal.db, "manager")
    revoked_id, revoked = issued(portal, manager.person.email, "daily:read")
    working_id, working = issued(portal, manager.person.email, "daily:read")
    assert portal.http.get("/api/v1/daily", headers=bearer(revoked)).status_code == 200
    assert f"revoked API token {revoked_id} of {manager.person.user_id}" in backroom(
        portal, "tokens", "revoke", revoked_id
    )
    now = dt.datetime.now(dt.UTC)
    _, expired = tokens.issue_for_account(
        portal.db, manager.person.email, ["daily:read"], now - dt.timedelta(days=91)
    )
    for token, why in (
        (revoked, "has been revoked"),
        (expired, "has been expired"),
        ("brt_guess", "not one we issued"),
    ):
        answer = portal.http.get("/api/v1/daily", headers=bearer(token))
        assert answer.status_code == 401
        assert why in answer.json()["detail"]
        assert answer.headers["www-authenticate"].startswith('Bearer realm="backroom", error="invalid_token"')
        assert "items" not in answer.text
    assert portal.http.get("/api/v1/daily", headers=bearer(working)).status_code == 200
    accounts.disable(portal.db, manager.person.email, now)
    disabled = portal.http.get("/api/v1/daily", headers=bearer(working))
    assert disabled.status_code == 401
    assert disabled.json()["detail"] == f"the account of API token {working_id} is disabled"


def test_a_recipients_token_and_an_accounts_token_each_keep_to_their_own_api(portal, world):
    _, recipients = tokens.issue(portal.db, world.sam.recipient_id, dt.datetime.now(dt.UTC))
    answer = portal.http.get("/api/v1/deliveries", headers=bearer(recipients))
    assert answer.status_code == 401 and "is a recipient's" in answer.json()["detail"]
    admin = account(portal.db, "admin")
    _, accounts_token = issued(portal, admin.person.email, "deliveries:read")
    other = portal.http.get(f"/api/deliveries/{world.sams_delivery}", headers=bearer(accounts_token))
    assert other.status_code == 401 and "is an account's" in other.json()["detail"]
    mine = portal.http.get("/api/v1/deliveries", headers=bearer(accounts_token))
    assert world.sams_delivery in {d["delivery_id"] for d in mine.json()["items"]}
