"""Customers erased on request stay erased: the loads leave them out of what they write.

The booking system keeps its customers, and the raw layer reloads the customers snapshot and
recent nights from it, so erasure lists the customer in erased_customers by the SHA-256 of
their id (a list that names nobody) and every load passes its source rows through
`forget_erased` before checking them: the customer's own row is left out, and their id on a
fact is replaced as erasure replaces it, so the fact still counts in its night's figures
(docs/privacy.md, "Erasure"). Plain functions, without Dagster.
"""

from __future__ import annotations

import hashlib

import polars as pl

from backroom_reporting.privacy.retention import customer_gone
from backroom_reporting.warehouse.database import Database
from backroom_reporting.warehouse.source_contract import Rules
from backroom_reporting.warehouse.tables.raw import RAW, erased_customers

CUSTOMER = "customer_id"


def hashed(person_id: str) -> str:
    """The SHA-256 of a person's id, in hex: recognises them to whoever holds the id, and names
    them to nobody else."""
    return hashlib.sha256(person_id.encode()).hexdigest()


def erased_hashes(db: Database) -> frozenset[str]:
    """The hashes of every customer erased so far: read once per load."""
    return frozenset(db.read_columns(erased_customers.c.customer_hash)["customer_hash"])


def erased_among(ids: pl.Series, erased: frozenset[str]) -> list[str]:
    """The ids among `ids` (source values, as read) that are of erased customers."""
    if not erased:
        return []
    return [i for i in ids.cast(pl.String).drop_nulls().unique().to_list() if hashed(i) in erased]


def forget_erased(rows: pl.DataFrame, rules: Rules, erased: frozenset[str]) -> pl.DataFrame:
    """Source rows of `rules`' table as the warehouse may hold them: an erased customer's own
    customers row left out, and their id on a fact replaced by what erasure leaves there (null,
    or the tombstone where the id is required). Other tables' rows are returned as they are."""
    if CUSTOMER not in rules.table.c:
        return rows
    gone = erased_among(rows[CUSTOMER], erased)
    if not gone:
        return rows
    # A row with no id is not theirs: it goes on to be quarantined as missing its key.
    theirs = pl.col(CUSTOMER).cast(pl.String).is_in(gone).fill_null(False)
    if not rules.is_fact:
        return rows.filter(~theirs)
    replacement = pl.lit(customer_gone(RAW[rules.name]), pl.String)
    return rows.with_columns(pl.when(theirs).then(replacement).otherwise(pl.col(CUSTOMER)).alias(CUSTOMER))
