"""The on-call engineer's pages: one incident from an alert's link, and the list of incidents.

An alert's link (/incidents/ack/<token>) names the incident and the person it was sent to. Its
GET only shows the incident with an Acknowledge button: mail scanners fetch every link in a
message, so a GET never changes anything. The POST acknowledges as that person, via "link".

The incident list (/incidents?t=<token>) names only the person. Its buttons post the token
back in a hidden field: it says who acts (via "web"), and a form on another site cannot know
it, so a cross-site request is refused like a forged link.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse

from backroom_reporting.alerting import incidents
from backroom_reporting.alerting.incidents import Incident, IncidentRefused, NoSuchIncident
from backroom_reporting.delivery import links
from backroom_reporting.portal.pages import page
from backroom_reporting.portal.state import Warehouse
from backroom_reporting.warehouse.database import Database

router = APIRouter(prefix="/incidents")
LISTED = 50  # incidents on the list: the open ones, then the latest resolved


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _refused_status(refused: IncidentRefused) -> int:
    return 404 if isinstance(refused, NoSuchIncident) else 409


def _incident_page(
    request: Request, db: Database, number: int, who: str, said: str | None = None, status_code: int = 200
) -> HTMLResponse:
    """The incident, with what was just done or refused above it; a number we do not know, 404."""
    try:
        incident = incidents.get_incident(db, number)
    except NoSuchIncident as exc:
        return page(request, "incident.html", 404, incident=None, who=who, said=str(exc))
    return page(request, "incident.html", status_code, incident=incident, who=who, said=said)


@router.get("/ack/{token}", response_class=HTMLResponse)
def incident(request: Request, token: str, db: Warehouse) -> HTMLResponse:
    payload = links.read("incident", token)
    return _incident_page(request, db, payload["i"], payload["p"])


@router.post("/ack/{token}", response_class=HTMLResponse)
def acknowledge_from_link(request: Request, token: str, db: Warehouse) -> HTMLResponse:
    payload = links.read("incident", token)
    number, who = payload["i"], payload["p"]
    try:
        taken = incidents.acknowledge(db, number, who, "link", _now())
    except IncidentRefused as exc:
        return _incident_page(request, db, number, who, str(exc), _refused_status(exc))
    return _incident_page(request, db, number, who, incidents.step_taken(taken))


def _incident_list(
    request: Request, db: Database, t: str, who: str, said: str | None = None, status_code: int = 200
) -> HTMLResponse:
    listed = incidents.list_incidents(db, limit=LISTED, open_first=True)
    return page(request, "incidents.html", status_code, incidents=listed, token=t, who=who, said=said)


@router.get("", response_class=HTMLResponse)
def incident_list(
    request: Request, db: Warehouse, t: Annotated[str, Query(description="the list's signed token")] = ""
) -> HTMLResponse:
    return _incident_list(request, db, t, links.read("incidents", t)["p"])


def _from_list(
    request: Request,
    db: Database,
    t: str,
    step: Callable[..., Incident],
    number: int,
) -> HTMLResponse:
    """One button of the list pressed: the step taken (or refused), then the list again."""
    who = links.read("incidents", t)["p"]
    try:
        taken = step(db, number, who, "web", _now())
    except IncidentRefused as exc:
        return _incident_list(request, db, t, who, str(exc), _refused_status(exc))
    return _incident_list(request, db, t, who, incidents.step_taken(taken))


@router.post("/{number}/ack", response_class=HTMLResponse)
def acknowledge_from_list(
    request: Request, number: int, db: Warehouse, t: Annotated[str, Form()] = ""
) -> HTMLResponse:
    return _from_list(request, db, t, incidents.acknowledge, number)


@router.post("/{number}/resolve", response_class=HTMLResponse)
def resolve_from_list(
    request: Request, number: int, db: Warehouse, t: Annotated[str, Form()] = ""
) -> HTMLResponse:
    return _from_list(request, db, t, incidents.resolve, number)
