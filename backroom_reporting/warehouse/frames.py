"""Turning what a driver returns into frames of the declared types.

SQLite hands back timestamps and dates as text and booleans as integers; PostgreSQL
returns them typed. `conform` gives both the same polars schema. Sources are untrusted,
so `coerce` never raises: a value that does not fit its type becomes null and is
reported, for the caller to quarantine the row.
"""

from __future__ import annotations

import polars as pl

_TRUE = ("1", "true", "t", "yes", "y")
_FALSE = ("0", "false", "f", "no", "n")


# Zero-padded ISO-8601 with seconds: anything this accepts has a date prefix SQLite's
# date() also accepts, which the raw layer relies on to give every row one owner.
_ISO_INSTANT = r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})?$"


def parse_utc(text: pl.Expr) -> pl.Expr:
    """ISO-8601 text to a UTC datetime; text without an offset is UTC (the contract's rule).

    Accepts "T" or space, fractions, "Z" and "+HH:MM"/"+HHMM" offsets; anything else is null.
    """
    normalised = text.str.replace("T", " ", literal=True).str.replace(r"Z$", "+00:00")
    with_offset = (
        pl.when(normalised.str.contains(r"[+-]\d\d:?\d\d$")).then(normalised).otherwise(normalised + "+00:00")
    )
    parsed = with_offset.str.to_datetime("%Y-%m-%d %H:%M:%S%.f%z", strict=False, time_zone="UTC")
    return pl.when(text.str.contains(_ISO_INSTANT)).then(parsed)


def _coerce_expr(name: str, current: pl.DataType, target: pl.DataType) -> pl.Expr:
    col = pl.col(name)
    if current == target:
        return col
    if isinstance(target, pl.Datetime):
        if current == pl.String:
            return parse_utc(col)
        if isinstance(current, pl.Datetime):
            base = col.dt.replace_time_zone("UTC") if current.time_zone is None else col
            return base.dt.convert_time_zone("UTC").dt.cast_time_unit("us")
    if target == pl.Date and current == pl.String:
        return col.str.strip_chars().str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)
    if target == pl.Boolean and current == pl.String:
        lowered = col.str.strip_chars().str.to_lowercase()
        return pl.when(lowered.is_in(_TRUE)).then(True).when(lowered.is_in(_FALSE)).then(False)
    if target == pl.Int64 and current == pl.String:
        # "12" and "12.0" are twelve; "12.5" is not an integer. Parsed as integers, never
        # through floats, which hold whole numbers exactly only up to 2^53.
        text = col.str.strip_chars()
        whole = text.str.replace(r"^([+-]?\d+)\.0*$", "${1}")
        return whole.cast(pl.Int64, strict=False)
    if target == pl.Int64 and current == pl.Float64:
        return pl.when(col == col.floor()).then(col).cast(pl.Int64, strict=False)
    return col.cast(target, strict=False)


def coerce(frame: pl.DataFrame, schema: dict[str, pl.DataType]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Cast `frame` to `schema` without raising.

    Returns the cast frame and a boolean frame (same columns) marking values that were
    present but could not be read as their type.
    """
    missing = [name for name in schema if name not in frame.columns]
    if missing:
        raise ValueError(f"source is missing contract columns: {', '.join(missing)}")
    cast = frame.select(
        _coerce_expr(name, frame.schema[name], dtype).alias(name) for name, dtype in schema.items()
    )
    invalid = pl.DataFrame({name: frame[name].is_not_null() & cast[name].is_null() for name in schema})
    return cast, invalid


def conform(frame: pl.DataFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Cast trusted warehouse data to `schema`; a value that does not fit is a bug, so raise."""
    cast, invalid = coerce(frame, schema)
    bad = [name for name in schema if invalid[name].any()]
    if bad:
        raise ValueError(f"warehouse columns hold values of the wrong type: {', '.join(bad)}")
    return cast
