"""Open and click tracking for plain SMTP email: a 1x1 pixel and a signed redirect."""

from __future__ import annotations

import datetime as dt
import logging
from urllib.parse import urlsplit

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

from backroom_reporting.delivery import ledger, links
from backroom_reporting.delivery.links import LinkError
from backroom_reporting.portal.pages import Refusal
from backroom_reporting.portal.state import Warehouse
from backroom_reporting.warehouse.database import Database

router = APIRouter(prefix="/t")
log = logging.getLogger(__name__)

# The smallest transparent GIF: 1x1, one transparent colour.
PIXEL = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\x00\x00\x00"
    b"!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
NO_CACHE = {"Cache-Control": "no-store, no-cache, must-revalidate, max-age=0", "Pragma": "no-cache"}


def _record(db: Database, delivery_id: str, status, route: str, detail: str | None = None) -> None:
    try:
        ledger.report_event(db, delivery_id, status, dt.datetime.now(dt.UTC), "tracking", detail)
    except KeyError:
        log.warning("%s: delivery %s is not in the ledger; nothing recorded", route, delivery_id)


@router.get("/o/{token}", name="open_pixel")
def opened(token: str, db: Warehouse) -> Response:
    """Always the pixel, so a message never shows a broken image; only a signed link is recorded."""
    try:
        payload = links.read("open", token)
    except LinkError as exc:
        log.warning("GET /t/o refused: %s", exc)
    else:
        _record(db, payload["d"], "opened", "GET /t/o")
    return Response(PIXEL, media_type="image/gif", headers=NO_CACHE)


@router.get("/c/{token}", name="click")
def clicked(token: str, db: Warehouse) -> RedirectResponse:
    """Record the click, then send the reader on to the target the message signed (never another)."""
    payload = links.read("click", token)
    target = payload["u"]
    if urlsplit(target).scheme not in ("http", "https"):
        raise Refusal(f"this link does not lead to a web page ({target[:40]!r})")
    _record(db, payload["d"], "clicked", "GET /t/c", detail=target)
    return RedirectResponse(target, status_code=303, headers=NO_CACHE)
