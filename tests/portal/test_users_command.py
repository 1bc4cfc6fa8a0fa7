"""`backroom users`: accounts added (with a password asked for, or for emailed links only),
listed and disabled, over SQLite and PostgreSQL, each recorded in the access log."""

from __future__ import annotations

import datetime as dt
import getpass

import sqlalchemy as sa
from click.testing import CliRunner

from backroom_reporting.cli import main
from backroom_reporting.command_line import when
from backroom_reporting.portal import accounts, sessions
from backroom_reporting.privacy import audit
from backroom_reporting.warehouse.tables.portal import access_log
from backroom_reporting.warehouse.tables.raw import RAW

PASSWORD = "correct horse battery staple"


def backroom(databases, *args: str, prompted: str | None = None, status: int = 0) -> str:
    result = CliRunner().invoke(main, [*args, "--url", databases.warehouse_url], input=prompted)
    assert result.exit_code == status, result.output
    return result.output


def test_users_are_added_listed_and_disabled(databases):
    db = databases.warehouse
    with db.engine.begin() as conn:
        conn.execute(
            sa.insert(RAW["staff"]).values(
                staff_id="stf-kim",
                venue_id="backroom-leeds",
                name="Kim Lee",
                role="bar",
                email="kim@example.com",
                phone="07700 900123",
                active=True,
            )
        )
    added = backroom(
        databases,
        "users",
        "add",
        "Jo@Example.com",
        "--name",
        "Jo Bloggs",
        "--role",
        "manager",
        "--venue",
        "backroom-leeds",
        "--venue",
        "backroom-york",
        "--password-prompt",
        prompted=f"{PASSWORD}\n{PASSWORD}\n",
    )
    jo = accounts.find(db, "jo@example.com")
    assert added.splitlines()[-1] == (
        f"added jo@example.com ({jo.person.user_id}), manager of backroom-leeds, backroom-york: "
        "signs in by password or emailed link"
    )
    assert PASSWORD not in added
    assert accounts.check_password(db, "jo@example.com", PASSWORD).person == jo.person

    added = backroom(
        databases,
        "users",
        "add",
        "kim@example.com",
        "--name",
        "Kim Lee",
        "--role",
        "staff",
        "--staff-id",
        "stf-kim",
    )
    kim = accounts.find(db, "kim@example.com")
    assert added.strip() == (
        f"added kim@example.com ({kim.person.user_id}), staff of every venue: signs in by emailed link only"
    )
    assert not kim.has_password and accounts.check_password(db, "kim@example.com", "") is None

    listed = backroom(databases, "users", "list").splitlines()
    assert listed[0].split() == ["email", "name", "role", "venues", "staff", "id", "state"]
    assert listed[1].split() == [
        "jo@example.com",
        "Jo",
        "Bloggs",
        "manager",
        "backroom-leeds,",
        "backroom-york",
        "-",
        "active",
    ]
    assert listed[2].split() == [
        "kim@example.com",
        "Kim",
        "Lee",
        "staff",
        "every",
        "venue",
        "stf-kim",
        "active",
    ]

    session = sessions.open_session(db, kim.person, "emailed link", dt.datetime.now(dt.UTC))
    disabled = backroom(databases, "users", "disable", kim.person.user_id)
    assert disabled.strip() == f"disabled kim@example.com ({kim.person.user_id}): their sessions are ended"
    disabled_at = accounts.find(db, "kim@example.com").disabled_at
    assert disabled_at is not None
    assert (
        backroom(databases, "users", "list")
        .splitlines()[2]
        .endswith(f"stf-kim   disabled {when(disabled_at)}")
    )
    try:
        sessions.session_of(db, session, dt.datetime.now(dt.UTC))
        raise AssertionError("a disabled account's session still works")
    except sessions.NotSignedIn as exc:
        assert exc.reason == "your session has ended: please sign in again"

    actor = f"cli:{getpass.getuser()}"
    logged = audit.entries(db, access_log.c.action.in_(["account_added", "account_disabled"]))
    assert [(e.actor, e.action, e.subject) for e in logged] == [
        (actor, "account_added", jo.person.user_id),
        (actor, "account_added", kim.person.user_id),
        (actor, "account_disabled", kim.person.user_id),
    ]
    assert logged[0].detail == {
        "role": "manager",
        "venues": ["backroom-leeds", "backroom-york"],
        "staff_id": None,
        "password": True,
    }
    assert PASSWORD not in str([e.detail for e in logged])
    assert audit.verify(db) is None


def test_users_refuses_in_one_sentence(databases):
    assert "no accounts yet" in backroom(databases, "users", "list")
    refused = backroom(
        databases, "users", "add", "sam@example.com", "--name", "Sam", "--role", "staff", status=2
    )
    assert "a staff account must name its staff member (--staff-id)" in refused
    backroom(databases, "users", "add", "sam@example.com", "--name", "Sam", "--role", "finance")
    again = backroom(
        databases, "users", "add", "sam@example.com", "--name", "Sam", "--role", "finance", status=2
    )
    assert "there is already an account for sam@example.com" in again
    backroom(databases, "users", "disable", "sam@example.com")
    twice = backroom(databases, "users", "disable", "sam@example.com", status=2)
    assert "sam@example.com was already disabled on" in twice
    unknown = backroom(databases, "users", "disable", "nobody@example.com", status=2)
    assert "there is no account 'nobody@example.com': `backroom users list` shows them" in unknown
    wrong_role = backroom(
        databases, "users", "add", "x@example.com", "--name", "X", "--role", "owner", status=2
    )
    assert "'owner' is not one of" in wrong_role
    assert len(audit.entries(databases.warehouse)) == 2  # Sam added, then disabled: nothing refused
