"""Who is looking: the one place that says which recipient a request speaks for.

For now a viewer is proved by a signed dashboard link (`?t=`) or an API bearer token; the
login and roles of a later issue add sessions here, and every route that depends on
`current_viewer` follows.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Annotated

from fastapi import Depends, Header, Query

from backroom_reporting.delivery import links
from backroom_reporting.delivery.links import LinkError
from backroom_reporting.portal import tokens
from backroom_reporting.portal.state import Warehouse
from backroom_reporting.portal.tokens import TokenError


class NotAllowed(Exception):
    """No viewer could be established, or this one may not do that: the reason, in one sentence."""

    def __init__(self, reason: str, scope: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.scope = scope  # the scope missing, when the viewer is known but not allowed


@dataclasses.dataclass(frozen=True)
class Viewer:
    recipient_id: str
    scopes: frozenset[str]
    how: str  # "signed link", or "API token tok-…"

    def require(self, scope: str) -> None:
        if scope not in self.scopes:
            raise NotAllowed(f"this {self.how} does not allow {scope}", scope=scope)


def current_viewer(
    db: Warehouse,
    authorization: Annotated[str | None, Header()] = None,
    t: Annotated[str | None, Query(description="a signed dashboard link's token")] = None,
) -> Viewer:
    now = dt.datetime.now(dt.UTC)
    if authorization is not None:
        scheme, _, presented = authorization.partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            raise NotAllowed("send the API token as `Authorization: Bearer <token>`")
        try:
            token = tokens.holder(db, presented.strip(), now)
        except TokenError as exc:
            raise NotAllowed(str(exc)) from exc
        if token.recipient_id is None:
            raise NotAllowed(f"API token {token.token_id} is an account's: it reads /api/v1/, not deliveries")
        return Viewer(token.recipient_id, frozenset(token.scopes), f"API token {token.token_id}")
    if t is not None:
        try:
            payload = links.read("dashboard", t, now=now)
        except LinkError as exc:
            raise NotAllowed(str(exc)) from exc
        return Viewer(payload["r"], frozenset({tokens.READ_DELIVERIES}), "signed link")
    raise NotAllowed("this page needs a signed link from one of your report messages, or an API token")


CurrentViewer = Annotated[Viewer, Depends(current_viewer)]
