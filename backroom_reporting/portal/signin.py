"""Signing in and out: by password, or by a link emailed to the account's address.

The session cookie is HttpOnly, SameSite=Lax and, when the portal is served over https,
Secure. Before anyone is signed in, the sign-in forms carry a token signed for this browser's
pre-session cookie, so another site cannot sign a visitor into an account of its choosing
(login CSRF). Refused sign-ins are counted in the access log: after `LIMIT` in `WINDOW` for
one email or from one address, sign-in answers 429 without checking any password.

An emailed link works for 15 minutes and once. Its GET only shows a button (mail scanners
fetch every link in a message); the POST signs in and keeps the link's nonce, so a second use
is refused. Asking for a link answers the same whether or not the email has an account.
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import math
import secrets
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Annotated
from urllib.parse import urlsplit

import sqlalchemy as sa
from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from backroom_reporting import settings
from backroom_reporting.delivery import links
from backroom_reporting.delivery.channels.email import MESSAGE_ID_DOMAIN, addressed
from backroom_reporting.delivery.links import LinkError
from backroom_reporting.delivery.mailer import Mailer
from backroom_reporting.delivery.model import SendError
from backroom_reporting.portal import accounts, sessions
from backroom_reporting.portal.accounts import Account
from backroom_reporting.portal.forms import CheckedForm
from backroom_reporting.portal.pages import Refusal, page
from backroom_reporting.portal.people import LIVE, REPORTS, Person
from backroom_reporting.portal.sessions import CurrentPerson, NotSignedIn
from backroom_reporting.portal.state import Warehouse
from backroom_reporting.portal.tokens import sha256_of
from backroom_reporting.privacy import audit
from backroom_reporting.warehouse.database import Database
from backroom_reporting.warehouse.tables.portal import portal_sign_in_links

log = logging.getLogger(__name__)
router = APIRouter()

PRE_SESSION_COOKIE = "backroom_sign_in"  # the browser's cookie the sign-in forms are signed for
WINDOW = dt.timedelta(minutes=15)
LIMIT = 5  # refused sign-ins in WINDOW, per email and per client address
SIGNED_IN, REFUSED, SIGNED_OUT = "sign_in", "sign_in_refused", "sign_out"
LIMITED, LINK_SENT = "sign_in_limited", "sign_in_link_sent"
LINK_SENT_ANSWER = (
    "If an account exists for that address, a sign-in link is on its way. "
    f"It works for {links.worded(links.lifetime('sign_in'))}, once."
)
Text = Annotated[str, Form()]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _client(request: Request) -> str:
    """The address the request came from (behind a proxy: run uvicorn with --proxy-headers)."""
    return request.client.host if request.client else "unknown"


def _secure() -> bool:
    """Secure cookies when the portal is reached over https; plain http serves loopback use."""
    return settings.PORTAL_URL.get().startswith("https://")


def local_path(target: str | None) -> str:
    """`target` when it is a path on this site, else "/": sign-in never sends anyone elsewhere."""
    if (
        not target
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(c) < 32 or ord(c) == 127 for c in target)
    ):
        return "/"
    parts = urlsplit(target)
    return "/" if parts.scheme or parts.netloc else target


def _form_page(
    request: Request, template: str, status_code: int = 200, headers: dict | None = None, **context
) -> HTMLResponse:
    """A sign-in page with its forms' token, for this browser's pre-session cookie (set if new)."""
    cookie = request.cookies.get(PRE_SESSION_COOKIE) or secrets.token_urlsafe(24)
    form_token = links.token("sign_in_form", {"c": sha256_of(cookie)})
    response = page(request, template, status_code, form_token=form_token, **context)
    response.set_cookie(
        PRE_SESSION_COOKIE,
        cookie,
        max_age=int(links.lifetime("sign_in_form").total_seconds()),
        path="/signin",
        secure=_secure(),
        httponly=True,
        samesite="lax",
    )
    response.headers.update(headers or {})
    return response


def _check_form_token(request: Request, presented: str) -> None:
    """The sign-in form was opened in this browser, from this site, within the hour."""
    if not presented:
        raise Refusal("this sign-in form came without its security token: reload the page and try again")
    try:
        payload = links.read("sign_in_form", presented)
    except LinkError:
        raise Refusal(
            "this sign-in form is over an hour old or was altered: reload the page and try again"
        ) from None
    cookie = request.cookies.get(PRE_SESSION_COOKIE) or ""
    if not hmac.compare_digest(str(payload.get("c")), sha256_of(cookie)):
        raise Refusal("this sign-in form was not opened in this browser: reload the page and try again")


def retry_after(db: Database, email: str, client: str, now: dt.datetime) -> int | None:
    """Seconds until sign-in may be tried again for `email` from `client`; None: not limited.

    The wait ends when the `LIMIT`th latest refusal leaves the window: then fewer remain in it.
    """
    since = now - WINDOW
    counted = [audit.recent(db, REFUSED, since, actor=f"client:{client}")]
    if email:
        counted.append(audit.recent(db, REFUSED, since, subject=email))
    waits = [(times[-LIMIT] + WINDOW - now).total_seconds() for times in counted if len(times) >= LIMIT]
    return max(1, math.ceil(max(waits))) if waits else None


def _refuse(db: Database, request: Request, email: str | None, reason: str, now: dt.datetime) -> None:
    """Record a refused sign-in: the reason and the address, never what was typed as a password."""
    client = _client(request)
    audit.record(db, f"client:{client}", REFUSED, now, email or None, {"reason": reason, "client": client})


def _signed_in(db: Database, request: Request, person: Person, how: str, next_path: str) -> Response:
    now = _now()
    if earlier := request.cookies.get(sessions.COOKIE):
        sessions.end_session(db, earlier, now)  # one browser, one session: the new one
    cookie = sessions.open_session(db, person, how, now)
    audit.record(db, person.user_id, SIGNED_IN, now, person.email, {"how": how, "client": _client(request)})
    response = RedirectResponse(local_path(next_path), 303)
    response.set_cookie(
        sessions.COOKIE,
        cookie,
        max_age=int(sessions.LASTS.total_seconds()),
        path="/",
        secure=_secure(),
        httponly=True,
        samesite="lax",
    )
    response.delete_cookie(PRE_SESSION_COOKIE, path="/signin")
    return response


@router.get("/signin", name="sign_in_page", response_class=HTMLResponse)
def sign_in_page(request: Request, db: Warehouse, next: str = "/", signed_out: bool = False) -> Response:
    """The sign-in form; a session that just ended or expired is named, one already current goes on."""
    why = None
    cookie = request.cookies.get(sessions.COOKIE)
    if cookie and not signed_out:
        try:
            sessions.session_of(db, cookie, _now())
            return RedirectResponse(local_path(next), 303)
        except NotSignedIn as exc:
            why = exc.reason[:1].upper() + exc.reason[1:] + "."
    notice = "You have signed out." if signed_out else why
    return _form_page(request, "sign_in.html", next=local_path(next), notice=notice)


@router.post("/signin", name="sign_in")
def sign_in(
    request: Request,
    db: Warehouse,
    csrf_token: Text = "",
    email: Text = "",
    password: Text = "",
    next: Text = "/",
) -> Response:
    _check_form_token(request, csrf_token)
    now, email = _now(), email.strip().lower()
    wait = retry_after(db, email, _client(request), now)
    if wait is not None:
        audit.record(
            db, f"client:{_client(request)}", LIMITED, now, email or None, {"client": _client(request)}
        )
        minutes = math.ceil(wait / 60)
        unit = "minute" if minutes == 1 else "minutes"
        return _form_page(
            request,
            "sign_in.html",
            429,
            headers={"Retry-After": str(wait)},
            next=local_path(next),
            email=email,
            refusal=f"Too many refused sign-ins: please try again in {minutes} {unit}.",
        )
    account = accounts.password_holder(db, email, password) if email and password else None
    if account is None or account.disabled_at is not None:
        reason = (
            "that email and password do not match an account"
            if account is None
            else "this account is disabled: ask an admin to enable it again"
        )
        _refuse(db, request, email, reason, now)
        sentence = reason[:1].upper() + reason[1:] + "."
        return _form_page(request, "sign_in.html", 403, next=local_path(next), email=email, refusal=sentence)
    return _signed_in(db, request, account.person, "password", next)


@router.post("/signout", name="sign_out")
def sign_out(request: Request, db: Warehouse, person: CheckedForm) -> Response:
    now = _now()
    sessions.end_session(db, request.cookies[sessions.COOKIE], now)
    audit.record(db, person.user_id, SIGNED_OUT, now, person.email, {"client": _client(request)})
    response = RedirectResponse(request.url_for("sign_in_page").include_query_params(signed_out=1), 303)
    response.delete_cookie(sessions.COOKIE, path="/")
    return response


def sign_in_message(account: Account, link: str, now: dt.datetime) -> EmailMessage:
    person = account.person
    minutes = links.worded(links.lifetime("sign_in"))
    message = addressed(person.name, person.email, now)
    message["Subject"] = "Your sign-in link for The Backroom Leeds reports"
    message["Message-ID"] = make_msgid("sign-in", MESSAGE_ID_DOMAIN)
    message.set_content(
        f"Hello {person.name},\n\n"
        f"Someone asked to sign in to The Backroom Leeds reports as you. To sign in, open:\n\n{link}\n\n"
        f"The link works for {minutes}, once. If it was not you, ignore this email: nobody can "
        "sign in without the link.\n"
    )
    return message


def _send(message: EmailMessage) -> None:
    """After the answer, so asking for a link takes as long whether or not the account exists."""
    try:
        Mailer().send(message)
    except SendError as exc:
        log.warning("the sign-in link to %s was not sent: %s", message["To"], exc)


@router.post("/signin/link", name="sign_in_link_request", response_class=HTMLResponse)
def sign_in_link_request(
    request: Request, db: Warehouse, background: BackgroundTasks, csrf_token: Text = "", email: Text = ""
) -> HTMLResponse:
    """Email a sign-in link to an active account; at most `LIMIT` to one address per `WINDOW`."""
    _check_form_token(request, csrf_token)
    now, email = _now(), email.strip().lower()
    account = accounts.find(db, email) if "@" in email else None
    if (
        account is not None
        and account.disabled_at is None
        and len(audit.recent(db, LINK_SENT, now - WINDOW, subject=account.person.email)) < LIMIT
    ):
        person = account.person
        link = links.url("sign_in", {"u": person.user_id, "n": secrets.token_urlsafe(16)})
        audit.record(db, person.user_id, LINK_SENT, now, person.email, {"client": _client(request)})
        background.add_task(_send, sign_in_message(account, link, now))
    return _form_page(request, "sign_in.html", next="/", notice=LINK_SENT_ANSWER)


def _link_account(db: Database, token: str) -> tuple[Account, str]:
    """The active account a sign-in link is for, and its nonce; LinkError or Refusal says why not."""
    payload = links.read("sign_in", token)
    with db.engine.connect() as conn:
        used = conn.execute(
            sa.select(portal_sign_in_links.c.used_at).where(portal_sign_in_links.c.nonce == payload["n"])
        ).scalar()
    if used is not None:
        raise LinkError("this sign-in link was used already: each works once, so ask for a new one")
    account = accounts.find(db, payload["u"])
    if account is None or account.disabled_at is not None:
        raise Refusal("this account is disabled: ask an admin to enable it again")
    return account, payload["n"]


@router.get("/signin/link/{token}", name="sign_in_link", response_class=HTMLResponse)
def sign_in_link(request: Request, db: Warehouse, token: str) -> HTMLResponse:
    """Only a button: a mail scanner fetching the link signs nobody in and uses nothing up."""
    account, _ = _link_account(db, token)
    return _form_page(request, "sign_in_link.html", name=account.person.name)


@router.post("/signin/link/{token}", name="sign_in_by_link")
def sign_in_by_link(request: Request, db: Warehouse, token: str, csrf_token: Text = "") -> Response:
    _check_form_token(request, csrf_token)
    now = _now()
    try:
        account, nonce = _link_account(db, token)
        with db.engine.begin() as conn:
            conn.execute(
                sa.insert(portal_sign_in_links).values(
                    nonce=nonce, user_id=account.person.user_id, used_at=now
                )
            )
    except sa.exc.IntegrityError:
        reason = "this sign-in link was used already: each works once, so ask for a new one"
        _refuse(db, request, account.person.email, reason, now)
        raise LinkError(reason) from None
    except (LinkError, Refusal) as exc:
        _refuse(db, request, None, str(exc), now)
        raise
    return _signed_in(db, request, account.person, "emailed link", "/")


# What the home page offers, and to whom: by what the role reads (people.READS).
PLACES: tuple[tuple[str, str, str, Callable[[Person], bool]], ...] = (
    ("/archive", "Reports", "the reports of your venues, to read or download", lambda p: p.may(REPORTS)),
    ("/live", "The live night", "tonight's figures as the night goes on", lambda p: p.may(LIVE)),
    ("/me", "My performance", "your own shifts and figures", lambda p: p.role == "staff"),
    (
        "/incidents",
        "Incidents",
        "what went wrong with the nightly runs, and who is on it",
        lambda p: p.role in ("admin", "manager"),
    ),
    ("/api/docs", "The API", "the figures and reports as JSON, for your own tools", lambda p: True),
)


@router.get("/", name="home", response_class=HTMLResponse)
def home(request: Request, person: CurrentPerson) -> HTMLResponse:
    places = [(path, title, what) for path, title, what, offered in PLACES if offered(person)]
    return page(request, "home.html", person=person, places=places)
