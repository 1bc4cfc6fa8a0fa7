"""What delivery passes around: a report ready to go, a parcel for one address, an outcome.

Every channel (email, SMS, Slack, webhook, dashboard, API) takes a Parcel and returns an
Outcome or raises a SendError; the dispatcher around them claims, retries and records
(docs/delivery.md).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Literal, Protocol

from backroom_reporting.subscriptions.service import Recipient, Subscription

Status = Literal[
    "queued",
    "sending",
    "sent",
    "delivered",
    "opened",
    "clicked",
    "failed",
    "bounced",
    "complained",
    "suppressed",
    "unknown",
]
# The lifecycle's happy road, in order: a later report of progress never goes backwards.
PROGRESS: tuple[Status, ...] = ("queued", "sending", "sent", "delivered", "opened", "clicked")
# Where a delivery can end badly. `failed` may be tried again; the others are final.
PROBLEMS: tuple[Status, ...] = ("failed", "bounced", "complained", "suppressed", "unknown")
STATUSES: tuple[Status, ...] = PROGRESS + PROBLEMS
# The provider accepted it: nothing about it is ever sent again.
ACCEPTED: tuple[Status, ...] = ("sent", "delivered", "opened", "clicked", "bounced", "complained")


@dataclasses.dataclass(frozen=True)
class ReportFile:
    format: str
    name: str  # the readable name, e.g. daily_summary_backroom-leeds_2026-11-28.pdf
    path: str  # in the report store
    size_bytes: int


@dataclasses.dataclass(frozen=True)
class Headline:
    """The few figures a short message carries: the night's (or week's) takings, admissions and
    the one warning most worth reading."""

    revenue_pence: int | None
    admissions: int | None
    warning: str | None


@dataclasses.dataclass(frozen=True)
class Stale:
    """Why a report goes out in place of the one due: the due period's report failed, so the
    last good report is sent instead, its figures as of its own period."""

    period: str  # the period due, whose report failed, e.g. 2026-11-21
    period_first_day: dt.date
    period_last_day: dt.date
    reason: str  # why that report failed, in one line


@dataclasses.dataclass(frozen=True)
class DeliverableReport:
    """One generated report, as the channels need it."""

    generation_id: str
    template_key: str
    title: str
    period: str  # the label, e.g. 2026-11-28 or 2026-W47
    period_first_day: dt.date
    period_last_day: dt.date
    venue_id: str | None
    filters: dict[str, str]
    files: tuple[ReportFile, ...]
    # The email body: {"html": path, "text": path, "images": [{"cid": ..., "path": ...}]}.
    email_parts: dict | None
    key_metrics: dict
    warnings: tuple[str, ...]
    headline: Headline
    generated_at: dt.datetime
    # Set when this is the last good report sent because the due one failed.
    stale: Stale | None = None

    @property
    def due_period(self) -> tuple[str, dt.date, dt.date]:
        """The period this delivery stands for: the report's own, or, for a stale report, the
        period whose report failed."""
        if self.stale is None:
            return self.period, self.period_first_day, self.period_last_day
        return self.stale.period, self.stale.period_first_day, self.stale.period_last_day


@dataclasses.dataclass(frozen=True)
class Parcel:
    """One report for one address on one channel: what a delivery row stands for."""

    delivery_id: str
    channel: str
    address: str
    subscription: Subscription
    recipient: Recipient
    report: DeliverableReport


@dataclasses.dataclass(frozen=True)
class Outcome:
    status: Status  # sent, or delivered where the channel knows at once (dashboard, API)
    provider_message_id: str | None = None
    detail: str | None = None


class SendError(Exception):
    """The provider did not take the message. `retryable`: trying again later may work (a 4xx
    SMTP reply, a 429 or 5xx, a connection refused); `retry_after`: the provider said when;
    `status`: how the delivery ends when it is not retried (failed, or bounced for an address
    the provider says does not exist)."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        status: Status = "failed",
    ):
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status


class CannotTell(Exception):
    """The provider cannot be asked whether it took a message."""


class Channel(Protocol):
    name: str
    # At most this many sends at once, and this many per second: the provider's limits.
    concurrency: int
    per_second: float

    def send(self, parcel: Parcel) -> Outcome:
        """Hand the parcel to the provider; raise SendError when it does not take it."""
        ...

    def look_up(self, parcel: Parcel) -> Outcome | None:
        """After a crash between claim and record: the provider's record of the parcel, None
        when it has none (it was never sent); raise CannotTell when it cannot be asked."""
        ...
