"""Portal accounts: who may sign in, with which role, for which venues.

Plain functions over the warehouse, shared by `backroom users` and the web app. Passwords
are hashed with argon2 (argon2-cffi's recommended parameters); an account made without a
password signs in by emailed link only.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid

import argon2
import sqlalchemy as sa

from backroom_reporting.portal.people import ROLES, Person
from backroom_reporting.warehouse.database import Database
from backroom_reporting.warehouse.tables.portal import portal_sessions, portal_users
from backroom_reporting.warehouse.tables.raw import RAW

HASHER = argon2.PasswordHasher()
# Checked against when the email is unknown, so a wrong email costs as long as a wrong password.
_NOBODY = HASHER.hash("nobody signs in with this")


class AccountError(ValueError):
    """An account refused or not found, in one sentence."""


@dataclasses.dataclass(frozen=True)
class Account:
    person: Person
    created_at: dt.datetime
    disabled_at: dt.datetime | None
    has_password: bool


def account_of(row) -> Account:
    venues = json.loads(row["venue_ids"]) if row["venue_ids"] is not None else None
    person = Person(
        user_id=row["user_id"],
        email=row["email"],
        name=row["name"],
        role=row["role"],
        staff_id=row["staff_id"],
        venue_ids=tuple(venues) if venues is not None else None,
    )
    return Account(person, row["created_at"], row["disabled_at"], row["password_hash"] is not None)


def add(
    db: Database,
    email: str,
    name: str,
    role: str,
    now: dt.datetime,
    *,
    password: str | None = None,
    staff_id: str | None = None,
    venue_ids: list[str] | None = None,
) -> Account:
    email = email.strip().lower()
    if role not in ROLES:
        raise AccountError(f"there is no role {role!r}: choose one of {', '.join(ROLES)}")
    if role == "staff" and not staff_id:
        raise AccountError("a staff account must name its staff member (--staff-id)")
    if role != "staff" and staff_id:
        raise AccountError(f"only a staff account is linked to a staff member, not a {role} account")
    if "@" not in email:
        raise AccountError(f"{email!r} is not an email address")
    with db.engine.begin() as conn:
        staff = RAW["staff"]
        if (
            staff_id
            and conn.execute(sa.select(staff.c.staff_id).where(staff.c.staff_id == staff_id)).first() is None
        ):
            raise AccountError(f"there is no staff member {staff_id!r} in raw_staff")
        if conn.execute(sa.select(portal_users.c.user_id).where(portal_users.c.email == email)).first():
            raise AccountError(f"there is already an account for {email}")
        row = {
            "user_id": f"usr-{uuid.uuid4().hex[:10]}",
            "email": email,
            "name": name,
            "role": role,
            "staff_id": staff_id,
            "venue_ids": json.dumps(sorted(venue_ids)) if venue_ids else None,
            "password_hash": HASHER.hash(password) if password else None,
            "created_at": now,
            "disabled_at": None,
        }
        conn.execute(sa.insert(portal_users).values(**row))
    return account_of(row)


def all_accounts(db: Database) -> list[Account]:
    with db.engine.connect() as conn:
        rows = conn.execute(sa.select(portal_users).order_by(portal_users.c.email)).mappings()
        return [account_of(row) for row in rows]


def find(db: Database, email_or_id: str) -> Account | None:
    key = email_or_id.strip()
    query = sa.select(portal_users).where(
        sa.or_(portal_users.c.user_id == key, portal_users.c.email == key.lower())
    )
    with db.engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    return account_of(row) if row is not None else None


def disable(db: Database, email_or_id: str, now: dt.datetime) -> Account:
    """Disable the account and end its sessions at once."""
    account = find(db, email_or_id)
    if account is None:
        raise AccountError(f"there is no account {email_or_id!r}: `backroom users list` shows them")
    if account.disabled_at is not None:
        raise AccountError(f"{account.person.email} was already disabled on {account.disabled_at:%Y-%m-%d}")
    user_id = account.person.user_id
    with db.engine.begin() as conn:
        conn.execute(sa.update(portal_users).where(portal_users.c.user_id == user_id).values(disabled_at=now))
        conn.execute(
            sa.update(portal_sessions)
            .where(portal_sessions.c.user_id == user_id, portal_sessions.c.ended_at.is_(None))
            .values(ended_at=now)
        )
    return dataclasses.replace(account, disabled_at=now)


def password_holder(db: Database, email: str, password: str) -> Account | None:
    """The account whose password this is, disabled or not: so a disabled account is told so
    only to someone who knows its password."""
    with db.engine.connect() as conn:
        row = (
            conn.execute(sa.select(portal_users).where(portal_users.c.email == email.strip().lower()))
            .mappings()
            .first()
        )
    stored = row["password_hash"] if row is not None and row["password_hash"] else _NOBODY
    try:
        HASHER.verify(stored, password)
    except argon2.exceptions.VerificationError:
        return None
    if row is None or row["password_hash"] is None:
        return None
    return account_of(row)


def check_password(db: Database, email: str, password: str) -> Account | None:
    """The account, when the email is an active account's and the password is its own."""
    account = password_holder(db, email, password)
    return account if account is not None and account.disabled_at is None else None
