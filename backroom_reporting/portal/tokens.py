"""API tokens, kept as their SHA-256 only: a recipient's (the `api` channel: their deliveries)
or a portal account's (the /api/v1 figures and reports its role may read).

A token is shown once, when it is made; the warehouse keeps its hash, its holder, its
scopes and when it expires or was revoked. Plain functions over the warehouse, shared by
`backroom tokens` and the web app.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import secrets
import uuid

import sqlalchemy as sa

from backroom_reporting.portal import accounts, people
from backroom_reporting.subscriptions import service
from backroom_reporting.warehouse.database import Database
from backroom_reporting.warehouse.tables.deliveries import api_tokens

READ_DELIVERIES = "deliveries:read"
# Tokens say what they are, so a leaked one is recognised by secret scanners and people alike.
PREFIX = "brt_"
DEFAULT_DAYS = 365
ACCOUNT_DAYS = 90
# An account token's scopes, and what of people.READS each lets it read.
ACCOUNT_SCOPES = {
    "daily:read": people.DAILY,
    "kpis:read": people.KPIS,
    "events:read": people.EVENTS,
    "reports:read": people.REPORTS,
    READ_DELIVERIES: people.DELIVERIES,
}


class TokenError(ValueError):
    """A token refused: unknown, expired or revoked, in one sentence."""


@dataclasses.dataclass(frozen=True)
class ApiToken:
    token_id: str
    recipient_id: str | None  # a recipient's token ...
    user_id: str | None  # ... or a portal account's: exactly one is set
    scopes: tuple[str, ...]
    created_at: dt.datetime
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None

    def state(self, now: dt.datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"

    @property
    def holder(self) -> str:
        return self.recipient_id or self.user_id or ""


def sha256_of(secret: str) -> str:
    """How a secret handed out (a token, a session cookie) is kept: its SHA-256, in hex."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _token(row) -> ApiToken:
    fields = {f.name for f in dataclasses.fields(ApiToken)}
    values = {k: v for k, v in row.items() if k in fields}
    return ApiToken(**(values | {"scopes": tuple(json.loads(row["scopes"]))}))


def issue(
    db: Database, recipient_id: str, now: dt.datetime, days: int | None = DEFAULT_DAYS
) -> tuple[ApiToken, str]:
    """A new token reading the recipient's deliveries; returns it and the secret to hand over."""
    service.get_recipient(db, recipient_id)  # refuses an unknown recipient, naming the known ones
    return _keep(db, recipient_id, None, (READ_DELIVERIES,), now, days)


def issue_for_account(
    db: Database, email_or_id: str, scopes: list[str], now: dt.datetime, days: int | None = ACCOUNT_DAYS
) -> tuple[ApiToken, str]:
    """A new token reading, as the account, what `scopes` name and its role allows."""
    account = accounts.find(db, email_or_id)
    if account is None:
        raise TokenError(f"there is no account {email_or_id!r}: `backroom users list` shows them")
    if account.disabled_at is not None:
        raise TokenError(f"{account.person.email} is disabled, so it may hold no API token")
    if not scopes:
        raise TokenError(f"name at least one scope: {', '.join(ACCOUNT_SCOPES)}")
    for scope in scopes:
        if scope not in ACCOUNT_SCOPES:
            raise TokenError(f"there is no scope {scope!r}: choose among {', '.join(ACCOUNT_SCOPES)}")
        if not account.person.may(ACCOUNT_SCOPES[scope]):
            raise TokenError(f"a {account.person.role} account may not be given {scope}")
    return _keep(db, None, account.person.user_id, tuple(dict.fromkeys(scopes)), now, days)


def _keep(
    db: Database,
    recipient_id: str | None,
    user_id: str | None,
    scopes: tuple[str, ...],
    now: dt.datetime,
    days: int | None,
) -> tuple[ApiToken, str]:
    presented = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        token_id=f"tok-{uuid.uuid4().hex[:10]}",
        recipient_id=recipient_id,
        user_id=user_id,
        scopes=scopes,
        created_at=now,
        expires_at=None if days is None else now + dt.timedelta(days=days),
        revoked_at=None,
    )
    with db.engine.begin() as conn:
        conn.execute(
            sa.insert(api_tokens).values(
                **dataclasses.asdict(token) | {"scopes": json.dumps(list(token.scopes))},
                token_sha256=sha256_of(presented),
            )
        )
    return token, presented


def all_tokens(db: Database) -> list[ApiToken]:
    with db.engine.connect() as conn:
        rows = conn.execute(sa.select(api_tokens).order_by(api_tokens.c.created_at)).mappings()
        return [_token(row) for row in rows]


def revoke(db: Database, token_id: str, now: dt.datetime) -> ApiToken:
    with db.engine.begin() as conn:
        row = conn.execute(sa.select(api_tokens).where(api_tokens.c.token_id == token_id)).mappings().first()
        if row is None:
            raise TokenError(f"there is no API token {token_id!r}: `backroom tokens list` shows them")
        if row["revoked_at"] is not None:
            raise TokenError(f"API token {token_id} was already revoked on {row['revoked_at']:%Y-%m-%d}")
        conn.execute(sa.update(api_tokens).where(api_tokens.c.token_id == token_id).values(revoked_at=now))
    return dataclasses.replace(_token(row), revoked_at=now)


def holder(db: Database, presented: str, now: dt.datetime) -> ApiToken:
    """The token presented, when it is known, current and not revoked; else TokenError says why."""
    with db.engine.connect() as conn:
        row = (
            conn.execute(sa.select(api_tokens).where(api_tokens.c.token_sha256 == sha256_of(presented)))
            .mappings()
            .first()
        )
    if row is None:
        raise TokenError("the API token is not one we issued")
    token = _token(row)
    state = token.state(now)
    if state != "active":
        raise TokenError(f"the API token {token.token_id} has been {state}: ask for a new one")
    return token
