"""Signing in and out of the portal served on loopback, over SQLite and PostgreSQL: by password
and by emailed link, the CSRF tokens of signed-in forms and of the sign-in form itself, the
limit on refused sign-ins, and what the access log keeps of each."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
import time
from html import unescape
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from backroom_reporting.portal import accounts, sessions
from backroom_reporting.privacy import audit
from backroom_reporting.warehouse.tables.portal import access_log, portal_sessions
from backroom_reporting.warehouse.tables.raw import RAW
from tests.portal.conftest import LINK_SECRET

UTC = dt.UTC
PASSWORD = "correct horse battery staple"
JO = "jo@example.com"


def text_of(html: str) -> str:
    """The page's words, as a person reads them: tags gone, whitespace as one space."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def signed_ago(purpose: str, payload: dict, ago: dt.timedelta) -> str:
    """A token as the portal signed it `ago`."""

    class Then(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time() - ago.total_seconds())

    return URLSafeTimedSerializer(LINK_SECRET, salt=f"backroom-{purpose}", signer=Then).dumps(payload)


@pytest.fixture
def outbox(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "outbox"
    monkeypatch.setenv("BACKROOM_OUTBOX", str(folder))
    monkeypatch.delenv("BACKROOM_SMTP_URL", raising=False)
    return folder


@pytest.fixture
def jo(portal):
    return accounts.add(
        portal.db, JO, "Jo Bloggs", "manager", dt.datetime.now(UTC), password=PASSWORD, venue_ids=["leeds"]
    )


@pytest.fixture
def browser(portal):
    """Another browser: its own cookie jar, never following redirects."""
    with httpx.Client(base_url=portal.base, timeout=30) as client:
        yield client


def form_token(client: httpx.Client, path: str = "/signin") -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def sign_in(client: httpx.Client, email_address: str = JO, password: str = PASSWORD, next_path: str = "/"):
    return client.post(
        "/signin",
        data={
            "csrf_token": form_token(client),
            "email": email_address,
            "password": password,
            "next": next_path,
        },
    )


def log_of(portal, action: str) -> list[audit.Entry]:
    return audit.entries(portal.db, access_log.c.action == action)


def session_rows(portal) -> list[dict]:
    with portal.db.engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(portal_sessions)).mappings()]


def test_a_password_signs_in_to_the_home_page_and_sign_out_ends_the_session(portal, jo, browser):
    signed_in = sign_in(browser, next_path="/archive?night=2026-11-28")
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/archive?night=2026-11-28"
    cookie = next(c for c in signed_in.headers.get_list("set-cookie") if c.startswith("backroom_session="))
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "path", "samesite", "max-age"} <= attributes and "secure" not in attributes
    assert "SameSite=lax" in cookie and "Path=/;" in cookie
    (session,) = session_rows(portal)
    assert (session["user_id"], session["how"], session["ended_at"]) == (jo.person.user_id, "password", None)

    home = browser.get("/")
    assert home.status_code == 200
    assert re.findall(r'<li><a href="([^"]+)"', home.text) == ["/archive", "/live", "/incidents", "/api/docs"]
    assert "Hello, Jo Bloggs" in text_of(home.text)
    nav = re.search(r"<nav.*?</nav>", home.text, re.S).group(0)
    assert "Jo Bloggs" in nav and f'value="{session["csrf_token"]}"' in nav

    signed_out = browser.post("/signout", data={"csrf_token": session["csrf_token"]})
    assert signed_out.status_code == 303 and signed_out.headers["location"].endswith("/signin?signed_out=1")
    (session,) = session_rows(portal)
    assert session["ended_at"] is not None
    assert "You have signed out." in text_of(browser.get("/signin?signed_out=1").text)
    assert sessions.COOKIE not in browser.cookies
    browser.cookies.set(sessions.COOKIE, signed_in.cookies[sessions.COOKIE])  # kept by someone
    again = browser.get("/")
    assert again.status_code == 303 and again.headers["location"].endswith("/signin?next=%2F")
    assert "Your session has ended: please sign in again." in text_of(browser.get("/signin").text)
    posted = browser.post("/signout", data={"csrf_token": session["csrf_token"]})
    assert posted.status_code == 303 and posted.headers["location"].endswith("/signin?next=%2F")

    (entry,) = log_of(portal, "sign_in")
    assert (entry.actor, entry.subject, entry.detail) == (
        jo.person.user_id,
        JO,
        {"how": "password", "client": "127.0.0.1"},
    )
    assert [e.actor for e in log_of(portal, "sign_out")] == [jo.person.user_id]
    assert audit.verify(portal.db) is None


@pytest.mark.parametrize(
    ("role", "offered"),
    [
        ("admin", ["/archive", "/live", "/incidents", "/api/docs"]),
        ("finance", ["/archive", "/api/docs"]),
        ("events", ["/archive", "/live", "/api/docs"]),
        ("staff", ["/me", "/api/docs"]),
    ],
)
def test_the_home_page_offers_what_the_role_may_open(portal, browser, role, offered):
    now = dt.datetime.now(UTC)
    with portal.db.engine.begin() as conn:
        conn.execute(
            sa.insert(RAW["staff"]).values(
                staff_id="stf-kim",
                venue_id="leeds",
                name="Kim Lee",
                role="bar",
                email="kim@example.com",
                phone="07700 900123",
                active=True,
            )
        )
    staff_id = "stf-kim" if role == "staff" else None
    person = accounts.add(portal.db, "kim@example.com", "Kim Lee", role, now, staff_id=staff_id).person
    browser.cookies.set(sessions.COOKIE, sessions.open_session(portal.db, person, "emailed link", now))
    assert re.findall(r'<li><a href="([^"]+)"', browser.get("/").text) == offered


def test_a_wrong_password_is_refused_and_logged_without_it(portal, jo, browser):
    refused = sign_in(browser, password="Tr0ub4dor&3")
    assert refused.status_code == 403
    assert "That email and password do not match an account." in text_of(refused.text)
    assert session_rows(portal) == []
    (entry,) = log_of(portal, "sign_in_refused")
    assert (entry.actor, entry.subject) == ("client:127.0.0.1", JO)
    assert entry.detail == {
        "reason": "that email and password do not match an account",
        "client": "127.0.0.1",
    }
    with portal.db.engine.connect() as conn:
        logged = " ".join(conn.execute(sa.select(access_log.c.detail)).scalars())
    assert "Tr0ub4dor" not in logged and PASSWORD not in logged


def test_a_disabled_account_is_refused_in_one_sentence_to_whoever_knows_its_password(portal, jo, browser):
    accounts.disable(portal.db, JO, dt.datetime.now(UTC))
    refused = sign_in(browser)
    assert refused.status_code == 403
    assert "This account is disabled: ask an admin to enable it again." in text_of(refused.text)
    guessed = sign_in(browser, password="a guess")
    assert "That email and password do not match an account." in text_of(guessed.text)
    assert "disabled" not in text_of(guessed.text)
    assert session_rows(portal) == []


def test_an_expired_session_sends_the_person_to_sign_in_and_says_why(portal, jo, browser):
    opened = dt.datetime.now(UTC) - sessions.LASTS - dt.timedelta(minutes=1)
    browser.cookies.set(sessions.COOKIE, sessions.open_session(portal.db, jo.person, "password", opened))
    sent = browser.get("/")
    assert sent.status_code == 303 and sent.headers["location"].endswith("/signin?next=%2F")
    assert "Your session has expired: please sign in again." in text_of(browser.get("/signin?next=%2F").text)


def test_a_current_session_goes_straight_on_and_signing_in_again_replaces_it(portal, jo, browser):
    token = form_token(browser)  # a sign-in page left open in another tab
    browser.cookies.set(
        sessions.COOKIE, sessions.open_session(portal.db, jo.person, "password", dt.datetime.now(UTC))
    )
    answer = browser.get("/signin?next=/live")
    assert answer.status_code == 303 and answer.headers["location"] == "/live"
    again = browser.post("/signin", data={"csrf_token": token, "email": JO, "password": PASSWORD})
    assert again.status_code == 303
    earlier, latest = sorted(session_rows(portal), key=lambda r: r["created_at"])
    assert earlier["ended_at"] is not None and latest["ended_at"] is None


@pytest.mark.parametrize(
    "elsewhere", ["//evil.example/", "http://evil.example/", "https:evil.example", "/\\evil.example", "evil"]
)
def test_sign_in_never_sends_anyone_to_another_site(portal, jo, browser, elsewhere):
    page = browser.get("/signin", params={"next": elsewhere})
    assert 'name="next" value="/"' in page.text
    assert sign_in(browser, next_path=elsewhere).headers["location"] == "/"


# --- the limit on refused sign-ins --------------------------------------------------------------


def test_after_five_refusals_sign_in_waits_without_checking_the_password(portal, jo, browser):
    for _ in range(5):
        assert sign_in(browser, password="a guess").status_code == 403
    first = log_of(portal, "sign_in_refused")[0].at
    asked = dt.datetime.now(UTC)
    sixth = sign_in(browser, password="a guess")
    answered = dt.datetime.now(UTC)
    assert sixth.status_code == 429
    # The window ends 15 minutes after the first of the five refusals, counted from when the
    # server answered: between the asking and the answer, however slow the machine.
    ends = first + dt.timedelta(minutes=15)
    assert (ends - answered).total_seconds() - 1 <= int(sixth.headers["retry-after"])
    assert int(sixth.headers["retry-after"]) <= (ends - asked).total_seconds() + 1
    assert "Too many refused sign-ins: please try again in 15 minutes." in text_of(sixth.text)
    right = sign_in(browser)
    assert right.status_code == 429 and sessions.COOKIE not in right.cookies
    assert session_rows(portal) == []
    assert len(log_of(portal, "sign_in_refused")) == 5  # waiting adds no refusal: the wait stays as said
    assert len(log_of(portal, "sign_in_limited")) == 2


def test_the_limit_counts_an_emails_refusals_from_anywhere_and_an_addresss_for_any_email(portal, jo, browser):
    now = dt.datetime.now(UTC)
    # Five refusals for Jo's email from another address, the oldest ten minutes ago: five minutes to wait.
    for minutes in (10, 8, 6, 4, 2):
        audit.record(
            portal.db, "client:192.0.2.7", "sign_in_refused", now - dt.timedelta(minutes=minutes), JO, {}
        )
    limited = sign_in(browser)
    assert limited.status_code == 429
    assert 295 <= int(limited.headers["retry-after"]) <= 300
    assert "Too many refused sign-ins: please try again in 5 minutes." in text_of(limited.text)
    # Another email from the same loopback address is not limited by Jo's refusals...
    other = accounts.add(portal.db, "sam@example.com", "Sam Okafor", "finance", now, password=PASSWORD)
    assert sign_in(browser, other.person.email).status_code == 303
    browser.cookies.delete(sessions.COOKIE)
    # ...but five refusals from this address limit every email from it.
    for n in range(5):
        sign_in(browser, f"nobody{n}@example.com", "a guess")
    assert sign_in(browser, other.person.email).status_code == 429


def test_refusals_older_than_the_window_are_not_counted(portal, jo, browser):
    long_ago = dt.datetime.now(UTC) - dt.timedelta(minutes=16)
    for _ in range(5):
        audit.record(portal.db, "client:127.0.0.1", "sign_in_refused", long_ago, JO, {})
    assert sign_in(browser).status_code == 303


# --- CSRF -----------------------------------------------------------------------------------------


def test_a_signed_in_form_without_its_token_or_with_another_is_refused(portal, jo, browser):
    now = dt.datetime.now(UTC)
    browser.cookies.set(sessions.COOKIE, sessions.open_session(portal.db, jo.person, "password", now))
    mine = session_rows(portal)[0]["csrf_token"]
    sessions.open_session(portal.db, jo.person, "password", now)  # Jo's other browser
    (anothers,) = [r["csrf_token"] for r in session_rows(portal) if r["csrf_token"] != mine]
    refusals = {
        None: "This form came without its security token: reload the page and send it again.",
        anothers: "This form's security token is not your session's: reload the page and send it again.",
        "forged": "This form's security token is not your session's: reload the page and send it again.",
    }
    for presented, sentence in refusals.items():
        answer = browser.post("/signout", data={} if presented is None else {"csrf_token": presented})
        assert answer.status_code == 403
        assert sentence in text_of(answer.text)
    assert all(r["ended_at"] is None for r in session_rows(portal))
    assert log_of(portal, "sign_out") == []
    assert browser.post("/signout", data={"csrf_token": mine}).status_code == 303


def test_the_sign_in_form_is_refused_without_its_token_from_another_browser_or_when_old(portal, jo, browser):
    with httpx.Client(base_url=portal.base) as elsewhere:
        anothers = form_token(elsewhere)
    old = signed_ago("sign_in_form", {"c": "x"}, dt.timedelta(hours=2))
    form_token(browser)  # this browser has its own pre-session cookie
    refusals = {
        "": "This sign-in form came without its security token",
        anothers: "This sign-in form was not opened in this browser",
        old: "This sign-in form is over an hour old or was altered",
    }
    for token, sentence in refusals.items():
        answer = browser.post("/signin", data={"csrf_token": token, "email": JO, "password": PASSWORD})
        assert answer.status_code == 403
        assert sentence in text_of(answer.text)
    assert session_rows(portal) == []


# --- emailed links --------------------------------------------------------------------------------


def ask_for_link(client: httpx.Client, email_address: str) -> httpx.Response:
    return client.post("/signin/link", data={"csrf_token": form_token(client), "email": email_address})


def mails_in(outbox: Path, expected: int) -> list[email.message.EmailMessage]:
    """The outbox's messages, once `expected` are there (they are sent after the answer)."""
    deadline = time.monotonic() + 30  # generous: two busy cores may delay the sending task
    while len(found := sorted(outbox.glob("*.eml"))) < expected:
        assert time.monotonic() < deadline, f"{len(found)} messages in the outbox, not {expected}"
        time.sleep(0.05)
    return [email.message_from_bytes(f.read_bytes(), policy=email.policy.default) for f in found]


def link_in(portal, mail) -> str:
    body = mail.get_body(("plain",)).get_content()
    return portal.path(re.search(r"http://\S+/signin/link/\S+", body).group(0))


def test_an_emailed_link_signs_in_once_after_its_button_is_pressed(portal, jo, browser, outbox):
    known, unknown = ask_for_link(browser, JO), ask_for_link(browser, "nobody@example.com")
    answer = (
        "If an account exists for that address, a sign-in link is on its way. It works for 15 minutes, once."
    )
    for asked in (known, unknown):
        assert asked.status_code == 200 and answer in text_of(asked.text)
    (mail,) = mails_in(outbox, 1)
    time.sleep(0.5)
    assert len(list(outbox.glob("*.eml"))) == 1  # nothing went to the unknown address
    assert mail["To"].addresses[0].addr_spec == JO
    path = link_in(portal, mail)

    for _ in range(2):  # a mail scanner, then the person: opening it signs nobody in
        shown = browser.get(path)
        assert shown.status_code == 200 and "Sign in as Jo Bloggs" in text_of(shown.text)
    assert session_rows(portal) == []

    token = re.search(r'name="csrf_token" value="([^"]+)"', shown.text).group(1)
    signed_in = browser.post(path, data={"csrf_token": token})
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/"
    assert browser.get("/").status_code == 200
    (session,) = session_rows(portal)
    assert (session["user_id"], session["how"]) == (jo.person.user_id, "emailed link")

    used = "This sign-in link was used already: each works once, so ask for a new one."
    with httpx.Client(base_url=portal.base) as elsewhere:  # the link opened again on another device
        again = elsewhere.post(path, data={"csrf_token": form_token(elsewhere)})
        assert again.status_code == 403 and used in text_of(again.text)
        assert used in text_of(elsewhere.get(path).text)
    assert len(session_rows(portal)) == 1
    assert [e.detail["reason"] for e in log_of(portal, "sign_in_refused")] == [used[0].lower() + used[1:-1]]


def test_a_tampered_or_expired_link_is_refused(portal, jo, browser, outbox):
    ask_for_link(browser, JO)
    good = link_in(portal, mails_in(outbox, 1)[0]).removeprefix("/signin/link/")
    expired = signed_ago("sign_in", {"u": jo.person.user_id, "n": "n-1"}, dt.timedelta(minutes=16))
    refusals = {
        good[:-4]
        + (
            "AAAA" if not good.endswith("AAAA") else "BBBB"
        ): "This sign-in link is not one we made, or it was altered.",
        signed_ago(
            "incidents", {"u": jo.person.user_id, "n": "n-2"}, dt.timedelta()
        ): "This sign-in link is not one we made",
        expired: "This sign-in link has expired: it worked for 15 minutes after it was sent.",
    }
    for token, sentence in refusals.items():
        for answer in (
            browser.get(f"/signin/link/{token}"),
            browser.post(f"/signin/link/{token}", data={"csrf_token": form_token(browser)}),
        ):
            assert answer.status_code == 403
            assert sentence in text_of(answer.text)
            assert "Ask for a new sign-in link on the sign-in page." in text_of(answer.text)
    assert session_rows(portal) == []
    # Fourteen minutes on, a link still works.
    fresh = signed_ago("sign_in", {"u": jo.person.user_id, "n": "n-3"}, dt.timedelta(minutes=14))
    assert browser.get(f"/signin/link/{fresh}").status_code == 200


def test_no_link_is_sent_to_a_disabled_account_and_its_link_is_refused(portal, jo, browser, outbox):
    ask_for_link(browser, JO)
    path = link_in(portal, mails_in(outbox, 1)[0])
    accounts.disable(portal.db, JO, dt.datetime.now(UTC))
    refused = browser.get(path)
    assert refused.status_code == 403
    assert "This account is disabled: ask an admin to enable it again." in text_of(refused.text)
    ask_for_link(browser, JO)
    time.sleep(0.5)
    assert len(list(outbox.glob("*.eml"))) == 1
