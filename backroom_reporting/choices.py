"""A value checked against the values allowed, worded the same way everywhere."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

# Beyond this many, a listing of allowed values is cut short ("... and 412 more").
LISTED = 12


def listing(values: Iterable) -> str:
    values = [str(v) for v in values]
    shown = ", ".join(values[:LISTED])
    return shown + (f" and {len(values) - LISTED} more" if len(values) > LISTED else "")


def one_of(what: str, value, known: Sequence, error: type[Exception], where: str | None = None):
    """`value` when it is one of `known`; else `error`, naming the value and what is allowed."""
    if value not in known:
        prefix = f"{where}: " if where else ""
        raise error(f"{prefix}unknown {what} {value!r}; known: {listing(known)}")
    return value
