"""Pulling Stripe's lists (charges, refunds, disputes, payouts) through the official SDK.

One list call per page, `created[gte]`/`created[lt]` bounding the pull and `starting_after` the
last id seen: the SDK's `auto_paging_iter` cannot resume after a rate limit, nor step past a
record that has no id. Pages are asked through the client's `raw_request` (the SDK's own
transport, authentication, retries and errors) and read as plain JSON: building a StripeObject
for every record was most of a pull's time (benchmarks/bench_stripe.py). The SDK retries
5xx answers and dropped connections itself (`max_network_retries`); Stripe's 429s it leaves to
the caller, so a rate-limited page is asked for again after `Retry-After` (or an exponential
wait), a bounded number of times. A record that comes twice (pages shift when records are
created while paging) is kept once, as last seen.

The SDK is imported when a pull runs, not when the code location loads (it takes 0.4 s).
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from backroom_reporting.connectors.http import retry_after

if TYPE_CHECKING:
    import stripe

PAGE_SIZE = 100  # Stripe's largest page
# The SDK service of each table's objects.
SERVICES = {
    "stripe_charges": "charges",
    "stripe_refunds": "refunds",
    "stripe_disputes": "disputes",
    "stripe_payouts": "payouts",
}


@dataclass
class Pulled:
    """What one pull found: each record once (those without an id, each as found)."""

    records: list[dict] = field(default_factory=list)
    pages: int = 0
    duplicates: int = 0
    rate_limited: int = 0


def client(api_key: str, base_url: str | None, max_network_retries: int) -> stripe.StripeClient:
    import stripe

    addresses = {"api": base_url.rstrip("/")} if base_url else None
    return stripe.StripeClient(api_key, base_addresses=addresses, max_network_retries=max_network_retries)


def _wait_after(fault: stripe.RateLimitError, attempt: int, first_wait: float) -> float:
    """Stripe's Retry-After when it sent one, else an exponential wait."""
    headers = fault.headers or {}
    given = retry_after(headers.get("Retry-After") or headers.get("retry-after"), dt.datetime.now(dt.UTC))
    return given if given is not None else first_wait * 2 ** (attempt - 1)


def pull(
    sdk: stripe.StripeClient,
    table: str,
    since: dt.datetime,
    until: dt.datetime,
    *,
    rate_limit_retries: int = 5,
    first_wait: float = 1.0,
) -> Pulled:
    """Every object of `table` created in [since, until), page by page."""
    import stripe

    path = f"/v1/{SERVICES[table]}"
    params = {"limit": PAGE_SIZE, "created": {"gte": int(since.timestamp()), "lt": int(until.timestamp())}}
    found, unnamed, pulled = {}, [], Pulled()
    after: str | None = None
    limited_in_a_row = 0
    while True:
        try:
            page = sdk.raw_request("get", path, **params, **({"starting_after": after} if after else {})).data
        except stripe.RateLimitError as fault:
            limited_in_a_row += 1
            pulled.rate_limited += 1
            if limited_in_a_row > rate_limit_retries:
                raise
            time.sleep(_wait_after(fault, limited_in_a_row, first_wait))
            continue
        limited_in_a_row = 0
        pulled.pages += 1
        last = None
        for record in page.get("data") or []:
            key = record.get("id") if isinstance(record, dict) else None
            if not isinstance(key, str) or not key:
                # Kept to be quarantined (as an object, so its contract check can name what is missing).
                unnamed.append(record if isinstance(record, dict) else {"not_an_object": record})
                continue
            if key in found:
                pulled.duplicates += 1
                del found[key]  # re-inserted below: kept as last seen
            found[key] = record
            last = key
        # A page that adds nothing to follow (no record with an id) cannot be paged past.
        if page.get("has_more") is not True or last is None or last == after:
            break
        after = last
    pulled.records = [*found.values(), *unnamed]
    return pulled
