"""The web app: `create_app()` gathers the routers around one warehouse and one report store.

It reads and writes the warehouse (the delivery ledger, consents, API tokens, incidents) and
reads the report store; it never runs Dagster assets. `backroom portal` serves it with uvicorn.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError

from backroom_reporting import settings
from backroom_reporting.delivery.links import LinkError
from backroom_reporting.portal import (
    api,
    api_v1,
    archive,
    callbacks,
    downloads,
    live,
    oncall,
    signin,
    staff_page,
    subscribers,
    tracking,
    watchdog,
)
from backroom_reporting.portal.pages import (
    Refusal,
    link_refused,
    not_permitted,
    route_refused,
    sign_in_needed,
    viewer_refused,
)
from backroom_reporting.portal.people import NotPermitted
from backroom_reporting.portal.sessions import NotSignedIn
from backroom_reporting.portal.viewers import NotAllowed
from backroom_reporting.rendering.store import ReportStore
from backroom_reporting.warehouse.connections import REPORTING_SCHEMA
from backroom_reporting.warehouse.database import Database


def create_app(
    warehouse_url: str | None = None,
    store_dir: Path | str | None = None,
    watch_every: float | None = watchdog.CHECK_EVERY,
) -> FastAPI:
    """The app; with `watch_every` (seconds), it checks the alert sensors' heartbeat that often."""
    db = Database(warehouse_url or settings.WAREHOUSE_URL.get(), search_path=REPORTING_SCHEMA)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        watching = asyncio.create_task(watchdog.keep_watch(app, watch_every)) if watch_every else None
        yield
        if watching:
            watching.cancel()
        db.close()

    # Docs for the API only: api_v1.openapi_of leaves the pages out.
    app = FastAPI(
        title="Backroom Reporting",
        lifespan=lifespan,
        openapi_url=api_v1.OPENAPI,
        docs_url=api_v1.DOCS,
        redoc_url=None,
    )
    app.openapi = api_v1.openapi_of(app)
    app.state.warehouse = db
    app.state.store = ReportStore(store_dir)
    app.middleware("http")(api_v1.record_calls)
    for module in (
        signin,
        downloads,
        api,
        api_v1,
        tracking,
        subscribers,
        callbacks,
        oncall,
        watchdog,
        archive,
        staff_page,
        live,
    ):
        app.include_router(module.router)
    app.add_exception_handler(LinkError, link_refused)
    app.add_exception_handler(NotAllowed, viewer_refused)
    app.add_exception_handler(Refusal, route_refused)
    app.add_exception_handler(NotSignedIn, sign_in_needed)
    app.add_exception_handler(NotPermitted, not_permitted)
    app.add_exception_handler(RequestValidationError, api_v1.invalid_request)
    return app
