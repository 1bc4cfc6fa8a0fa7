"""A Stripe API on loopback, written from Stripe's API reference, not from the connector.

List endpoints (`GET /v1/charges`, `/v1/refunds`, `/v1/disputes`, `/v1/payouts`) answer
`{"object": "list", "data": [...], "has_more": ..., "url": ...}`, newest first, honouring
`limit`, `starting_after` and `created[gte]`/`created[gt]`/`created[lt]`/`created[lte]`. Faults
are scripted per path (a 429, a 500, in order), and `overlap` makes every page after the first
start with the last record of the page before (what a list does when records are created while
it is paged). Every request is recorded.
"""

from __future__ import annotations

import bisect
import json
import threading
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

ERRORS = {
    429: {
        "type": "invalid_request_error",
        "code": "rate_limit",
        "message": "Too many requests hit the API too quickly.",
    },
    500: {"type": "api_error", "message": "An unknown error occurred."},
}


def _created(record: dict) -> int:
    """A record's `created`; one without a readable time sorts as the oldest."""
    created = record.get("created")
    return created if isinstance(created, int) else 0


class StripeStub:
    def __init__(self):
        self.objects: dict[str, list[dict]] = defaultdict(list)  # path -> records
        self.faults: dict[str, list[int]] = defaultdict(list)  # path -> statuses to answer, in turn
        self.requests: list[tuple[str, dict[str, list[str]]]] = []
        self.overlap = False
        self._sorted: dict[str, tuple[list[dict], int, list[dict]]] = {}
        self.auth: list[str] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                stub.requests.append((parts.path, query))
                stub.auth.append(self.headers.get("Authorization", ""))
                if stub.faults[parts.path]:
                    status = stub.faults[parts.path].pop(0)
                    headers = {"Retry-After": "0"} if status == 429 else {}
                    return self._send(status, {"error": ERRORS[status]}, headers)
                if parts.path not in {"/v1/charges", "/v1/refunds", "/v1/disputes", "/v1/payouts"}:
                    return self._send(
                        404,
                        {"error": {"type": "invalid_request_error", "message": "Unrecognized request URL"}},
                    )
                self._send(200, stub.page(parts.path, query))

            def _send(self, status: int, body: dict, headers: dict | None = None):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Request-Id", f"req_{len(stub.requests)}")
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _newest_first(self, path: str) -> tuple[list[dict], list[int], dict[str, int]]:
        """The path's records newest first, their negated `created` (ascending, for bisect) and
        each id's place; made again only when the list was changed."""
        current = self.objects[path]
        cached = self._sorted.get(path)
        if cached is None or cached[0] is not current or cached[1] != len(current):
            order = sorted(current, key=lambda r: (_created(r), r.get("id") or ""), reverse=True)
            keys = [-_created(r) for r in order]
            places = {r["id"]: i for i, r in enumerate(order) if isinstance(r.get("id"), str)}
            cached = self._sorted[path] = (current, len(current), (order, keys, places))
        return cached[2]

    def page(self, path: str, query: dict[str, list[str]]) -> dict:
        order, keys, places = self._newest_first(path)
        begin, end = 0, len(order)
        # Newest first, so a lower bound on `created` ends the list and an upper one starts it.
        for name, (side, cut) in {
            "created[gte]": ("end", bisect.bisect_right),
            "created[gt]": ("end", bisect.bisect_left),
            "created[lt]": ("begin", bisect.bisect_right),
            "created[lte]": ("begin", bisect.bisect_left),
        }.items():
            if name in query:
                at = cut(keys, -int(query[name][0]))
                begin, end = (max(begin, at), end) if side == "begin" else (begin, min(end, at))
        start = begin
        if "starting_after" in query:
            place = places[query["starting_after"][0]]
            start = max(begin, place if self.overlap else place + 1)
        limit = min(int(query.get("limit", ["10"])[0]), 100)
        data = order[start : min(start + limit, end)]
        return {"object": "list", "data": data, "has_more": start + limit < end, "url": path}

    def __enter__(self) -> StripeStub:
        self.thread.start()
        return self

    def __exit__(self, *_exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def charge(id: str, created: int, amount: int, venue: str | None, booking: str | None, **fields) -> dict:
    """A charge as Stripe's API reference shows one (the fields the connector may read, and more)."""
    metadata = {k: v for k, v in (("venue_id", venue), ("booking_id", booking)) if v is not None}
    return {
        "id": id,
        "object": "charge",
        "amount": amount,
        "amount_captured": amount,
        "amount_refunded": 0,
        "balance_transaction": f"txn_{id}",
        "captured": True,
        "created": created,
        "currency": "gbp",
        "description": "Table deposit",
        "disputed": False,
        "livemode": False,
        "metadata": metadata,
        "paid": True,
        "payment_intent": f"pi_{id}",
        "refunded": False,
        "status": "succeeded",
        **fields,
    }


def refund(id: str, created: int, amount: int, charge_id: str, **fields) -> dict:
    return {
        "id": id,
        "object": "refund",
        "amount": amount,
        "charge": charge_id,
        "created": created,
        "currency": "gbp",
        "metadata": {},
        "payment_intent": None,
        "reason": "requested_by_customer",
        "status": "succeeded",
        **fields,
    }


def dispute(id: str, created: int, amount: int, charge_id: str, **fields) -> dict:
    return {
        "id": id,
        "object": "dispute",
        "amount": amount,
        "charge": charge_id,
        "created": created,
        "currency": "gbp",
        "metadata": {},
        "reason": "fraudulent",
        "status": "needs_response",
        "is_charge_refundable": False,
        **fields,
    }


def payout(id: str, created: int, amount: int, **fields) -> dict:
    return {
        "id": id,
        "object": "payout",
        "amount": amount,
        "arrival_date": created + 2 * 86_400,
        "created": created,
        "currency": "gbp",
        "metadata": {},
        "method": "standard",
        "status": "paid",
        "type": "bank_account",
        **fields,
    }
