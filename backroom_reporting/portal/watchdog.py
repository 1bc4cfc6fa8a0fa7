"""The web app watches the watchers: while it runs it checks the alert sensors' heartbeat every
minute (backroom_reporting/alerting/watchdog.py), paging on call when they have stopped, and
/healthz says whether they tick, for a load balancer or an uptime check."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse

from backroom_reporting import settings
from backroom_reporting.alerting import watchdog
from backroom_reporting.alerting.on_call import parse_on_call
from backroom_reporting.alerting.paging import Pager
from backroom_reporting.alerting.rules import parse_rules
from backroom_reporting.portal.state import Warehouse, in_app_warehouse
from backroom_reporting.warehouse.database import Database

router = APIRouter()
log = logging.getLogger(__name__)
CHECK_EVERY = 60.0  # seconds


def check(db: Database) -> str:
    """One watchdog check, with the rules and on-call list as they are now."""
    pager = Pager(db, parse_on_call(settings.ON_CALL.get()).roster(db))
    found, _ = watchdog.watch(db, parse_rules(settings.ALERT_RULES.get()), pager, dt.datetime.now(dt.UTC))
    return found


async def keep_watch(app: FastAPI, every: float) -> None:
    """Check every `every` seconds until the app stops; a failed check is logged, and the next
    one tries again (the watchdog must outlive a bad minute)."""
    while True:
        try:
            log.info("watchdog: %s", await in_app_warehouse(app, check))
        except Exception:
            log.exception("watchdog: the check failed")
        await asyncio.sleep(every)


@router.get("/healthz")
def healthz(db: Warehouse) -> JSONResponse:
    """200 while the alert sensors tick within the sensors_silent rule's minutes, else 503."""
    now = dt.datetime.now(dt.UTC)
    quiet = watchdog.silence(db, now)
    rules = parse_rules(settings.ALERT_RULES.get()).of_kind("sensors_silent")
    limit = min((dt.timedelta(minutes=r.thresholds["minutes"]) for r in rules), default=None)
    if quiet is None:
        return JSONResponse({"sensors": "never ticked", "detail": "the alert sensors have not run here yet"})
    body = {"last_tick": (now - quiet).isoformat(), "silent_for_seconds": int(quiet.total_seconds())}
    if limit is not None and quiet > limit:
        minutes = int(quiet.total_seconds() // 60)
        detail = f"the alert sensors have not ticked for {minutes} min; the Dagster daemon may be down"
        return JSONResponse({"sensors": "silent", "detail": detail, **body}, status_code=503)
    return JSONResponse({"sensors": "ticking", **body})
