"""A stand-in for Fatsoma's API on 127.0.0.1, serving JSON:API documents as docs/connectors.md
describes them: `data` of records `{id, type, attributes, relationships}`, `links.next` to the
following page (an opaque `page[cursor]`), `filter[updated-at][gte]` for what changed since.

Records are served in the order they were added, not sorted, so a test decides what "pages
out of order" and "duplicates" look like. Faults queued with `fail_next` answer the next
requests instead of a page: a Reply (a 429 or a 500), or a number of seconds to stall before
answering (longer than the client's timeout, a timeout).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from urllib.parse import urlencode

from tests.delivery.loopback import Loopback, Reply, Request

UTC = dt.UTC


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def event(
    event_id: str,
    name: str,
    starts: dt.datetime,
    ends: dt.datetime,
    updated: dt.datetime,
    *,
    location: str = "loc-leeds",
    status: str = "active",
    capacity: int = 300,
    price: int = 1200,
) -> dict:
    return {
        "id": event_id,
        "type": "events",
        "attributes": {
            "name": name,
            "starts-at": iso(starts),
            "ends-at": iso(ends),
            "status": status,
            "capacity": capacity,
            "price-sub-unit": price,
            "currency": "GBP",
            "updated-at": iso(updated),
            "vanity-name": event_id[-6:],
        },
        "relationships": {
            "location": {"data": {"type": "locations", "id": location}},
            "page": {"data": {"type": "pages", "id": "page-backroom"}},
        },
    }


def order(
    order_id: str,
    event_id: str,
    created: dt.datetime,
    updated: dt.datetime,
    *,
    quantity: int = 2,
    total: int = 2400,
    fee: int = 240,
    status: str = "completed",
    refunded: dt.datetime | None = None,
) -> dict:
    return {
        "id": order_id,
        "type": "orders",
        "attributes": {
            "quantity": quantity,
            "total-sub-unit": total,
            "fee-sub-unit": fee,
            "currency": "GBP",
            "status": status,
            "created-at": iso(created),
            "refunded-at": iso(refunded) if refunded else None,
            "updated-at": iso(updated),
            # Personal data the connector must not land (it asks for a sparse fieldset).
            "buyer-email": f"{order_id}@buyers.example",
        },
        "relationships": {"event": {"data": {"type": "events", "id": event_id}}},
    }


def _updated(record: dict) -> dt.datetime | None:
    text = (record.get("attributes") or {}).get("updated-at")
    return dt.datetime.fromisoformat(text) if text else None


class FatsomaStub:
    def __init__(self, server: Loopback, page_size_cap: int = 3):
        self.server = server
        self.records: dict[str, list[dict]] = {"events": [], "orders": []}
        self.page_size_cap = page_size_cap
        self._faults: list[Reply | float] = []
        self._lock = threading.Lock()
        server.route("GET", r"/v1/(events|orders)", self._collection)

    @property
    def base_url(self) -> str:
        return f"{self.server.url}/v1"

    def fail_next(self, *faults: Reply | float) -> None:
        with self._lock:
            self._faults.extend(faults)

    def pages_served(self, collection: str) -> list[Request]:
        return self.server.received("GET", f"/v1/{collection}")

    def _collection(self, request: Request, match) -> Reply:
        with self._lock:
            fault = self._faults.pop(0) if self._faults else None
        if isinstance(fault, Reply):
            return fault
        if fault is not None:
            time.sleep(fault)
        collection = match.group(1)
        query = {k: v[-1] for k, v in request.query.items()}
        rows = self.records[collection]
        since = query.get("filter[updated-at][gte]")
        if since:
            after = dt.datetime.fromisoformat(since.replace("Z", "+00:00"))
            # A record without an updated-at is always served (the connector must cope with it).
            rows = [r for r in rows if _updated(r) is None or _updated(r) >= after]
        size = min(int(query.get("page[size]", "25")), self.page_size_cap)
        start = int(query.get("page[cursor]", "0"))
        page = rows[start : start + size]
        following = None
        if start + size < len(rows):
            following = f"{self.base_url}/{collection}?"
            following += urlencode({**query, "page[cursor]": str(start + size)})
        return Reply(
            200,
            {"data": page, "links": {"next": following}, "meta": {"page-size": size, "total": len(rows)}},
        )
