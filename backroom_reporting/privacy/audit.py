"""The access log: every sign-in, view, download, API call and erasure, as a hash chain.

Each entry's hash is SHA-256 over the previous entry's hash and the entry itself, so
changing or deleting an entry in the middle breaks every hash after it, and `verify` names
the first entry that no longer fits. Writers take turns: on PostgreSQL behind a transaction
advisory lock; on SQLite `previous_hash` is unique, so of two writers that read the same
last entry only one extends the chain and the other retries on the new end.
Retention removes the oldest entries (`prune`) and records that it did, with the hash the
remaining chain starts from.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json

import sqlalchemy as sa

from backroom_reporting.warehouse.database import Database
from backroom_reporting.warehouse.tables.portal import access_log

GENESIS = "0" * 64
ATTEMPTS = 20
# Any fixed number: it names the log's lock among the server's advisory locks.
CHAIN_LOCK = 8_442_017


@dataclasses.dataclass(frozen=True)
class Entry:
    entry_id: int
    at: dt.datetime
    actor: str
    action: str
    subject: str | None
    detail: dict
    previous_hash: str
    entry_hash: str


def entry_hash(
    previous_hash: str, at: dt.datetime, actor: str, action: str, subject: str | None, detail: dict
) -> str:
    body = json.dumps(
        [
            previous_hash,
            at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            actor,
            action,
            subject,
            detail,
        ],
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()


def _last_hash(conn: sa.Connection) -> str:
    last = conn.execute(
        sa.select(access_log.c.entry_hash).order_by(access_log.c.entry_id.desc()).limit(1)
    ).scalar()
    return last or GENESIS


def record(
    db: Database,
    actor: str,
    action: str,
    now: dt.datetime,
    subject: str | None = None,
    detail: dict | None = None,
) -> str:
    """Append an entry; returns its hash. `detail` must name no customer: it outlives erasure."""
    detail = json.loads(json.dumps(detail or {}, default=str))  # as it will read back
    for attempt in range(ATTEMPTS):
        try:
            with db.engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    conn.execute(sa.select(sa.func.pg_advisory_xact_lock(CHAIN_LOCK)))
                previous = _last_hash(conn)
                digest = entry_hash(previous, now, actor, action, subject, detail)
                conn.execute(
                    sa.insert(access_log).values(
                        at=now,
                        actor=actor,
                        action=action,
                        subject=subject,
                        detail=json.dumps(detail, sort_keys=True),
                        previous_hash=previous,
                        entry_hash=digest,
                    )
                )
            return digest
        except sa.exc.IntegrityError:
            if attempt == ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def entries(db: Database, *where: sa.ColumnElement[bool]) -> list[Entry]:
    with db.engine.connect() as conn:
        rows = conn.execute(sa.select(access_log).where(*where).order_by(access_log.c.entry_id)).mappings()
        return [Entry(**{**row, "detail": json.loads(row["detail"])}) for row in rows]


def recent(
    db: Database, action: str, since: dt.datetime, *, actor: str | None = None, subject: str | None = None
) -> list[dt.datetime]:
    """When `action` was recorded since `since`, by `actor` or about `subject`, oldest first.

    Each is answered by an index of the log ((actor, action, at) or (action, subject, at)), so
    counting one email's or one address's recent refused sign-ins reads only those entries.
    """
    if (actor is None) == (subject is None):
        raise ValueError("name either the actor or the subject")
    by = access_log.c.actor == actor if actor is not None else access_log.c.subject == subject
    query = (
        sa.select(access_log.c.at)
        .where(by, access_log.c.action == action, access_log.c.at >= since)
        .order_by(access_log.c.at)
    )
    with db.engine.connect() as conn:
        return list(conn.execute(query).scalars())


def verify(db: Database) -> Entry | None:
    """The first entry that does not follow from the one before it; None when the chain holds."""
    previous = None
    for entry in entries(db):
        expected_previous = entry.previous_hash if previous is None else previous
        recomputed = entry_hash(
            expected_previous, entry.at, entry.actor, entry.action, entry.subject, entry.detail
        )
        if entry.previous_hash != expected_previous or entry.entry_hash != recomputed:
            return entry
        previous = entry.entry_hash
    return None


def prune(db: Database, before: dt.datetime, now: dt.datetime) -> int:
    """Delete the entries older than `before`, then record that, with the hash the rest starts from."""
    with db.engine.begin() as conn:
        old = conn.execute(
            sa.select(sa.func.count(), sa.func.max(access_log.c.entry_id)).where(access_log.c.at < before)
        ).one()
        count, last_removed = old
        if not count:
            return 0
        kept_from = conn.execute(
            sa.select(access_log.c.previous_hash)
            .where(access_log.c.entry_id > last_removed)
            .order_by(access_log.c.entry_id)
            .limit(1)
        ).scalar()
        conn.execute(sa.delete(access_log).where(access_log.c.entry_id <= last_removed))
    record(
        db,
        "retention",
        "log_pruned",
        now,
        detail={"entries_removed": count, "before": before.isoformat(), "chain_resumes_after": kept_from},
    )
    return count
