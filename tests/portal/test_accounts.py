"""Portal accounts and sessions: argon2 passwords, roles tied to staff members, disabling ends
every session."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from backroom_reporting.portal import accounts, sessions
from backroom_reporting.portal.accounts import AccountError
from backroom_reporting.portal.sessions import NotSignedIn
from backroom_reporting.warehouse.tables.portal import portal_sessions, portal_users
from backroom_reporting.warehouse.tables.raw import RAW

NOW = dt.datetime(2026, 11, 29, 9, 0, tzinfo=dt.UTC)


def test_a_password_is_kept_only_as_its_argon2_hash(databases):
    db = databases.warehouse
    account = accounts.add(
        db, "Jo@Backroom.example", "Jo", "manager", NOW, password="correct horse", venue_ids=["leeds"]
    )
    stored = db.scalar(sa.select(portal_users.c.password_hash))
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    assert account.person.email == "jo@backroom.example"
    assert accounts.check_password(db, "JO@backroom.example", "correct horse").person.venue_ids == ("leeds",)
    assert accounts.check_password(db, "jo@backroom.example", "wrong") is None
    assert accounts.check_password(db, "nobody@backroom.example", "correct horse") is None


def test_an_emailed_link_account_has_no_password_to_guess(databases):
    db = databases.warehouse
    accounts.add(db, "ana@backroom.example", "Ana", "finance", NOW)
    assert accounts.check_password(db, "ana@backroom.example", "") is None
    assert accounts.find(db, "ana@backroom.example").has_password is False


@pytest.mark.parametrize(
    ("role", "staff_id", "reason"),
    [
        ("owner", None, "there is no role 'owner'"),
        ("staff", None, "must name its staff member"),
        ("manager", "st-1", "only a staff account"),
        ("staff", "st-missing", "there is no staff member 'st-missing'"),
    ],
)
def test_accounts_refused_say_why(databases, role, staff_id, reason):
    with pytest.raises(AccountError, match=reason):
        accounts.add(databases.warehouse, "x@backroom.example", "X", role, NOW, staff_id=staff_id)


def test_a_staff_account_names_a_staff_member(databases):
    db = databases.warehouse
    with db.engine.begin() as conn:
        conn.execute(
            sa.insert(RAW["staff"]).values(
                staff_id="st-1",
                venue_id="leeds",
                name="Kim",
                role="bar",
                email="kim@x.example",
                phone="+447700900001",
                active=True,
            )
        )
    person = accounts.add(db, "kim@backroom.example", "Kim", "staff", NOW, staff_id="st-1").person
    assert (person.role, person.staff_id, person.database_role) == ("staff", "st-1", "reporting_staff")
    with pytest.raises(AccountError, match="already an account"):
        accounts.add(db, "KIM@backroom.example", "Kim", "staff", NOW, staff_id="st-1")


def test_sessions_end_on_sign_out_expiry_and_disabling(databases):
    db = databases.warehouse
    person = accounts.add(db, "jo@backroom.example", "Jo", "manager", NOW, password="pw").person
    first = sessions.open_session(db, person, "password", NOW)
    second = sessions.open_session(db, person, "password", NOW)
    assert sessions.session_of(db, first, NOW + dt.timedelta(hours=1))[0] == person
    assert (
        db.scalar(
            sa.select(sa.func.count())
            .select_from(portal_sessions)
            .where(portal_sessions.c.session_sha256 == first)
        )
        == 0
    )
    with pytest.raises(NotSignedIn, match="expired"):
        sessions.session_of(db, first, NOW + sessions.LASTS)
    sessions.end_session(db, first, NOW)
    with pytest.raises(NotSignedIn, match="ended"):
        sessions.session_of(db, first, NOW)
    accounts.disable(db, "jo@backroom.example", NOW)
    with pytest.raises(NotSignedIn, match="ended"):
        sessions.session_of(db, second, NOW)
    assert accounts.check_password(db, "jo@backroom.example", "pw") is None
    with pytest.raises(NotSignedIn, match="please sign in"):
        sessions.session_of(db, "made-up", NOW)
