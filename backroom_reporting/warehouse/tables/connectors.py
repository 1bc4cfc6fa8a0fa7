"""What the connectors land from third-party APIs before the raw layer loads it (docs/connectors.md).

A landing table holds the latest version of each record a connector pulled, already in the
source contract's columns (every one nullable: a record missing a field lands with a gap, and
the raw layer's validation quarantines it with its reason). The raw layer reads a landing
table exactly as it reads the booking system's table of the same shape, so Fatsoma's orders
pass the same contract, quarantine, load guards and fingerprints as every source.
`connector_cursors` remembers how far each incremental pull has read.
"""

from __future__ import annotations

import sqlalchemy as sa

from backroom_reporting.warehouse.source_contract import CONTRACT, Rules
from backroom_reporting.warehouse.tables.metadata import WAREHOUSE
from backroom_reporting.warehouse.types import UtcTimestamp


def _landing(name: str, rules: Rules) -> sa.Table:
    """A landing table for a source table's rows: keyed by the third party's own id (a record
    without one is keyed by the hash of its content, so it is kept and quarantined, not lost)."""
    columns = [sa.Column(c.name, c.type, nullable=True) for c in rules.table.columns]
    indexes = [sa.Index(None, rules.business_time)] if rules.is_fact else []
    return sa.Table(
        name,
        WAREHOUSE,
        sa.Column("landing_key", sa.Text, primary_key=True),
        *columns,
        # The third party's last change to the record: a version older than the landed one is ignored.
        sa.Column("updated_at", UtcTimestamp, nullable=True),
        sa.Column("landed_at", UtcTimestamp, nullable=False),
        # The fields of the record as received (only those the mapping reads), for a person to
        # see what a value that did not parse was.
        sa.Column("received", sa.Text, nullable=False),
        *indexes,
    )


fatsoma_events = _landing("fatsoma_events", CONTRACT["events"])
fatsoma_orders = _landing("fatsoma_orders", CONTRACT["ticket_sales"])

connector_cursors = sa.Table(
    "connector_cursors",
    WAREHOUSE,
    sa.Column("connector", sa.Text, primary_key=True),
    sa.Column("resource", sa.Text, primary_key=True),
    # The newest `updated_at` landed: the next pull asks for changes since a little before it.
    sa.Column("updated_since", UtcTimestamp, nullable=False),
    sa.Column("pulled_at", UtcTimestamp, nullable=False),
)
