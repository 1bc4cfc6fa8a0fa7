"""The `api` channel: a delivery's report metadata and signed file links, as JSON, by bearer token."""

from __future__ import annotations

import dataclasses

from fastapi import APIRouter, HTTPException

from backroom_reporting.delivery import ledger
from backroom_reporting.portal.reports import reports_of
from backroom_reporting.portal.state import Warehouse
from backroom_reporting.portal.tokens import READ_DELIVERIES
from backroom_reporting.portal.viewers import CurrentViewer

router = APIRouter(prefix="/api")

LIFECYCLE = ("queued_at", "sent_at", "delivered_at", "opened_at", "clicked_at")


@router.get("/deliveries/{delivery_id}", name="api_delivery")
def delivery(delivery_id: str, viewer: CurrentViewer, db: Warehouse) -> dict:
    viewer.require(READ_DELIVERIES)
    found = ledger.get(db, delivery_id)
    # Another recipient's delivery is answered as if it did not exist: ids are not to be probed.
    if found is None or found.recipient_id != viewer.recipient_id:
        raise HTTPException(404, f"there is no delivery {delivery_id} for this token")
    report = reports_of(db, [found]).get(delivery_id)
    if report is None:
        raise HTTPException(404, f"the report of delivery {delivery_id} is no longer kept")
    return {
        "delivery_id": found.delivery_id,
        "subscription_id": found.subscription_id,
        "channel": found.channel,
        "status": found.status,
        "status_at": found.status_at,
        "detail": found.detail,
        "lifecycle": {moment: getattr(found, moment) for moment in LIFECYCLE},
        "report": {
            "generation_id": report.generation_id,
            "title": report.title,
            "template": report.template_key,
            "period": report.period,
            "period_first_day": report.period_first_day,
            "period_last_day": report.period_last_day,
            "venue_id": report.venue_id,
            "filters": report.filters,
            "key_metrics": report.key_metrics,
            "warnings": report.warnings,
            "generated_at": report.generated_at,
            "files_removed_at": report.files_removed_at,
        },
        "files": [dataclasses.asdict(f) for f in report.files],
    }
