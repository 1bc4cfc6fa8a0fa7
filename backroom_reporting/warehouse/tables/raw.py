"""The raw layer's tables: one per source table, the quarantine, the ledger of loads, and
the customers erased on request, whom every load leaves out.

Time columns of fact tables get BRIN indexes on PostgreSQL and B-tree indexes on SQLite.
"""

from __future__ import annotations

import sqlalchemy as sa

from backroom_reporting.warehouse.source_contract import CONTRACT, Rules
from backroom_reporting.warehouse.tables.metadata import WAREHOUSE
from backroom_reporting.warehouse.types import Count, UtcTimestamp

# Event analytics read a night's tickets, bookings and feedback by event, whatever day
# they were bought or written.
LOOKED_UP_BY_EVENT = ("ticket_sales", "bookings", "feedback")


def _raw_table(rules: Rules) -> sa.Table:
    """raw_<source table>: the contract's columns it keeps, the key as primary key, and for
    facts the business date each row was attributed to."""
    columns = [
        sa.Column(c.name, c.type, nullable=c.nullable, primary_key=c.name == rules.key)
        for c in rules.table.columns
        if c.name not in rules.not_kept
    ]
    indexes = []
    if rules.is_fact:
        columns.append(sa.Column("business_date", sa.Date, nullable=False))
        indexes = [
            sa.Index(None, "business_date"),
            # Windows are replaced by this column; BRIN suits append-mostly time columns.
            sa.Index(None, rules.business_time, postgresql_using="brin"),
        ]
    if rules.name in LOOKED_UP_BY_EVENT:
        indexes.append(sa.Index(None, "event_id"))
    return sa.Table(f"raw_{rules.name}", WAREHOUSE, *columns, *indexes)


RAW: dict[str, sa.Table] = {name: _raw_table(rules) for name, rules in CONTRACT.items()}

raw_quarantine = sa.Table(
    "raw_quarantine",
    WAREHOUSE,
    sa.Column("source_table", sa.Text, nullable=False),
    # The business day whose load found the row; null for snapshots and for fact rows
    # whose time is missing or unreadable (no day can own them).
    sa.Column("business_date", sa.Date, nullable=True),
    sa.Column("record_id", sa.Text, nullable=True),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("raw_values", sa.Text, nullable=False),  # JSON of the source values as text
    sa.Index(None, "source_table", "business_date"),
)

# One row per fact table and night: the raw layer's latest load of that night. `final` is
# true when the load ran after the night closed; the fingerprint (SHA-256 of the night's
# source rows) tells the morning re-check whether the source has changed since.
raw_loads = sa.Table(
    "raw_loads",
    WAREHOUSE,
    sa.Column("source_table", sa.Text, primary_key=True),
    sa.Column("business_date", sa.Date, primary_key=True),
    sa.Column("loaded_at", UtcTimestamp, nullable=False),
    sa.Column("as_of", UtcTimestamp, nullable=False),
    sa.Column("final", sa.Boolean, nullable=False),
    sa.Column("source_rows", Count, nullable=False),
    sa.Column("rows_loaded", Count, nullable=False),
    sa.Column("rows_quarantined", Count, nullable=False),
    sa.Column("fingerprint", sa.Text, nullable=False),
    sa.Index(None, "business_date"),
)

# One row per snapshot table (venues, customers, events, venue tables, staff): its latest
# load. The fingerprint covers the source rows in storage order and the fingerprints of the
# snapshots they refer to, so a load that would write the same rows again writes nothing.
raw_snapshot_loads = sa.Table(
    "raw_snapshot_loads",
    WAREHOUSE,
    sa.Column("source_table", sa.Text, primary_key=True),
    sa.Column("loaded_at", UtcTimestamp, nullable=False),
    sa.Column("source_rows", Count, nullable=False),
    sa.Column("rows_loaded", Count, nullable=False),
    sa.Column("rows_quarantined", Count, nullable=False),
    sa.Column("fingerprint", sa.Text, nullable=False),
)

# Customers erased on request (docs/privacy.md, "Erasure"), named only by the SHA-256 of their
# id so the list names nobody: every load leaves their row out of raw_customers and their id
# out of the facts, though the booking system still has them.
erased_customers = sa.Table(
    "erased_customers",
    WAREHOUSE,
    sa.Column("customer_hash", sa.Text, primary_key=True),  # SHA-256 of the customer_id, hex
    sa.Column("erased_at", UtcTimestamp, nullable=False),
)
