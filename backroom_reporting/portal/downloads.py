"""Signed downloads, a delivery's report page, and a recipient's dashboard of delivered reports."""

from __future__ import annotations

import mimetypes
from itertools import groupby

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse

from backroom_reporting.delivery import ledger, links
from backroom_reporting.portal.pages import Refusal, page
from backroom_reporting.portal.reports import figures, reports_of
from backroom_reporting.portal.state import Store, Warehouse
from backroom_reporting.portal.tokens import READ_DELIVERIES
from backroom_reporting.portal.viewers import CurrentViewer

router = APIRouter()

# Set here rather than trusted to the host's mime.types, which may not know xlsx.
MEDIA_TYPES = {
    "pdf": "application/pdf",
    "html": "text/html; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}


def media_type(name: str) -> str:
    extension = name.rsplit(".", 1)[-1].lower()
    return MEDIA_TYPES.get(extension) or mimetypes.guess_type(name)[0] or "application/octet-stream"


@router.get("/d/{token}", name="download")
def download(token: str, store: Store) -> FileResponse:
    """A report file under its readable name, for as long as the signed link lasts."""
    payload = links.read("download", token)
    try:
        path = store.path_of(payload["p"])
    except ValueError:
        raise Refusal("this download link does not point at a report file") from None
    if not path.is_file():
        raise Refusal(
            "this report's file has been removed: files are kept for a limited time after the report", 410
        )
    # Always an attachment: an HTML report opened from here must not run as the portal's page.
    return FileResponse(path, media_type=media_type(payload["n"]), filename=payload["n"])


@router.get("/r/{token}", name="report", response_class=HTMLResponse)
def report_page(request: Request, token: str, db: Warehouse) -> HTMLResponse:
    """One delivery's report: title, period, key figures, warnings and its files."""
    payload = links.read("report", token)
    delivery = ledger.get(db, payload["d"])
    report = reports_of(db, [delivery]).get(delivery.delivery_id) if delivery else None
    if report is None:
        raise Refusal("this report is no longer kept", 404)
    return page(request, "report.html", report=report, figures=figures(report), delivery=delivery)


@router.get("/recipients/{recipient_id}/reports", name="dashboard", response_class=HTMLResponse)
def dashboard(request: Request, recipient_id: str, viewer: CurrentViewer, db: Warehouse) -> HTMLResponse:
    """Every report delivered to the recipient, newest first, on whichever channels it went."""
    viewer.require(READ_DELIVERIES)
    if viewer.recipient_id != recipient_id:
        raise Refusal("this dashboard link was made for someone else")
    deliveries = ledger.of_recipient(db, recipient_id)
    reports = reports_of(db, deliveries)
    shown = [d for d in deliveries if d.delivery_id in reports]
    shown.sort(key=lambda d: (reports[d.delivery_id].generated_at, d.generation_id), reverse=True)
    # One entry per report generation, with the channels it went by.
    entries = [
        (reports[group[0].delivery_id], group)
        for group in (list(g) for _, g in groupby(shown, key=lambda d: d.generation_id))
    ]
    return page(request, "dashboard.html", entries=entries, recipient_id=recipient_id)
