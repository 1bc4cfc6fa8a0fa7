"""What recipients do from a message: unsubscribe (RFC 8058 one-click) and verify their address.

A GET only shows a page with a button: mail scanners fetch every link in a message, so a GET
must never change anything. The POST acts, and answers 200 with a page (one-click clients
ignore the body).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from backroom_reporting.delivery import links
from backroom_reporting.portal.pages import Refusal, page
from backroom_reporting.portal.state import Warehouse
from backroom_reporting.subscriptions import consent, service
from backroom_reporting.subscriptions.service import SubscriptionError

router = APIRouter()

# RFC 8058: a one-click unsubscribe is a POST whose body is exactly this field and value.
ONE_CLICK = ("List-Unsubscribe", "One-Click")


def _subscription(db, token: str) -> service.Subscription:
    payload = links.read("unsubscribe", token)
    try:
        subscription = service.get_subscription(db, payload["s"])
    except SubscriptionError:
        raise Refusal("this subscription no longer exists, so there is nothing to stop", 404) from None
    if subscription.recipient_id != payload["r"]:
        raise Refusal("this unsubscribe link was made for someone else")
    return subscription


def _report_name(subscription: service.Subscription) -> str:
    return subscription.template_key.replace("_", " ")


@router.get("/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe_page(request: Request, token: str, db: Warehouse) -> HTMLResponse:
    subscription = _subscription(db, token)
    return page(request, "unsubscribe.html", report=_report_name(subscription), done=False)


@router.post("/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe(
    request: Request,
    token: str,
    db: Warehouse,
    one_click: Annotated[str | None, Form(alias=ONE_CLICK[0])] = None,
) -> HTMLResponse:
    subscription = _subscription(db, token)
    how = "one-click unsubscribe" if one_click == ONE_CLICK[1] else "unsubscribe page"
    consent.unsubscribe(db, subscription.subscription_id, dt.datetime.now(dt.UTC), how=how)
    return page(request, "unsubscribe.html", report=_report_name(subscription), done=True)


@router.get("/verify/{token}", response_class=HTMLResponse)
def verify_page(request: Request, token: str) -> HTMLResponse:
    payload = links.read("verify", token)
    return page(request, "verify.html", email=payload["e"], done=False)


@router.post("/verify/{token}", response_class=HTMLResponse)
def verify(request: Request, token: str, db: Warehouse) -> HTMLResponse:
    payload = links.read("verify", token)
    try:
        consent.verify_email(db, payload["r"], payload["e"], dt.datetime.now(dt.UTC))
    except SubscriptionError as exc:
        raise Refusal(str(exc), 409) from exc
    return page(request, "verify.html", email=payload["e"], done=True)
