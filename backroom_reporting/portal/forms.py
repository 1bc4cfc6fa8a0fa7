"""Forms posted by a signed-in person carry their session's CSRF token, so another site cannot
post them with the person's cookie. Every form route depends on `CheckedForm`; a page renders
the token with `{{ csrf_field(request) }}` (or `request.state.csrf_token` as field `csrf_token`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from markupsafe import Markup, escape

from backroom_reporting.portal.pages import TEMPLATES, Refusal
from backroom_reporting.portal.people import Person
from backroom_reporting.portal.sessions import CurrentPerson, csrf_matches

FIELD = "csrf_token"


async def require_csrf(request: Request, person: CurrentPerson) -> Person:
    """The signed-in person, once the form posted back their session's token; else 403 saying why."""
    presented = (await request.form()).get(FIELD)
    if not presented:
        raise Refusal("this form came without its security token: reload the page and send it again")
    if not csrf_matches(request.state.csrf_token, str(presented)):
        raise Refusal("this form's security token is not your session's: reload the page and send it again")
    return person


CheckedForm = Annotated[Person, Depends(require_csrf)]


def csrf_field(request: Request) -> Markup:
    """The hidden field every form of a signed-in page carries."""
    token = getattr(request.state, "csrf_token", "")
    return Markup(f'<input type="hidden" name="{FIELD}" value="{escape(token)}">')


TEMPLATES.env.globals["csrf_field"] = csrf_field
