"""The access log: a hash chain that names the first entry changed or removed, holds one chain
under concurrent writers, and survives retention."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import threading

import pytest
import sqlalchemy as sa

from backroom_reporting.privacy import audit
from backroom_reporting.warehouse.tables.portal import access_log

NOW = dt.datetime(2026, 11, 29, 9, 0, tzinfo=dt.UTC)


def write_three(db) -> None:
    audit.record(db, "usr-jo", "sign_in", NOW, detail={"how": "password"})
    audit.record(db, "usr-jo", "view", NOW + dt.timedelta(minutes=1), subject="gen-1")
    audit.record(
        db, "usr-jo", "download", NOW + dt.timedelta(minutes=2), subject="gen-1", detail={"format": "pdf"}
    )


def test_each_entry_hashes_the_one_before(databases):
    db = databases.warehouse
    write_three(db)
    entries = audit.entries(db)
    assert [e.action for e in entries] == ["sign_in", "view", "download"]
    assert entries[0].previous_hash == "0" * 64
    for before, after in itertools.pairwise(entries):
        assert after.previous_hash == before.entry_hash
    # The hash is SHA-256 over the previous hash and the entry, as written here independently.
    first = entries[0]
    body = json.dumps(
        ["0" * 64, "2026-11-29T09:00:00.000000+00:00", "usr-jo", "sign_in", None, {"how": "password"}],
        sort_keys=True,
        separators=(",", ":"),
    )
    assert first.entry_hash == hashlib.sha256(body.encode()).hexdigest()
    assert audit.verify(db) is None


@pytest.mark.parametrize(
    "tamper",
    [
        {"subject": "gen-2"},  # what was seen, rewritten
        {"actor": "usr-sam"},  # who saw it
        {"at": NOW + dt.timedelta(hours=5)},  # when
    ],
    ids=["subject", "actor", "time"],
)
def test_an_edited_entry_is_named(databases, tamper):
    db = databases.warehouse
    write_three(db)
    second = audit.entries(db)[1]
    with db.engine.begin() as conn:
        conn.execute(sa.update(access_log).where(access_log.c.entry_id == second.entry_id).values(**tamper))
    assert audit.verify(db).entry_id == second.entry_id


def test_a_removed_entry_is_noticed(databases):
    db = databases.warehouse
    write_three(db)
    second = audit.entries(db)[1]
    with db.engine.begin() as conn:
        conn.execute(sa.delete(access_log).where(access_log.c.entry_id == second.entry_id))
    assert audit.verify(db).action == "download"


def test_concurrent_writers_keep_one_chain(databases):
    db = databases.warehouse
    failures = []

    def five_views(n: int) -> None:
        try:
            for i in range(5):
                audit.record(db, f"usr-{n}", "view", NOW, subject=f"gen-{i}")
        except Exception as exc:
            failures.append(exc)

    threads = [threading.Thread(target=five_views, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    entries = audit.entries(db)
    assert len(entries) == 20
    assert audit.verify(db) is None


def test_retention_prunes_the_oldest_and_says_so(databases):
    db = databases.warehouse
    write_three(db)
    later = NOW + dt.timedelta(days=100)
    audit.record(db, "usr-sam", "view", later, subject="gen-9")
    removed = audit.prune(db, NOW + dt.timedelta(days=90), later)
    assert removed == 3
    entries = audit.entries(db)
    assert [(e.actor, e.action) for e in entries] == [("usr-sam", "view"), ("retention", "log_pruned")]
    assert entries[1].detail["entries_removed"] == 3
    assert audit.verify(db) is None
