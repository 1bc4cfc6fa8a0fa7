"""The web app's people: accounts, their sessions, and the access log every sign-in, view,
download, API call and erasure is written to (docs/portal.md).

Passwords are kept as argon2 hashes and session cookies as their SHA-256 only, so a copy
of the warehouse signs nobody in. The access log is a hash chain: each entry's hash covers
the entry before it, so an entry changed or removed in the middle breaks the chain.
"""

import sqlalchemy as sa

from backroom_reporting.warehouse.tables.metadata import WAREHOUSE
from backroom_reporting.warehouse.types import UtcTimestamp

EntryId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

portal_users = sa.Table(
    "portal_users",
    WAREHOUSE,
    sa.Column("user_id", sa.Text, primary_key=True),
    sa.Column("email", sa.Text, nullable=False, unique=True),  # lower case
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("role", sa.Text, nullable=False),  # admin, manager, finance, events, staff
    sa.Column("staff_id", sa.Text, nullable=True),  # a staff account's raw_staff row
    sa.Column("venue_ids", sa.Text, nullable=True),  # JSON list; null: every venue
    # Null for someone who signs in only by emailed link.
    sa.Column("password_hash", sa.Text, nullable=True),
    sa.Column("created_at", UtcTimestamp, nullable=False),
    sa.Column("disabled_at", UtcTimestamp, nullable=True),
)

portal_sessions = sa.Table(
    "portal_sessions",
    WAREHOUSE,
    sa.Column("session_sha256", sa.Text, primary_key=True),
    sa.Column("user_id", sa.Text, nullable=False),
    sa.Column("csrf_token", sa.Text, nullable=False),  # the forms' token for this session
    sa.Column("how", sa.Text, nullable=False),  # password, emailed link
    sa.Column("created_at", UtcTimestamp, nullable=False),
    sa.Column("expires_at", UtcTimestamp, nullable=False),
    sa.Column("ended_at", UtcTimestamp, nullable=True),  # signed out, or the account disabled
    sa.Index(None, "user_id"),
)

access_log = sa.Table(
    "access_log",
    WAREHOUSE,
    sa.Column("entry_id", EntryId, primary_key=True, autoincrement=True),
    sa.Column("at", UtcTimestamp, nullable=False),
    # Who: usr-…, recipient r-… (a signed link), tok-… (an API token), cli:<login>, or
    # client:<address> (a sign-in refused before anyone is known).
    sa.Column("actor", sa.Text, nullable=False),
    # sign_in, sign_in_refused, sign_out, view, download, api_call, erasure, export, ...
    sa.Column("action", sa.Text, nullable=False),
    # What was seen or done: a report, a route; the email a sign-in was tried with.
    sa.Column("subject", sa.Text, nullable=True),
    sa.Column("detail", sa.Text, nullable=False),  # JSON object
    # Unique: two writers that read the same last entry cannot both extend the chain.
    sa.Column("previous_hash", sa.Text, nullable=False, unique=True),
    sa.Column("entry_hash", sa.Text, nullable=False, unique=True),
    sa.Index(None, "at"),
    sa.Index(None, "actor", "action", "at"),
    # The sign-in limit counts an email's recent refusals (privacy.audit.recent).
    sa.Index(None, "action", "subject", "at"),
)

# The emailed sign-in links already used: each signs in once (portal/signin.py).
portal_sign_in_links = sa.Table(
    "portal_sign_in_links",
    WAREHOUSE,
    sa.Column("nonce", sa.Text, primary_key=True),
    sa.Column("user_id", sa.Text, nullable=False),
    sa.Column("used_at", UtcTimestamp, nullable=False),
)
