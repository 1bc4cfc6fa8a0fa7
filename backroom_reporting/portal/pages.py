"""The few HTML pages, and the answers to links and requests that are refused."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from backroom_reporting.delivery.links import LinkError
from backroom_reporting.portal.people import NotPermitted
from backroom_reporting.portal.sessions import NotSignedIn
from backroom_reporting.portal.viewers import NotAllowed

log = logging.getLogger(__name__)
TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")


def utc(moment: dt.datetime) -> str:
    """A moment on UTC's clock, whatever zone the database session answered in."""
    return moment.astimezone(dt.UTC).strftime("%a %d %b %Y %H:%M UTC")


TEMPLATES.env.filters["utc"] = utc

# What to do instead, by the kind of link refused.
ADVICE = {
    "/d/": "Ask the sender for a new link, or open your reports dashboard from a recent report message.",
    "/r/": "Open the report from a more recent message, or from your reports dashboard.",
    "/recipients/": "Open your dashboard from the link in your most recent report message.",
    "/unsubscribe/": "Use the unsubscribe link in a more recent report message, or reply to it.",
    "/verify/": "Ask for a new verification email.",
    "/t/c/": "Open the report from your reports dashboard instead.",
    "/incidents/ack/": "Open the incident from a more recent alert, or with `backroom alerts show N`.",
    "/incidents": "Open the incident list from the link in a more recent alert.",
    "/signin/link/": "Ask for a new sign-in link on the sign-in page.",
}


def page(request: Request, template: str, status_code: int = 200, **context) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(request, template, context, status_code=status_code)


def refused(request: Request, reason: str, status_code: int = 403) -> HTMLResponse:
    advice = next((a for prefix, a in ADVICE.items() if request.url.path.startswith(prefix)), "")
    sentence = reason[:1].upper() + reason[1:].rstrip(".") + "."
    # A link (one the ADVICE knows) is refused as a link; a form sent, as what it asked for.
    heading = "This link does not work" if advice else "This was not done"
    return page(request, "refused.html", status_code, reason=sentence, advice=advice, heading=heading)


def route_of(request: Request) -> str:
    """The route, e.g. GET /d/{token}: never the token itself, which is a credential."""
    route = request.scope.get("route")
    return f"{request.method} {getattr(route, 'path', request.url.path)}"


class Refusal(Exception):
    """A route refuses the request: the reason (one sentence, shown and logged) and the status."""

    def __init__(self, reason: str, status_code: int = 403):
        super().__init__(reason)
        self.reason = reason
        self.status_code = status_code


def route_refused(request: Request, exc: Exception) -> HTMLResponse:
    assert isinstance(exc, Refusal)
    log.warning("%s refused: %s", route_of(request), exc.reason)
    return refused(request, exc.reason, exc.status_code)


def link_refused(request: Request, exc: Exception) -> HTMLResponse:
    assert isinstance(exc, LinkError)
    log.warning("%s refused: %s", route_of(request), exc)
    return refused(request, str(exc))


def viewer_refused(request: Request, exc: Exception) -> HTMLResponse | JSONResponse:
    """The API answers 401 with a Bearer challenge (RFC 6750); a page answers 403 in words."""
    assert isinstance(exc, NotAllowed)
    if not request.url.path.startswith("/api/"):
        return refused(request, exc.reason)
    if exc.scope is not None:
        challenge = f'Bearer realm="backroom", error="insufficient_scope", scope="{exc.scope}"'
        return JSONResponse({"detail": exc.reason}, 403, headers={"WWW-Authenticate": challenge})
    description = exc.reason.replace('"', "'")
    challenge = f'Bearer realm="backroom", error="invalid_token", error_description="{description}"'
    return JSONResponse({"detail": exc.reason}, 401, headers={"WWW-Authenticate": challenge})


def sign_in_needed(request: Request, exc: Exception) -> RedirectResponse | JSONResponse:
    """A page sends the person to sign in and back; the API answers 401."""
    assert isinstance(exc, NotSignedIn)
    if request.url.path.startswith("/api/"):
        return JSONResponse(
            {"detail": exc.reason}, 401, headers={"WWW-Authenticate": 'Bearer realm="backroom"'}
        )
    # Back to the page after signing in; a form's post cannot be repeated by a redirect.
    if request.method == "GET":
        back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    else:
        back = "/"
    return RedirectResponse(request.url_for("sign_in_page").include_query_params(next=back), 303)


def not_permitted(request: Request, exc: Exception) -> HTMLResponse | JSONResponse:
    assert isinstance(exc, NotPermitted)
    log.warning("%s refused: %s", route_of(request), exc.reason)
    if request.url.path.startswith("/api/"):
        return JSONResponse({"detail": exc.reason}, 403)
    return refused(request, exc.reason)
