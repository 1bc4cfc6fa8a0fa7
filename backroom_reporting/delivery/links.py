"""Signed links in messages: downloads, unsubscribe, address verification, open and click tracking,
the on-call engineer's incident links (acknowledge one incident, or the list of incidents), and
the portal's emailed sign-in links and the sign-in form's own token (against login CSRF).

A link carries what it is for and a signature (itsdangerous, keyed by BACKROOM_LINK_SECRET,
salted by purpose so a link made for one purpose is refused for another). Each purpose has
its own lifetime; the web app checks signature and age before it acts.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal
from urllib.parse import quote

from itsdangerous import BadSignature, URLSafeTimedSerializer

from backroom_reporting import settings

Purpose = Literal[
    "download",
    "unsubscribe",
    "verify",
    "open",
    "click",
    "report",
    "dashboard",
    "incident",
    "incidents",
    "sign_in",
    "sign_in_form",
]
# How long each kind of link works. Unsubscribe links work for as long as a mail may be
# kept (RFC 8058 asks that they keep working); tracking links likewise.
LIFETIMES: dict[Purpose, dt.timedelta] = {
    "download": dt.timedelta(days=7),  # overridden by BACKROOM_DOWNLOAD_LINK_DAYS
    "report": dt.timedelta(days=7),
    "unsubscribe": dt.timedelta(days=365),
    "verify": dt.timedelta(days=7),
    "open": dt.timedelta(days=365),
    "click": dt.timedelta(days=365),
    "dashboard": dt.timedelta(days=30),
    "incident": dt.timedelta(days=7),  # an alert's "acknowledge" link: {"i": number, "p": person}
    "incidents": dt.timedelta(days=30),  # the incident list of the person on call: {"p": person}
    "sign_in": dt.timedelta(minutes=15),  # an emailed sign-in link, used once: {"u": user, "n": nonce}
    "sign_in_form": dt.timedelta(hours=1),  # the sign-in form's token: the browser's pre-session cookie
}
PATHS: dict[Purpose, str] = {
    "download": "/d/",
    "report": "/r/",
    "unsubscribe": "/unsubscribe/",
    "verify": "/verify/",
    "open": "/t/o/",
    "click": "/t/c/",
    "incident": "/incidents/ack/",
    "sign_in": "/signin/link/",
}
# The dashboard link names its recipient in the path: /recipients/<id>/reports?t=<token>;
# the incident list is /incidents?t=<token>.
# How a refusal names a link, where the purpose alone reads badly.
NAMES: dict[Purpose, str] = {
    "incidents": "incident list",
    "sign_in": "sign-in",
    "sign_in_form": "sign-in form",
}


class LinkError(ValueError):
    """A link that is forged, altered, made for something else, or too old."""


def lifetime(purpose: Purpose) -> dt.timedelta:
    if purpose == "download":
        return dt.timedelta(days=int(settings.DOWNLOAD_LINK_DAYS.get()))
    return LIFETIMES[purpose]


def worded(span: dt.timedelta) -> str:
    """A link's lifetime in words: whole days, else minutes."""
    if span >= dt.timedelta(days=1):
        return f"{span.days} days"
    return f"{int(span.total_seconds() // 60)} minutes"


def _serializer(purpose: Purpose, secret: str | None) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret or settings.LINK_SECRET.get(), salt=f"backroom-{purpose}")


def token(purpose: Purpose, payload: Any, secret: str | None = None) -> str:
    return _serializer(purpose, secret).dumps(payload)


def url(purpose: Purpose, payload: Any, *, base: str | None = None, secret: str | None = None) -> str:
    """The absolute link, e.g. http://127.0.0.1:8000/d/<token>."""
    root = (base or settings.PORTAL_URL.get()).rstrip("/")
    return f"{root}{PATHS[purpose]}{quote(token(purpose, payload, secret), safe='')}"


def dashboard_url(recipient_id: str, *, base: str | None = None, secret: str | None = None) -> str:
    """The signed link to a recipient's dashboard of delivered reports (payload {"r": recipient_id})."""
    root = (base or settings.PORTAL_URL.get()).rstrip("/")
    signed = quote(token("dashboard", {"r": recipient_id}, secret), safe="")
    return f"{root}/recipients/{quote(recipient_id, safe='')}/reports?t={signed}"


def incidents_url(who: str, *, base: str | None = None, secret: str | None = None) -> str:
    """The signed link to the incident list, acting as `who` (payload {"p": who})."""
    root = (base or settings.PORTAL_URL.get()).rstrip("/")
    signed = quote(token("incidents", {"p": who}, secret), safe="")
    return f"{root}/incidents?t={signed}"


def read(purpose: Purpose, signed: str, *, secret: str | None = None, now: dt.datetime | None = None) -> Any:
    """The payload of a signed token of `purpose`; LinkError says why a link is refused."""
    serializer = _serializer(purpose, secret)
    name = NAMES.get(purpose, purpose)
    try:
        payload, signed_at = serializer.loads(signed, return_timestamp=True)
    except BadSignature as exc:
        raise LinkError(f"this {name} link is not one we made, or it was altered") from exc
    now = now or dt.datetime.now(dt.UTC)
    if now - signed_at > lifetime(purpose):
        raise LinkError(
            f"this {name} link has expired: it worked for {worded(lifetime(purpose))} after it was sent"
        )
    return payload
