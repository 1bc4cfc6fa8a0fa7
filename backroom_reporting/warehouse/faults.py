"""Database faults told in one plain sentence: what is wrong, and what to do.

The drivers say "no such table: check_ins" or "IO: [libpq] Failed to connect"; an engineer
at 3 a.m. needs "The booking system at sqlite:///var/booking.db has no table check_ins:
point BACKROOM_SOURCE_URL at the booking system's database." `explain` turns the faults
we know into a `Fault` (the original stays attached as its cause, traceback and all) and
says whether trying again may help.
"""

from __future__ import annotations

import errno
import re
from dataclasses import dataclass

import sqlalchemy as sa

# PostgreSQL SQLSTATE codes (appendix A of its manual).
UNDEFINED_TABLE = "42P01"
UNDEFINED_COLUMN = "42703"
DISK_FULL = "53100"
UNIQUE_VIOLATION = "23505"
CONNECTION_CLASS = "08"  # connection exceptions
SHUTDOWN = ("57P01", "57P02", "57P03")  # admin shutdown, crash shutdown, cannot connect now

LOST_CONNECTION = (
    "terminating connection",
    "server closed the connection",
    "no connection to the server",
    "connection to server",
    "could not connect",
    "failed to connect",
    "connection refused",
    "broken pipe",
    "ssl syscall",
    "the database system is starting up",
    "the database system is shutting down",
)


class Fault(Exception):
    """A fault with its one-sentence explanation; `transient` when trying again may help.

    kind: schema (a table or column missing), file (not a database, or none), disk (full),
    locked (another writer), unreachable (the server is down or restarted)."""

    def __init__(self, sentence: str, kind: str):
        super().__init__(sentence)
        self.sentence, self.kind = sentence, kind

    @property
    def transient(self) -> bool:
        return self.kind in ("locked", "unreachable")


@dataclass(frozen=True)
class Place:
    """Which database a fault happened in, in the words the sentence needs."""

    what: str  # "the booking system", "the warehouse"
    url: str
    setting: str  # the variable that names it

    @property
    def shown(self) -> str:
        return repr(sa.make_url(self.url))

    @property
    def server(self) -> str:
        parsed = sa.make_url(self.url)
        return f"{parsed.host or 'localhost'}:{parsed.port or 5432}"

    @property
    def fix_schema(self) -> str:
        if self.what == "the warehouse":
            return "run `backroom db upgrade`"
        return f"check that {self.setting} points at the booking system's database"


def missing_file(place: Place, path: str) -> Fault:
    advice = (
        "create it with `backroom db upgrade`"
        if place.what == "the warehouse"
        else f"set {place.setting} to the booking system's database "
        "(`backroom demo generate` writes a demo one)"
    )
    return Fault(f"There is no SQLite database at {path} for {place.what}: {advice}.", "file")


def _named(pattern: str, text: str) -> str | None:
    found = re.search(pattern, text)
    return found.group(1) if found else None


def explain(exc: BaseException, place: Place) -> Fault | None:
    """The plain sentence for a fault we know, or None."""
    text = str(exc)
    lowered = text.lower()
    state = getattr(exc, "sqlstate", None) or getattr(getattr(exc, "orig", None), "pgcode", None) or ""
    where = f"{place.what[0].upper()}{place.what[1:]} at {place.shown}"

    table = _named(r"no such table: (\S+)", text) or (
        _named(r'relation "?([\w.]+)"? does not exist', text) if state == UNDEFINED_TABLE else None
    )
    if table:
        return Fault(f"{where} has no table {table}: {place.fix_schema}.", "schema")
    column = _named(r"no such column: (\S+)", text) or (
        _named(r'column "?([\w.]+)"? does not exist', text) if state == UNDEFINED_COLUMN else None
    )
    if column:
        return Fault(f"{where} has no column {column}: {place.fix_schema}.", "schema")
    if "file is not a database" in lowered or "not a database" in lowered:
        return Fault(f"{where} is not a SQLite database: point {place.setting} at the right file.", "file")
    if (
        state == DISK_FULL
        or "database or disk is full" in lowered
        or "no space left on device" in lowered
        or (isinstance(exc, OSError) and exc.errno == errno.ENOSPC)
    ):
        return Fault(
            f"The disk holding {place.what} ({place.shown}) is full: free some space, then run again.", "disk"
        )
    if "database is locked" in lowered:
        return Fault(
            f"{where} stayed locked by another writer: it is tried again; if it persists, "
            "look for a stuck run.",
            "locked",
        )
    if state.startswith(CONNECTION_CLASS) or state in SHUTDOWN or any(s in lowered for s in LOST_CONNECTION):
        return Fault(
            f"PostgreSQL at {place.server} ({place.what}) is not reachable or restarted: it is tried "
            f"again; if it stays down, start it or check {place.setting}.",
            "unreachable",
        )
    return None
