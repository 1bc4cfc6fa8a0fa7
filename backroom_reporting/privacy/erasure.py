"""Erasure and export: everything the platform holds about one customer or one recipient.

A customer is named in the warehouse by their id only (raw_customers keeps no name, email or
phone), so their name, email and phone are read from the booking system and from their
quarantined rows, to find them where whole source rows or rendered files could still name
them: raw_quarantine, the report store and the outbox. Facts keep their rows with the id
nulled (or the tombstone where it is required), so every night's figures stay as they were.

Files are searched by their text: HTML, CSV, text and JSON as they are, an email's decoded
parts, a spreadsheet's XML inside its zip. A PDF's text is compressed and re-encoded by its
fonts, so a PDF is judged by the other files of its report: the same content rendered as
HTML, CSV and the email body. When one of them names the person, every file of that report
goes, and the report can be rendered again (docs/privacy.md, "Erasure").
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import email.policy
import hashlib
import json
import re
import zipfile
from pathlib import Path

import polars as pl
import sqlalchemy as sa

from backroom_reporting.metrics.customers import customer_key
from backroom_reporting.privacy import audit
from backroom_reporting.privacy.erased import hashed
from backroom_reporting.privacy.retention import CUSTOMER_FACTS, customer_gone, stored_paths
from backroom_reporting.rendering.store import ReportStore
from backroom_reporting.warehouse.database import Database
from backroom_reporting.warehouse.source_contract import customers as source_customers
from backroom_reporting.warehouse.tables.aggregations import customer_visits
from backroom_reporting.warehouse.tables.customers import customer_analytics, top_customers
from backroom_reporting.warehouse.tables.deliveries import (
    api_tokens,
    consent_events,
    report_deliveries,
    report_delivery_history,
)
from backroom_reporting.warehouse.tables.raw import RAW, erased_customers, raw_quarantine
from backroom_reporting.warehouse.tables.reports import report_generation_history
from backroom_reporting.warehouse.tables.subscriptions import report_recipients, report_subscriptions

# Formats with no text to search: judged by the other files of their report, or never naming anyone.
UNSEARCHABLE = {".pdf", ".png", ".jpg", ".jpeg", ".gif"}


def subject_of(person_id: str) -> str:
    """The access log's subject for an erasure or export: it must not name the person."""
    return "sha256:" + hashed(person_id)


@dataclasses.dataclass(frozen=True)
class Identity:
    """What can name a person in text: their id, and the names, emails and phones found for them."""

    person_id: str
    terms: tuple[str, ...]

    def pattern(self) -> re.Pattern[str]:
        alternatives = "|".join(re.escape(term) for term in sorted(set(self.terms), key=len, reverse=True))
        return re.compile(rf"(?<![\w.@+-])(?:{alternatives})(?![\w@-])", re.IGNORECASE)

    def names_in(self, text: str) -> bool:
        return bool(self.pattern().search(text))


def _terms(*values: object) -> tuple[str, ...]:
    return tuple(str(v).strip() for v in values if v is not None and str(v).strip())


def _personal(values: dict) -> tuple[str, ...]:
    """The identifying values of one customers row (the source's or a quarantined one's)."""
    full_name = " ".join(_terms(values.get("first_name"), values.get("last_name")))
    return _terms(values.get("email"), values.get("phone"), full_name)


def customer_identity(warehouse: Database, source: Database | None, customer_id: str) -> Identity:
    """The customer's id with their email, phone and full name from the booking system and from
    any quarantined customers row of theirs (the warehouse keeps none of them)."""
    terms = [customer_id]
    if source is not None:
        found = source.read(sa.select(source_customers).where(source_customers.c.customer_id == customer_id))
        for row in found.iter_rows(named=True):
            terms += _personal(row)
    q = raw_quarantine.c
    quarantined = warehouse.read_columns(
        q.raw_values, where=(q.source_table == "customers") & (q.record_id == customer_id)
    )
    for values in quarantined["raw_values"]:
        terms += _personal(_json(values))
    return Identity(customer_id, tuple(terms))


def recipient_identity(db: Database, recipient_id: str) -> Identity:
    r = report_recipients.c
    found = db.read_columns(r.name, r.email, r.phone, where=r.recipient_id == recipient_id)
    terms = [recipient_id]
    for row in found.iter_rows(named=True):
        terms += _terms(row["name"], row["email"], row["phone"])
    return Identity(recipient_id, tuple(terms))


def _json(text: str) -> dict:
    try:
        values = json.loads(text)
    except ValueError:
        return {}
    return values if isinstance(values, dict) else {}


# --- files --------------------------------------------------------------------------------------


def text_of(path: Path) -> str | None:
    """The searchable text of a stored or outbox file; None when it has none (PDFs, images)."""
    suffix = path.suffix.lower()
    if suffix in UNSEARCHABLE:
        return None
    content = path.read_bytes()
    if suffix == ".xlsx":
        with zipfile.ZipFile(path) as book:
            return "\n".join(
                book.read(n).decode("utf-8", "replace") for n in book.namelist() if n.endswith(".xml")
            )
    if suffix == ".eml":
        message = email.message_from_bytes(content, policy=email.policy.default)
        parts = [str(value) for _, value in message.items()]
        for part in message.walk():
            if part.get_content_maintype() == "text":
                parts.append(part.get_content())
        return "\n".join(parts)
    return content.decode("utf-8", "replace")


def _files_under(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file())


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def report_files_naming(db: Database, store: ReportStore, identity: Identity) -> tuple[list[Path], list[str]]:
    """(files to delete, generations whose files they are): every stored file whose text names
    the person, every other file of a report one of them belongs to (its PDF), and the copies of
    any of them under latest/."""
    files = _files_under(store.root)
    named = {path for path in files if (text := text_of(path)) is not None and identity.names_in(text)}
    named_digests = {_digest(path) for path in named}
    history = db.read_table(report_generation_history, report_generation_history.c.files_removed_at.is_(None))
    tainted, going = [], set(named_digests)
    for generation in history.iter_rows(named=True):
        paths = stored_paths(pl.DataFrame([generation], schema=history.schema))
        digests = {_digest(store.path_of(p)) for p in paths if store.path_of(p).exists()}
        if digests & named_digests:
            tainted.append(generation["generation_id"])
            going |= digests
    return [path for path in files if path in named or _digest(path) in going], tainted


def outbox_files_naming(outbox: Path, identity: Identity) -> list[Path]:
    return [p for p in _files_under(outbox) if (text := text_of(p)) is not None and identity.names_in(text)]


# --- erasure -------------------------------------------------------------------------------------


Removed = dict[str, int]  # table (or file folder) -> rows or files removed, in the order done


def _remove_files(
    db: Database, store: ReportStore, outbox: Path, identity: Identity, now: dt.datetime
) -> Removed:
    files, generations = report_files_naming(db, store, identity)
    for path in files:
        path.unlink(missing_ok=True)
    if generations:
        with db.engine.begin() as conn:
            conn.execute(
                sa.update(report_generation_history)
                .where(report_generation_history.c.generation_id.in_(generations))
                .values(files_removed_at=now)
            )
    messages = outbox_files_naming(outbox, identity)
    for path in messages:
        path.unlink(missing_ok=True)
    return {
        "report files": len(files),
        "report_generation_history (files removed)": len(generations),
        "outbox files": len(messages),
    }


def quarantined_naming(db: Database, identity: Identity, source_table: str | None = None) -> pl.DataFrame:
    """Quarantined rows whose source values name the person (any value equal to one of their
    terms, or their full name across first and last name), or whose key is theirs."""
    q = raw_quarantine.c
    # A first pass in the database; the second reads each row's values.
    loose = sa.or_(
        *(
            sa.func.lower(column).contains(term.lower())
            for term in identity.terms
            for column in (q.raw_values, q.detail)
        )
    )
    rows = db.read_table(raw_quarantine, loose)
    if source_table:
        rows = rows.filter(pl.col("source_table") == source_table)
    mask = [
        identity.names_in(" ".join(str(v) for v in _json(values).values()) + " " + detail)
        for values, detail in zip(rows["raw_values"], rows["detail"], strict=True)
    ]
    return rows.filter(pl.Series(mask, dtype=pl.Boolean))


def _delete_quarantined(db: Database, identity: Identity) -> int:
    rows = quarantined_naming(db, identity)
    q = raw_quarantine.c
    with db.engine.begin() as conn:
        for row in rows.iter_rows(named=True):
            conn.execute(
                sa.delete(raw_quarantine).where(
                    q.source_table == row["source_table"],
                    q.raw_values == row["raw_values"],
                    q.detail == row["detail"],
                )
            )
    return rows.height


def erase_customer(
    db: Database,
    source: Database | None,
    store: ReportStore,
    outbox: Path,
    customer_id: str,
    pseudonym_key: str,
    actor: str,
    now: dt.datetime,
) -> Removed:
    """Remove the customer from every table and file; what was removed, table by table. Their
    facts stay, without their id, so the nights' figures do not change. The hash of their id
    joins erased_customers, so later loads from the booking system leave them out too."""
    identity = customer_identity(db, source, customer_id)
    removed: Removed = {}
    key = customer_key(customer_id, pseudonym_key)
    erased = erased_customers.c
    with db.engine.begin() as conn:
        listed = (
            sa.select(sa.func.count())
            .select_from(erased_customers)
            .where(erased.customer_hash == hashed(customer_id))
        )
        if conn.scalar(listed) == 0:
            conn.execute(sa.insert(erased_customers).values(customer_hash=hashed(customer_id), erased_at=now))
        customers = RAW["customers"]
        removed["raw_customers"] = conn.execute(
            sa.delete(customers).where(customers.c.customer_id == customer_id)
        ).rowcount
        for name in CUSTOMER_FACTS:
            table = RAW[name.removeprefix("raw_")]
            removed[name] = conn.execute(
                sa.update(table)
                .where(table.c.customer_id == customer_id)
                .values(customer_id=customer_gone(table))
            ).rowcount
        removed["customer_visits"] = conn.execute(
            sa.delete(customer_visits).where(customer_visits.c.customer_id == customer_id)
        ).rowcount
        for table in (customer_analytics, top_customers):
            removed[table.name] = conn.execute(sa.delete(table).where(table.c.customer_key == key)).rowcount
    removed["raw_quarantine"] = _delete_quarantined(db, identity)
    removed |= _remove_files(db, store, outbox, identity, now)
    audit.record(db, actor, "erasure", now, subject_of(customer_id), {"kind": "customer", "removed": removed})
    return removed


def erase_recipient(
    db: Database, store: ReportStore, outbox: Path, recipient_id: str, actor: str, now: dt.datetime
) -> Removed:
    """Remove the recipient, their subscriptions, deliveries, consents and tokens, and every file
    naming them; what was removed, table by table."""
    identity = recipient_identity(db, recipient_id)
    removed: Removed = {}
    deliveries = sa.select(report_deliveries.c.delivery_id).where(
        report_deliveries.c.recipient_id == recipient_id
    )
    with db.engine.begin() as conn:
        removed["report_delivery_history"] = conn.execute(
            sa.delete(report_delivery_history).where(report_delivery_history.c.delivery_id.in_(deliveries))
        ).rowcount
        for table in (report_deliveries, consent_events, api_tokens, report_subscriptions, report_recipients):
            removed[table.name] = conn.execute(
                sa.delete(table).where(table.c.recipient_id == recipient_id)
            ).rowcount
    removed |= _remove_files(db, store, outbox, identity, now)
    audit.record(
        db, actor, "erasure", now, subject_of(recipient_id), {"kind": "recipient", "removed": removed}
    )
    return removed


# --- export --------------------------------------------------------------------------------------


def _rows(db: Database, table: sa.Table, where: sa.ColumnElement[bool]) -> list[dict]:
    return db.read_table(table, where).to_dicts()


def export_customer(
    db: Database,
    source: Database | None,
    store: ReportStore,
    outbox: Path,
    customer_id: str,
    pseudonym_key: str,
    actor: str,
    now: dt.datetime,
) -> dict:
    """Everything the platform holds about the customer, table by table, and the files naming
    them; recorded in the access log as an export."""
    identity = customer_identity(db, source, customer_id)
    key = customer_key(customer_id, pseudonym_key)
    held: dict = {
        "customer_id": customer_id,
        "exported_at": now.isoformat(),
        "customer_key": key,
        "tables": {},
    }
    tables = held["tables"]
    tables["raw_customers"] = _rows(db, RAW["customers"], RAW["customers"].c.customer_id == customer_id)
    for name in CUSTOMER_FACTS:
        table = RAW[name.removeprefix("raw_")]
        tables[name] = _rows(db, table, table.c.customer_id == customer_id)
    tables["customer_visits"] = _rows(db, customer_visits, customer_visits.c.customer_id == customer_id)
    for table in (customer_analytics, top_customers):
        tables[table.name] = _rows(db, table, table.c.customer_key == key)
    tables["raw_quarantine"] = quarantined_naming(db, identity).to_dicts()
    files, _ = report_files_naming(db, store, identity)
    held["report_files"] = [p.relative_to(store.root).as_posix() for p in files]
    held["outbox_files"] = [p.name for p in outbox_files_naming(outbox, identity)]
    audit.record(db, actor, "export", now, subject_of(customer_id), {"kind": "customer"})
    return held
