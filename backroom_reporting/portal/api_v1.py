"""The API, /api/v1/: daily figures, KPIs, events, reports and deliveries as JSON, read-only.

A caller is a portal account, by an API token of its own (`backroom tokens issue`) or by its
signed-in session. Each route needs its scope, the role's read (people.READS) and, given a
venue filter, that venue; without one it lists the account's venues only. Every row is read
through scoped.as_person, so on PostgreSQL the person's database role holds too. A list is a
page of at most `limit` rows in primary-key order with `next`, the cursor of the page after:
keyset pagination, so a page neither skips nor repeats rows when rows are added meanwhile.
Every call by a known caller is written to the access log (action api_call).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import json
from typing import Annotated, Any, Generic, Literal, TypeVar

import sqlalchemy as sa
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, create_model
from starlette.concurrency import run_in_threadpool

from backroom_reporting.portal import accounts, scoped, sessions, tokens
from backroom_reporting.portal.people import Person
from backroom_reporting.portal.reports import titled
from backroom_reporting.portal.tokens import ACCOUNT_SCOPES, TokenError
from backroom_reporting.portal.viewers import NotAllowed
from backroom_reporting.privacy import audit
from backroom_reporting.warehouse.database import Database
from backroom_reporting.warehouse.tables.aggregations import daily_aggregations
from backroom_reporting.warehouse.tables.deliveries import report_deliveries
from backroom_reporting.warehouse.tables.events import event_performance_analytics
from backroom_reporting.warehouse.tables.kpis import kpi_calculations
from backroom_reporting.warehouse.tables.reports import report_generation_history
from backroom_reporting.warehouse.types import UtcTimestamp

PREFIX = "/api/v1"
OPENAPI = "/api/openapi.json"
DOCS = "/api/docs"


class Problem(BaseModel):
    detail: str


router = APIRouter(
    prefix=PREFIX,
    tags=["v1"],
    responses={
        400: {"model": Problem, "description": "The cursor is not one this API gave."},
        401: {"model": Problem, "description": "No current token or session."},
        403: {"model": Problem, "description": "The role, the token's scopes or the venues forbid it."},
        422: {"model": Problem, "description": "A parameter is not valid: which, and why."},
    },
)

# --- Who is calling --------------------------------------------------------------------------

_bearer = HTTPBearer(auto_error=False, description="An account's API token (`backroom tokens issue`).")
_session = APIKeyCookie(name=sessions.COOKIE, auto_error=False, description="A signed-in session.")


@dataclasses.dataclass(frozen=True)
class Caller:
    person: Person
    scopes: frozenset[str]
    actor: str  # the access log's actor: the token id, or the account's user id for a session
    how: str

    def require(self, scope: str) -> None:
        """The role must read it (403), then the token must have been given it (403, a challenge)."""
        self.person.require(ACCOUNT_SCOPES[scope])
        if scope not in self.scopes:
            raise NotAllowed(f"this {self.how} does not allow {scope}", scope=scope)


def api_warehouse(request: Request) -> Database:
    """The warehouse, without the app's one-at-a-time lock: the API reads only through
    `db.engine`, whose pool is safe across threads (the lock guards the Database's own
    connection), so API calls run side by side."""
    return request.app.state.warehouse


ApiWarehouse = Annotated[Database, Depends(api_warehouse)]


def api_caller(
    request: Request,
    db: ApiWarehouse,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    cookie: Annotated[str | None, Depends(_session)],
) -> Caller:
    now = dt.datetime.now(dt.UTC)
    if bearer is not None:
        try:
            token = tokens.holder(db, bearer.credentials, now)
        except TokenError as exc:
            raise NotAllowed(str(exc)) from exc
        account = accounts.find(db, token.user_id) if token.user_id else None
        if account is None:
            raise NotAllowed(f"API token {token.token_id} is a recipient's: it reads /api/deliveries/ID only")
        if account.disabled_at is not None:
            raise NotAllowed(f"the account of API token {token.token_id} is disabled")
        caller = Caller(
            account.person, frozenset(token.scopes), token.token_id, f"API token {token.token_id}"
        )
    else:
        if not cookie:
            raise sessions.NotSignedIn("send an API token as `Authorization: Bearer <token>`, or sign in")
        person, _ = sessions.session_of(db, cookie, now)
        allowed = frozenset(scope for scope, what in ACCOUNT_SCOPES.items() if person.may(what))
        caller = Caller(person, allowed, person.user_id, "session")
    request.state.api_actor = caller.actor
    return caller


CurrentCaller = Annotated[Caller, Depends(api_caller)]


async def record_calls(request: Request, call_next) -> Response:
    """The app's middleware: each API call by a known caller goes to the access log with its
    route (never its query, which may name venues the caller was refused) and status."""
    response = await call_next(request)
    actor = getattr(request.state, "api_actor", None)
    if actor is not None and request.url.path.startswith(PREFIX):
        route = getattr(request.scope.get("route"), "path", request.url.path)
        detail = {"status": response.status_code}
        now = dt.datetime.now(dt.UTC)
        await run_in_threadpool(
            audit.record, request.app.state.warehouse, actor, "api_call", now, route, detail
        )
    return response


# --- Pages -------------------------------------------------------------------------------------

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next: str | None  # the cursor of the next page; null on the last


class BadCursor(ValueError):
    pass


def _encode(listing: str, values: list) -> str:
    raw = json.dumps([listing, *(str(v) for v in values)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(listing: str, cursor: str, key: list[sa.Column]) -> list:
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(raw, list) or raw[:1] != [listing] or len(raw) != len(key) + 1:
            raise BadCursor
        values = [
            dt.date.fromisoformat(v) if isinstance(c.type, sa.Date) else str(v)
            for c, v in zip(key, raw[1:], strict=True)
        ]
        if any(isinstance(v, str) and "\x00" in v for v in values):  # never one this API gave
            raise BadCursor
        return values
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise BadCursor from exc


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _items(names: list[str], rows: list[sa.Row], kept_as_json: tuple[str, ...]) -> str:
    """The rows as JSON objects, comma-separated; the columns in `kept_as_json` hold JSON our
    own code wrote, and are spliced in as they are rather than parsed and written again."""
    if not kept_as_json:
        return json.dumps([dict(zip(names, row, strict=True)) for row in rows], default=_plain)[1:-1]
    plain = [i for i, name in enumerate(names) if name not in kept_as_json]
    spliced = [(name, names.index(name)) for name in kept_as_json]
    return ", ".join(
        json.dumps({names[i]: row[i] for i in plain}, default=_plain)[:-1]
        + "".join(f', "{name}": {row[i]}' for name, i in spliced)
        + "}"
        for row in rows
    )


def page(
    db: Database,
    person: Person,
    listing: str,
    query: sa.Select,
    key: list[sa.Column],
    limit: int,
    cursor: str | None,
    kept_as_json: tuple[str, ...] = (),
) -> Response:
    """One page of `query`, ordered by `key` and after the cursor's row, read as `person`.

    The answer is written straight from the rows: checking 1,000 rows against the response
    model would cost more than the rest of the request. The models document the answers in
    the OpenAPI, and the fuzz test (tests/portal/test_api_fuzz.py) holds the two together.
    """
    if cursor is not None:
        try:
            after = _decode(listing, cursor, key)
        except BadCursor:
            raise HTTPException(400, "the cursor is not one this API gave: start again without it") from None
        binds = [sa.bindparam(None, v, type_=c.type) for c, v in zip(key, after, strict=True)]
        query = query.where(sa.tuple_(*key) > sa.tuple_(*binds) if len(key) > 1 else key[0] > binds[0])
    with scoped.as_person(db, person) as conn:
        result = conn.execute(query.order_by(*key).limit(limit + 1))
        names, rows = list(result.keys()), result.all()
    following = None
    if len(rows) > limit:
        rows = rows[:limit]
        following = _encode(listing, [rows[-1][names.index(c.name)] for c in key])
    items = _items(names, rows, kept_as_json)
    return Response(f'{{"items": [{items}], "next": {json.dumps(following)}}}', media_type="application/json")


def of_venues(person: Person, column: sa.Column, venue: str | None) -> list[sa.ColumnElement[bool]]:
    """The asked venue, when the account covers it (else 403); without one, the account's venues."""
    if venue is not None:
        person.require_venue(venue)
        return [column == venue]
    if person.venue_ids is None:
        return []
    return [column.in_(person.venue_ids)]


def within(column: sa.Column, first: dt.date | None, last: dt.date | None) -> list[sa.ColumnElement[bool]]:
    return [
        *([column >= first] if first is not None else []),
        *([column <= last] if last is not None else []),
    ]


Limit = Annotated[int, Query(ge=1, le=1000, description="Rows per page.")]
Cursor = Annotated[
    str | None, Query(max_length=2000, description="The `next` of the page before; none for the first.")
]
# Ids and keys hold no control characters; PostgreSQL refuses a NUL in any text, so such a
# value is a 422 naming the parameter, not a failed query.
ID_TEXT = r"^[^\x00-\x1f\x7f]*$"
Venue = Annotated[
    str | None, Query(max_length=200, pattern=ID_TEXT, description="One venue id; default: all of yours.")
]
From = Annotated[dt.date | None, Query(alias="from", description="The first day, inclusive.")]
To = Annotated[dt.date | None, Query(description="The last day, inclusive.")]
Template = Annotated[str | None, Query(max_length=200, pattern=ID_TEXT, description="A report template key.")]

# --- Response models, from the tables, so the OpenAPI says what every column holds -------------


def _python_type(column: sa.Column) -> type:
    if isinstance(column.type, UtcTimestamp):
        return dt.datetime
    return column.type.python_type


def model_of(name: str, table: sa.Table, leave_out: tuple[str, ...] = ()) -> type[BaseModel]:
    fields: dict[str, Any] = {
        c.name: ((_python_type(c) | None) if c.nullable else _python_type(c), ...)
        for c in table.columns
        if c.name not in leave_out
    }
    return create_model(
        name, __doc__=(table.name + ": docs/metrics.md says what each column holds."), **fields
    )


DailyFigures = model_of("DailyFigures", daily_aggregations)
Kpi = model_of("Kpi", kpi_calculations)
Event = model_of("Event", event_performance_analytics)


class ReportFile(BaseModel):
    format: str
    name: str
    path: str  # its key in the report store
    sha256: str
    size_bytes: int
    reused_from: str | None  # the generation whose identical file this is


class Report(BaseModel):
    generation_id: str
    subscription_id: str
    template_key: str
    title: str | None
    venue_id: str | None  # null: the group, every venue
    period_kind: str
    period_first_day: dt.date
    period_last_day: dt.date
    filters: dict[str, Any]
    formats: list[str]
    files: list[ReportFile]
    key_metrics: dict[str, Any]
    warnings: list[str]
    status: str
    error: str | None
    generated_at: dt.datetime
    files_removed_at: dt.datetime | None


# Not the address (an email address or a phone number: another person's), nor the provider's
# detail, which may quote it; recipient_id says whose it was.
DELIVERY_LEFT_OUT = ("address", "detail", "claimed_by", "provider_message_id")
Delivery = create_model(
    "Delivery",
    __base__=model_of("DeliveryRow", report_deliveries, DELIVERY_LEFT_OUT),
    venue_id=(str | None, ...),
)

# --- Routes ----------------------------------------------------------------------------------


@router.get("/daily", response_model=Page[DailyFigures], summary="Daily figures per venue and night")
def daily(
    caller: CurrentCaller,
    db: ApiWarehouse,
    limit: Limit = 100,
    cursor: Cursor = None,
    venue: Venue = None,
    from_: From = None,
    to: To = None,
) -> Response:
    caller.require("daily:read")
    t = daily_aggregations
    query = sa.select(t).where(
        *of_venues(caller.person, t.c.venue_id, venue), *within(t.c.business_date, from_, to)
    )
    return page(db, caller.person, "daily", query, [t.c.venue_id, t.c.business_date], limit, cursor)


@router.get("/kpis", response_model=Page[Kpi], summary="KPI values per venue, period and KPI")
def kpis(
    caller: CurrentCaller,
    db: ApiWarehouse,
    limit: Limit = 100,
    cursor: Cursor = None,
    venue: Venue = None,
    from_: From = None,
    to: To = None,
    period_type: Annotated[Literal["day", "week", "month"] | None, Query()] = None,
    kpi: Annotated[str | None, Query(max_length=200, pattern=ID_TEXT, description="A KPI key.")] = None,
) -> Response:
    """`from` and `to` bound the period's last day."""
    caller.require("kpis:read")
    t = kpi_calculations
    query = sa.select(t).where(
        *of_venues(caller.person, t.c.venue_id, venue),
        *within(t.c.period_end, from_, to),
        *([t.c.period_type == period_type] if period_type else []),
        *([t.c.kpi_key == kpi] if kpi is not None else []),
    )
    key = [t.c.venue_id, t.c.period_type, t.c.period_start, t.c.kpi_key]
    return page(db, caller.person, "kpis", query, key, limit, cursor)


@router.get("/events", response_model=Page[Event], summary="Each event's performance")
def events(
    caller: CurrentCaller,
    db: ApiWarehouse,
    limit: Limit = 100,
    cursor: Cursor = None,
    venue: Venue = None,
    from_: From = None,
    to: To = None,
) -> Response:
    """`from` and `to` bound the event's business day."""
    caller.require("events:read")
    t = event_performance_analytics
    query = sa.select(t).where(
        *of_venues(caller.person, t.c.venue_id, venue), *within(t.c.business_date, from_, to)
    )
    return page(db, caller.person, "events", query, [t.c.event_id], limit, cursor)


REPORT_JSON = ("filters", "formats", "files", "key_metrics", "warnings")


@router.get("/reports", response_model=Page[Report], summary="Generated reports")
def reports(
    caller: CurrentCaller,
    db: ApiWarehouse,
    limit: Limit = 100,
    cursor: Cursor = None,
    template: Template = None,
    venue: Venue = None,
    from_: From = None,
    to: To = None,
) -> Response:
    """`from` and `to` bound the period's first day."""
    caller.require("reports:read")
    h = report_generation_history
    query = titled(*(c for c in h.columns if c.name in Report.model_fields)).where(
        *of_venues(caller.person, h.c.venue_id, venue),
        *within(h.c.period_first_day, from_, to),
        *([h.c.template_key == template] if template is not None else []),
    )
    return page(db, caller.person, "reports", query, [h.c.generation_id], limit, cursor, REPORT_JSON)


@router.get("/deliveries", response_model=Page[Delivery], summary="Report deliveries, without addresses")
def deliveries(
    caller: CurrentCaller,
    db: ApiWarehouse,
    limit: Limit = 100,
    cursor: Cursor = None,
    template: Template = None,
    venue: Venue = None,
    from_: From = None,
    to: To = None,
) -> Response:
    """`from` and `to` bound the period's first day; the venue is the delivered report's."""
    caller.require("deliveries:read")
    d, h = report_deliveries, report_generation_history
    columns = [c for c in d.columns if c.name not in DELIVERY_LEFT_OUT]
    query = (
        sa.select(*columns, h.c.venue_id)
        .select_from(d.outerjoin(h, h.c.generation_id == d.c.generation_id))
        .where(
            *of_venues(caller.person, h.c.venue_id, venue),
            *within(d.c.period_first_day, from_, to),
            *([d.c.template_key == template] if template is not None else []),
        )
    )
    return page(db, caller.person, "deliveries", query, [d.c.delivery_id], limit, cursor)


# --- The app's side ----------------------------------------------------------------------------


async def invalid_request(request: Request, exc: Exception) -> JSONResponse:
    """A parameter the API cannot take: 422 with one plain sentence; other routes as FastAPI does."""
    assert isinstance(exc, RequestValidationError)
    if not request.url.path.startswith("/api/"):
        return await request_validation_exception_handler(request, exc)
    problems = "; ".join(f"{error['loc'][-1]}: {error['msg']}" for error in exc.errors())
    return JSONResponse({"detail": problems}, 422)


def openapi_of(app: FastAPI):
    """The OpenAPI of the API's routes only: the pages and callbacks are not an API."""

    def openapi() -> dict:
        if app.openapi_schema is None:
            whole = get_openapi(
                title="Backroom Reporting API",
                version="1",
                description=(__doc__ or "").split("\n\n", 1)[1],
                routes=app.routes,
            )
            whole["paths"] = {path: v for path, v in whole["paths"].items() if path.startswith("/api/")}
            app.openapi_schema = whole
        return app.openapi_schema

    return openapi
