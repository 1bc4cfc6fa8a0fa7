"""Sending parcels exactly once: queue, reconcile what a dead process left, claim, send, record.

Each channel's sends run on a thread pool of its own, as many threads as its provider takes
sends at once, paced to the provider's rate; the channels' pools run side by side, so a slow
or throttled channel (Twilio's one SMS a second) does not hold up the others. A transient
refusal is retried inside the claim with exponential backoff (or the provider's Retry-After);
a permanent one is recorded as failed (or bounced) and not sent.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import datetime as dt
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor

from backroom_reporting.delivery import ledger
from backroom_reporting.delivery.ledger import Delivery
from backroom_reporting.delivery.model import CannotTell, Channel, Parcel, SendError
from backroom_reporting.warehouse.database import Database

# Tries inside one claim (one run), and in all: a delivery refused for now is tried again by
# the run's retries and later runs, up to MAX_ATTEMPTS, then left failed for a person.
TRIES_PER_CLAIM = 3
MAX_ATTEMPTS = 9
# A claim older than this whose run cannot be found is taken as abandoned.
ABANDONED_AFTER = dt.timedelta(minutes=30)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclasses.dataclass(frozen=True)
class Settled:
    """What became of one parcel in this pass."""

    delivery_id: str
    channel: str
    status: str
    detail: str | None
    sent_now: bool  # handed to the provider by this pass


class Pace:
    """At most `per_second` starts per second and `concurrency` sends at once, across threads."""

    def __init__(self, concurrency: int, per_second: float):
        self._slots = threading.BoundedSemaphore(max(1, concurrency))
        self._interval = 1.0 / per_second if per_second > 0 else 0.0
        self._lock = threading.Lock()
        self._next_start = 0.0

    def __enter__(self) -> Pace:
        self._slots.acquire()
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next_start)
            self._next_start = start + self._interval
        if start > now:
            time.sleep(start - now)
        return self

    def __exit__(self, *_exc) -> None:
        self._slots.release()


@dataclasses.dataclass
class Dispatcher:
    db: Database
    channels: Mapping[str, Channel]
    source: str  # the run id (or process) that claims
    clock: Callable[[], dt.datetime] = _utc_now
    sleep: Callable[[float], None] = time.sleep
    backoff_seconds: float = 2.0
    max_attempts: int = MAX_ATTEMPTS
    # Whether the holder of a claim (a run id) may still be sending: in a run, Dagster is asked.
    claim_alive: Callable[[str, dt.datetime], bool] = lambda _holder, claimed_at: (
        _utc_now() - claimed_at < ABANDONED_AFTER
    )
    on_unknown: Callable[[Delivery, str], None] = lambda _delivery, _why: None

    def __post_init__(self) -> None:
        self._paces = {name: Pace(ch.concurrency, ch.per_second) for name, ch in self.channels.items()}

    def deliver(self, parcels: Iterable[Parcel]) -> list[Settled]:
        parcels = list(parcels)
        ledger.queue(self.db, parcels, self.clock(), self.source)
        rows = ledger.by_ids(self.db, [p.delivery_id for p in parcels])
        settled: list[Settled] = []
        to_send: list[Parcel] = []
        for parcel in parcels:
            row = rows[parcel.delivery_id]
            if row.status == "sending":
                row = self._reconcile(parcel, row)
            if ledger.may_send(row, self.max_attempts):
                to_send.append(parcel)
            else:
                settled.append(Settled(row.delivery_id, row.channel, row.status, row.detail, False))
        # A send waiting for its channel's pace holds a thread: in one pool shared by all
        # channels, the SMS waiting on Twilio's rate would take every thread while the emails
        # queued behind them.
        with contextlib.ExitStack() as pools:
            pool = {
                name: pools.enter_context(
                    ThreadPoolExecutor(
                        max_workers=max(1, min(self.channels[name].concurrency, count)),
                        thread_name_prefix=f"deliver-{name}",
                    )
                )
                for name, count in collections.Counter(p.channel for p in to_send).items()
            }
            sending = [pool[parcel.channel].submit(self._send, parcel) for parcel in to_send]
            settled.extend(future.result() for future in sending)
        return settled

    def _reconcile(self, parcel: Parcel, row: Delivery) -> Delivery:
        """A row left `sending`: still being sent by a live run (leave it), or abandoned by a
        process that died between claim and record. Ask the provider; if it cannot be asked,
        mark the delivery unknown and say so, rather than risk sending it twice."""
        now = self.clock()
        if row.claimed_by and self.claim_alive(row.claimed_by, row.status_at):
            return row
        channel = self.channels[parcel.channel]
        source = f"reconcile:{self.source}"
        try:
            found = channel.look_up(parcel)
        except CannotTell as exc:
            why = (
                f"the process sending it stopped before recording the outcome, and {exc}; "
                "it is not sent again without a person deciding"
            )
            ledger.record(self.db, row.delivery_id, "unknown", now, source, why)
            self.on_unknown(row, why)
        else:
            if found is None:
                # The provider never got it: release the claim so it is sent now.
                why = "the provider has no record of it, so it is sent now"
                ledger.record(self.db, row.delivery_id, "failed", now, source, why, retryable=True)
            else:
                ledger.record(
                    self.db,
                    row.delivery_id,
                    found.status,
                    now,
                    source,
                    found.detail or "the provider had taken it before the process stopped",
                    found.provider_message_id,
                )
        return ledger.get(self.db, row.delivery_id)

    def _send(self, parcel: Parcel) -> Settled:
        if not ledger.claim(self.db, parcel.delivery_id, self.clock(), self.source, self.max_attempts):
            row = ledger.get(self.db, parcel.delivery_id)
            return Settled(row.delivery_id, row.channel, row.status, row.detail, False)
        channel = self.channels[parcel.channel]
        attempt = ledger.get(self.db, parcel.delivery_id).attempts
        last_try = min(self.max_attempts, attempt + TRIES_PER_CLAIM - 1)
        while True:
            try:
                with self._paces[parcel.channel]:
                    outcome = channel.send(parcel)
            except SendError as exc:
                if exc.retryable and attempt < last_try:
                    wait = exc.retry_after if exc.retry_after is not None else self._backoff(attempt)
                    ledger.note_retry(
                        self.db,
                        parcel.delivery_id,
                        self.clock(),
                        self.source,
                        f"attempt {attempt} refused ({exc}); trying again in {wait:.1f} s",
                    )
                    attempt += 1
                    self.sleep(wait)
                    continue
                status = exc.status if not exc.retryable else "failed"
                why = (
                    f"{exc}"
                    if not exc.retryable
                    else f"{exc} (attempt {attempt} of at most {self.max_attempts})"
                )
                ledger.record(
                    self.db,
                    parcel.delivery_id,
                    status,
                    self.clock(),
                    self.source,
                    why,
                    retryable=exc.retryable,
                )
                return Settled(parcel.delivery_id, parcel.channel, status, why, False)
            ledger.record(
                self.db,
                parcel.delivery_id,
                outcome.status,
                self.clock(),
                self.source,
                outcome.detail,
                outcome.provider_message_id,
            )
            return Settled(parcel.delivery_id, parcel.channel, outcome.status, outcome.detail, True)

    def _backoff(self, attempt: int) -> float:
        """Exponential, with jitter so a batch refused together does not retry together."""
        return self.backoff_seconds * 2 ** (attempt - 1) * random.uniform(0.75, 1.25)
