"""Pulling Stripe's lists (charges, refunds, disputes, payouts) through the official SDK.

One list call per page, `created[gte]`/`created[lt]` bounding the pull and `starting_after` the
last id seen: the SDK's `auto_paging_iter` cannot resume after a rate limit, nor step past a
record that has no id. The SDK retries 5xx answers and dropped connections itself
(`max_network_retries`); Stripe's 429s it leaves to the caller, so a rate-limited page is asked
for again after `Retry-After` (or an exponential wait), a bounded number of times. A record that
comes twice (pages shift when records are created while paging) is kept once, as last seen.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field

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
    addresses = {"api": base_url.rstrip("/")} if base_url else None
    return stripe.StripeClient(api_key, base_addresses=addresses, max_network_retries=max_network_retries)


def _wait_after(fault: stripe.RateLimitError, attempt: int, first_wait: float) -> float:
    """Stripe's Retry-After when it sent one, else an exponential wait."""
    headers = fault.headers or {}
    given = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return max(0.0, float(given)) if given is not None else first_wait * 2 ** (attempt - 1)
    except ValueError:
        return first_wait * 2 ** (attempt - 1)


def pull(
    sdk: stripe.StripeClient,
    table: str,
    since: dt.datetime,
    until: dt.datetime,
    *,
    rate_limit_retries: int = 5,
    first_wait: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> Pulled:
    """Every object of `table` created in [since, until), page by page."""
    service = getattr(sdk.v1, SERVICES[table])
    params = {"limit": PAGE_SIZE, "created": {"gte": int(since.timestamp()), "lt": int(until.timestamp())}}
    found, unnamed, pulled = {}, [], Pulled()
    after: str | None = None
    limited_in_a_row = 0
    while True:
        try:
            page = service.list(params={**params, **({"starting_after": after} if after else {})})
        except stripe.RateLimitError as fault:
            limited_in_a_row += 1
            pulled.rate_limited += 1
            if limited_in_a_row > rate_limit_retries:
                raise
            sleep(_wait_after(fault, limited_in_a_row, first_wait))
            continue
        limited_in_a_row = 0
        pulled.pages += 1
        last = None
        for item in page.data:
            record = item.to_dict()
            key = record.get("id")
            if not isinstance(key, str) or not key:
                unnamed.append(record)
                continue
            if key in found:
                pulled.duplicates += 1
                del found[key]  # re-inserted below: kept as last seen
            found[key] = record
            last = key
        # A page that adds nothing to follow (no record with an id) cannot be paged past.
        if not page.has_more or last is None or last == after:
            break
        after = last
    pulled.records = [*found.values(), *unnamed]
    return pulled
