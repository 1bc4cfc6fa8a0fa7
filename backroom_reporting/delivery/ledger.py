"""The delivery ledger: report_deliveries and its lifecycle in report_delivery_history.

Exactly once rests on three writes (docs/delivery.md, "Exactly once"):
1. queue: the row is inserted once per idempotency key; a second run finds it there;
2. claim: `queued` (or `failed` for now) -> `sending` in one conditional UPDATE: of two runs racing,
   one changes the row and the other changes nothing and stands back;
3. record: the outcome, written after the provider answered.
A row left in `sending` by a process that died is found by `in_flight` and reconciled.
Each write and its history row share one transaction. Single rows, parameterised SQL:
this is the OLTP side of the warehouse, so it goes through SQLAlchemy rather than ADBC.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib

import polars as pl
import sqlalchemy as sa

from backroom_reporting.delivery.model import ACCEPTED, PROBLEMS, PROGRESS, Parcel, Status
from backroom_reporting.warehouse.database import Database
from backroom_reporting.warehouse.tables.deliveries import report_deliveries, report_delivery_history

DELIVERIES = report_deliveries
HISTORY = report_delivery_history


def delivery_id(subscription_id: str, period: str, channel: str, address: str, *, stale: bool = False) -> str:
    """The idempotency key of (subscription, period, channel, address): the same four, the same key.
    A stale delivery (the last good report, sent because the period's report failed) has a key
    of its own, so the period's fresh report still goes out once when it later succeeds."""
    parts = (subscription_id, period, channel, address, *(("stale",) if stale else ()))
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
    return f"dlv-{digest[:24]}"


@dataclasses.dataclass(frozen=True)
class Delivery:
    """A row of report_deliveries."""

    delivery_id: str
    subscription_id: str
    recipient_id: str
    template_key: str
    period: str
    period_first_day: dt.date
    period_last_day: dt.date
    channel: str
    address: str
    generation_id: str
    # Set on a stale delivery: why the period's own report could not be sent.
    stale_reason: str | None
    status: Status
    status_at: dt.datetime
    detail: str | None
    attempts: int
    retryable: bool | None
    provider_message_id: str | None
    claimed_by: str | None
    queued_at: dt.datetime
    sent_at: dt.datetime | None
    delivered_at: dt.datetime | None
    opened_at: dt.datetime | None
    clicked_at: dt.datetime | None


def _event(conn: sa.Connection, delivery: str, status: Status, at: dt.datetime, detail, source: str) -> None:
    conn.execute(
        sa.insert(HISTORY).values(delivery_id=delivery, status=status, at=at, detail=detail, source=source)
    )


def queue(db: Database, parcels: list[Parcel], now: dt.datetime, source: str) -> list[str]:
    """Insert a `queued` row for each parcel not yet in the ledger; the ids inserted. A parcel
    already there (a re-run, a second tick) keeps its row and its status."""
    if not parcels:
        return []
    ids = [p.delivery_id for p in parcels]
    added = []
    with db.engine.begin() as conn:
        known = set(
            conn.scalars(sa.select(DELIVERIES.c.delivery_id).where(DELIVERIES.c.delivery_id.in_(ids)))
        )
        for parcel in parcels:
            if parcel.delivery_id in known:
                continue
            report = parcel.report
            period, first_day, last_day = report.due_period
            conn.execute(
                sa.insert(DELIVERIES).values(
                    delivery_id=parcel.delivery_id,
                    subscription_id=parcel.subscription.subscription_id,
                    recipient_id=parcel.recipient.recipient_id,
                    template_key=report.template_key,
                    period=period,
                    period_first_day=first_day,
                    period_last_day=last_day,
                    channel=parcel.channel,
                    address=parcel.address,
                    generation_id=report.generation_id,
                    stale_reason=report.stale.reason if report.stale else None,
                    status="queued",
                    status_at=now,
                    attempts=0,
                    queued_at=now,
                )
            )
            what = f"report {report.generation_id}"
            if report.stale:
                what = f"stale: report {report.generation_id} of {report.period}; {report.stale.reason}"
            _event(conn, parcel.delivery_id, "queued", now, what, source)
            known.add(parcel.delivery_id)
            added.append(parcel.delivery_id)
    return added


def claimable() -> sa.ColumnElement[bool]:
    """Never sent, or refused for now (a refusal for good is final)."""
    return sa.or_(
        DELIVERIES.c.status == "queued", sa.and_(DELIVERIES.c.status == "failed", DELIVERIES.c.retryable)
    )


def claim(db: Database, delivery: str, now: dt.datetime, source: str, max_attempts: int) -> bool:
    """Take the delivery for sending: True when this caller may send it now, False when it is
    taken, done, or out of attempts."""
    with db.engine.begin() as conn:
        taken = conn.execute(
            sa.update(DELIVERIES)
            .where(
                DELIVERIES.c.delivery_id == delivery,
                claimable(),
                DELIVERIES.c.attempts < max_attempts,
            )
            .values(
                status="sending",
                status_at=now,
                attempts=DELIVERIES.c.attempts + 1,
                claimed_by=source,
                detail=None,
                retryable=None,
            )
        ).rowcount
        if taken:
            attempt = conn.scalar(
                sa.select(DELIVERIES.c.attempts).where(DELIVERIES.c.delivery_id == delivery)
            )
            _event(conn, delivery, "sending", now, f"attempt {attempt}", source)
    return bool(taken)


def record(
    db: Database,
    delivery: str,
    status: Status,
    now: dt.datetime,
    source: str,
    detail: str | None = None,
    provider_message_id: str | None = None,
    retryable: bool | None = None,
) -> None:
    """The outcome of a claimed send (or of a delivery settled without one: suppressed, unknown);
    for a failure, whether trying again may work."""
    values: dict = {
        "status": status,
        "status_at": now,
        "detail": detail,
        "claimed_by": None,
        "retryable": retryable if status == "failed" else None,
    }
    if provider_message_id is not None:
        values["provider_message_id"] = provider_message_id
    if status in ("sent", "delivered"):
        values["sent_at"] = now
    if status == "delivered":
        values["delivered_at"] = now
    with db.engine.begin() as conn:
        conn.execute(sa.update(DELIVERIES).where(DELIVERIES.c.delivery_id == delivery).values(**values))
        _event(conn, delivery, status, now, detail, source)


def note_retry(db: Database, delivery: str, now: dt.datetime, source: str, detail: str) -> None:
    """A transient refusal inside a claim: counted as an attempt, the claim kept."""
    with db.engine.begin() as conn:
        conn.execute(
            sa.update(DELIVERIES)
            .where(DELIVERIES.c.delivery_id == delivery)
            .values(attempts=DELIVERIES.c.attempts + 1, detail=detail, status_at=now)
        )
        _event(conn, delivery, "sending", now, detail, source)


def _rank(status: str) -> int:
    return PROGRESS.index(status) if status in PROGRESS else len(PROGRESS)


def report_event(
    db: Database, delivery: str, status: Status, at: dt.datetime, source: str, detail: str | None = None
) -> bool:
    """What a provider or a reader says happened after the send (delivered, opened, clicked,
    bounced, complained). Progress only moves forward; a bounce or complaint overrides it.
    Every report is kept in the history; returns whether the current status changed."""
    moment_column = {"delivered": "delivered_at", "opened": "opened_at", "clicked": "clicked_at"}
    with db.engine.begin() as conn:
        row = conn.execute(
            sa.select(DELIVERIES.c.status, *(DELIVERIES.c[c] for c in moment_column.values())).where(
                DELIVERIES.c.delivery_id == delivery
            )
        ).one_or_none()
        if row is None:
            raise KeyError(delivery)
        _event(conn, delivery, status, at, detail, source)
        current = row.status
        values: dict = {}
        # The first time of each step is the one kept (a second open is still in the history).
        if status in moment_column and getattr(row, moment_column[status]) is None:
            values[moment_column[status]] = at
        if status == "clicked" and row.opened_at is None:
            values["opened_at"] = at  # a click is an open the pixel did not see
        moves = (status in PROBLEMS and current not in ("bounced", "complained")) or (
            status in PROGRESS
            and current in ACCEPTED
            and current in PROGRESS
            and _rank(status) > _rank(current)
        )
        if moves:
            values |= {"status": status, "status_at": at, "detail": detail}
        if values:
            conn.execute(sa.update(DELIVERIES).where(DELIVERIES.c.delivery_id == delivery).values(**values))
    return moves


def note(db: Database, delivery: str, at: dt.datetime, source: str, detail: str) -> None:
    """What a provider said that changes nothing (a deferral, a soft bounce): kept in the
    history under the delivery's current status."""
    with db.engine.begin() as conn:
        current = conn.scalar(sa.select(DELIVERIES.c.status).where(DELIVERIES.c.delivery_id == delivery))
        if current is None:
            raise KeyError(delivery)
        _event(conn, delivery, current, at, detail, source)


def _deliveries(db: Database, *where: sa.ColumnElement[bool]) -> list[Delivery]:
    with db.engine.connect() as conn:
        rows = conn.execute(sa.select(DELIVERIES).where(*where).order_by(DELIVERIES.c.queued_at)).mappings()
        return [Delivery(**row) for row in rows]


def get(db: Database, delivery: str) -> Delivery | None:
    found = _deliveries(db, DELIVERIES.c.delivery_id == delivery)
    return found[0] if found else None


def by_ids(db: Database, ids: list[str]) -> dict[str, Delivery]:
    if not ids:
        return {}
    return {d.delivery_id: d for d in _deliveries(db, DELIVERIES.c.delivery_id.in_(ids))}


def by_provider_id(db: Database, provider_message_id: str) -> Delivery | None:
    found = _deliveries(db, DELIVERIES.c.provider_message_id == provider_message_id)
    return found[0] if found else None


def of_subscription(db: Database, subscription_id: str, period: str | None = None) -> list[Delivery]:
    where = [DELIVERIES.c.subscription_id == subscription_id]
    if period is not None:
        where.append(DELIVERIES.c.period == period)
    return _deliveries(db, *where)


def of_recipient(db: Database, recipient_id: str) -> list[Delivery]:
    """Every delivery to a recipient, on every channel, oldest first."""
    return _deliveries(db, DELIVERIES.c.recipient_id == recipient_id)


def in_flight(db: Database) -> list[Delivery]:
    """Deliveries claimed and not yet recorded: being sent now, or left by a process that died."""
    return _deliveries(db, DELIVERIES.c.status == "sending")


def awaiting_fresh(db: Database, since: dt.datetime) -> list[Delivery]:
    """One stale delivery (queued since `since`) per (subscription, period) whose fresh report
    has not yet been queued: the periods whose report is still to be made again."""
    stale = DELIVERIES.alias("stale")
    fresh = sa.select(DELIVERIES.c.delivery_id).where(
        DELIVERIES.c.subscription_id == stale.c.subscription_id,
        DELIVERIES.c.period == stale.c.period,
        DELIVERIES.c.stale_reason.is_(None),
    )
    with db.engine.connect() as conn:
        rows = conn.execute(
            sa.select(stale)
            .where(stale.c.stale_reason.is_not(None), stale.c.queued_at >= since, ~sa.exists(fresh))
            .order_by(stale.c.queued_at)
        ).mappings()
        first = {}
        for row in rows:
            first.setdefault((row["subscription_id"], row["period"]), Delivery(**row))
    return list(first.values())


def held(db: Database) -> list[Delivery]:
    """Email deliveries queued with a reason: held until their address is verified."""
    return _deliveries(
        db, DELIVERIES.c.status == "queued", DELIVERIES.c.channel == "email", DELIVERIES.c.detail.is_not(None)
    )


def history(db: Database, delivery: str | None = None) -> pl.DataFrame:
    where = () if delivery is None else (HISTORY.c.delivery_id == delivery,)
    return db.read_table(HISTORY, *where)


def may_send(row: Delivery, max_attempts: int) -> bool:
    """What `claim` would allow, read from a row already in hand."""
    fresh = row.status == "queued" or (row.status == "failed" and row.retryable)
    return bool(fresh) and row.attempts < max_attempts
