"""What every request shares: the warehouse, one request at a time, and the report store."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from backroom_reporting.rendering.store import ReportStore
from backroom_reporting.warehouse.database import Database

T = TypeVar("T")
# The warehouse's Database keeps one connection, which is not shared between threads at once.
_ONE_AT_A_TIME = threading.Lock()


def warehouse(request: Request) -> Iterator[Database]:
    with _ONE_AT_A_TIME:
        yield request.app.state.warehouse


def report_store(request: Request) -> ReportStore:
    return request.app.state.store


async def in_warehouse(request: Request, work: Callable[..., T], *args) -> T:
    """`work(db, *args)` off the event loop, for routes that must read their raw body first."""
    return await in_app_warehouse(request.app, work, *args)


async def in_app_warehouse(app, work: Callable[..., T], *args) -> T:
    """`work(db, *args)` off the event loop, for the app's own background work."""

    def locked() -> T:
        with _ONE_AT_A_TIME:
            return work(app.state.warehouse, *args)

    return await run_in_threadpool(locked)


Warehouse = Annotated[Database, Depends(warehouse)]
Store = Annotated[ReportStore, Depends(report_store)]
