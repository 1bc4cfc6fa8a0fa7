"""Signed-in sessions: a random cookie, kept in the warehouse as its SHA-256 only.

A session lasts `LASTS` from sign-in and ends at sign-out or when its account is disabled.
Each carries its own CSRF token, which every form posts back (`forms.CheckedForm`).
`current_person` is the dependency every signed-in page and the API depend on.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends, Request

from backroom_reporting.portal.accounts import account_of
from backroom_reporting.portal.people import Person
from backroom_reporting.portal.state import Warehouse
from backroom_reporting.portal.tokens import sha256_of
from backroom_reporting.warehouse.database import Database
from backroom_reporting.warehouse.tables.portal import portal_sessions, portal_users

COOKIE = "backroom_session"
LASTS = dt.timedelta(hours=12)


class NotSignedIn(Exception):
    """No current session: why, in one sentence (pages send the person to sign in)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def open_session(db: Database, person: Person, how: str, now: dt.datetime) -> str:
    """A new session for `person`; returns the cookie value, which is shown nowhere else."""
    cookie = secrets.token_urlsafe(32)
    with db.engine.begin() as conn:
        conn.execute(
            sa.insert(portal_sessions).values(
                session_sha256=sha256_of(cookie),
                user_id=person.user_id,
                csrf_token=secrets.token_urlsafe(24),
                how=how,
                created_at=now,
                expires_at=now + LASTS,
                ended_at=None,
            )
        )
    return cookie


def end_session(db: Database, cookie: str, now: dt.datetime) -> None:
    with db.engine.begin() as conn:
        conn.execute(
            sa.update(portal_sessions)
            .where(
                portal_sessions.c.session_sha256 == sha256_of(cookie), portal_sessions.c.ended_at.is_(None)
            )
            .values(ended_at=now)
        )


def session_of(db: Database, cookie: str, now: dt.datetime) -> tuple[Person, str]:
    """(the person, the session's CSRF token) of a current session; else NotSignedIn says why."""
    s, u = portal_sessions, portal_users
    query = (
        sa.select(u, s.c.csrf_token, s.c.expires_at, s.c.ended_at)
        .select_from(s.join(u, u.c.user_id == s.c.user_id))
        .where(s.c.session_sha256 == sha256_of(cookie))
    )
    with db.engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    if row is None:
        raise NotSignedIn("please sign in")
    if row["ended_at"] is not None or row["disabled_at"] is not None:
        raise NotSignedIn("your session has ended: please sign in again")
    if row["expires_at"] <= now:
        raise NotSignedIn("your session has expired: please sign in again")
    return account_of(row).person, row["csrf_token"]


def current_person(request: Request, db: Warehouse) -> Person:
    cookie = request.cookies.get(COOKIE)
    if not cookie:
        raise NotSignedIn("please sign in")
    person, csrf = session_of(db, cookie, dt.datetime.now(dt.UTC))
    request.state.csrf_token = csrf
    request.state.person = person  # base.html's nav: who is signed in, and the sign-out form
    return person


def csrf_matches(expected: str, presented: str | None) -> bool:
    return presented is not None and hmac.compare_digest(expected, presented)


CurrentPerson = Annotated[Person, Depends(current_person)]
