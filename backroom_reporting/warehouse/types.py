"""Column types shared by the source contract and the warehouse, and their polars twins."""

from __future__ import annotations

import datetime as dt

import polars as pl
import sqlalchemy as sa

# ADBC's SQLite driver stores Arrow timestamps as ISO text with a "T" and six decimals,
# without a zone. SQL written by SQLAlchemy must compare against the same text, or
# "2026-03-28 06:00" (space) sorts before "2026-03-28T01:00" and windows go wrong.
SQLITE_TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%f"


class UtcTimestamp(sa.types.TypeDecorator):
    """A timezone-aware instant, stored as UTC: timestamptz on PostgreSQL, ISO text on SQLite."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.Text())
        return dialect.type_descriptor(sa.DateTime(timezone=True))

    def process_bind_param(self, value: dt.datetime | None, dialect: sa.Dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: timestamps must be timezone-aware")
        utc = value.astimezone(dt.UTC)
        return utc.strftime(SQLITE_TIMESTAMP_FORMAT) if dialect.name == "sqlite" else utc

    def process_literal_param(self, value: dt.datetime | None, dialect: sa.Dialect):
        # The dialect's own Text / DateTime literal renderer quotes what this returns.
        return self.process_bind_param(value, dialect)

    def process_result_value(self, value, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None or isinstance(value, dt.datetime):
            return value
        return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)


# One integer width everywhere: polars Int64 binary-COPYs only into bigint.
Money = sa.BigInteger  # integer pence
Count = sa.BigInteger


def polars_dtype(column_type: sa.types.TypeEngine) -> pl.DataType:
    """The polars dtype a warehouse or source column holds in memory."""
    if isinstance(column_type, UtcTimestamp):
        return pl.Datetime("us", "UTC")
    if isinstance(column_type, sa.Boolean):
        return pl.Boolean()
    if isinstance(column_type, sa.Integer):  # BigInteger and SmallInteger too
        return pl.Int64()
    if isinstance(column_type, sa.Float | sa.Numeric):
        return pl.Float64()
    if isinstance(column_type, sa.DateTime):
        return pl.Datetime("us", "UTC")
    if isinstance(column_type, sa.Date):
        return pl.Date()
    if isinstance(column_type, sa.String | sa.Text | sa.JSON):
        return pl.String()
    raise TypeError(f"no polars dtype for column type {column_type!r}")


def table_schema(table: sa.Table) -> dict[str, pl.DataType]:
    return {c.name: polars_dtype(c.type) for c in table.columns}
