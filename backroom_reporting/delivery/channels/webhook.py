"""Webhooks: the report's key figures and download links, POSTed as JSON to the subscription's
URL and signed per the Standard Webhooks specification (standardwebhooks.com).

    webhook-id: the delivery id, the same on every retry, so a receiver can drop a repeat
    webhook-timestamp: seconds since the epoch
    webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body"> (two, space-separated,
                       for a day after the secret is rotated: the new secret's and the old one's)

A receiver cannot be asked what it received, so `look_up` cannot tell. A subscription with
no URL gets its payload written to the outbox instead.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

import httpx
from standardwebhooks import Webhook

from backroom_reporting.connectors.http import retry_after
from backroom_reporting.delivery import links
from backroom_reporting.delivery.model import CannotTell, Outcome, Parcel, SendError
from backroom_reporting.delivery.outbox import Outbox
from backroom_reporting.subscriptions.service import Subscription

EVENT_TYPE = "report.delivered"
TIMEOUT_SECONDS = 15
# After a rotation the old secret still signs for this long, while the receiver changes over.
ROTATION_OVERLAP = dt.timedelta(hours=24)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def payload(parcel: Parcel, now: dt.datetime) -> dict:
    """The event: what the report is, its key figures, a signed link to each of its files, and
    whether it is stale."""
    report = parcel.report
    files = [
        {
            "format": f.format,
            "name": f.name,
            "size_bytes": f.size_bytes,
            "url": links.url("download", {"d": parcel.delivery_id, "p": f.path, "n": f.name}),
        }
        for f in report.files
    ]
    return {
        "type": EVENT_TYPE,
        "timestamp": now.isoformat(),
        "data": {
            "delivery_id": parcel.delivery_id,
            "subscription_id": parcel.subscription.subscription_id,
            "title": report.title,
            "template": report.template_key,
            "period": report.period,
            "period_first_day": report.period_first_day.isoformat(),
            "period_last_day": report.period_last_day.isoformat(),
            "venue_id": report.venue_id,
            "filters": report.filters,
            "generated_at": report.generated_at.isoformat(),
            "revenue_pence": report.headline.revenue_pence,
            "admissions": report.headline.admissions,
            "key_metrics": report.key_metrics,
            "warnings": list(report.warnings),
            "files": files,
            # Null for a fresh report; for the last good report sent because the period due
            # failed: that period and why (the figures above are of `period`).
            "stale": None
            if report.stale is None
            else {
                "period": report.stale.period,
                "period_first_day": report.stale.period_first_day.isoformat(),
                "period_last_day": report.stale.period_last_day.isoformat(),
                "reason": report.stale.reason,
            },
        },
    }


def signing_secrets(subscription: Subscription, now: dt.datetime) -> list[str]:
    """The secrets that sign now: the current one, and the previous one within a day of a rotation."""
    secrets = [subscription.webhook_secret] if subscription.webhook_secret else []
    rotated = subscription.webhook_secret_rotated_at
    if subscription.webhook_previous_secret and rotated is not None and now - rotated < ROTATION_OVERLAP:
        secrets.append(subscription.webhook_previous_secret)
    return secrets


def signed_headers(message_id: str, body: str, secrets: list[str], now: dt.datetime) -> dict[str, str]:
    signatures = " ".join(Webhook(secret).sign(message_id, now, body) for secret in secrets)
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signatures,
    }


def post_signed(
    http: httpx.Client, url: str, event: dict, message_id: str, secrets: list[str], now: dt.datetime
) -> Outcome:
    """POST one signed event; a 2xx answer is delivery, a SendError says why it was not."""
    body = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
    try:
        answer = http.post(url, content=body.encode(), headers=signed_headers(message_id, body, secrets, now))
    except httpx.TimeoutException as exc:
        raise SendError(f"{url} did not answer within {TIMEOUT_SECONDS} s", retryable=True) from exc
    except httpx.TransportError as exc:
        raise SendError(f"{url} could not be reached ({exc})", retryable=True) from exc
    status = answer.status_code
    if 200 <= status < 300:
        return Outcome("delivered", detail=f"{url} answered {status}")
    if status == 429 or status >= 500:
        wait = retry_after(answer.headers.get("retry-after"), now)
        raise SendError(f"{url} answered {status}", retryable=True, retry_after=wait)
    raise SendError(f"{url} refused the webhook with {status}: {answer.text[:200]}", retryable=False)


class WebhookChannel:
    name = "webhook"
    # Each receiver is a different server; a slow one holds a slot for at most the timeout.
    concurrency = 8
    per_second = 20.0

    def __init__(self, clock: Callable[[], dt.datetime] = _utc_now, outbox: Outbox | None = None) -> None:
        self.outbox = outbox or Outbox()
        self.clock = clock
        self.http = httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False)

    def send(self, parcel: Parcel) -> Outcome:
        now = self.clock()
        event = payload(parcel, now)
        url = parcel.subscription.webhook_url
        if not url:
            return self.outbox.write_json(parcel.delivery_id, self.name, event)
        secrets = signing_secrets(parcel.subscription, now)
        if not secrets:
            raise SendError(
                f"subscription {parcel.subscription.subscription_id} has no webhook secret to sign with",
                retryable=False,
            )
        return post_signed(self.http, url, event, parcel.delivery_id, secrets, now)

    def look_up(self, parcel: Parcel) -> Outcome | None:
        if not parcel.subscription.webhook_url:
            return self.outbox.look_up(parcel.delivery_id, self.name)
        raise CannotTell("a webhook receiver cannot be asked whether it received the report")
