"""Money is integer pence: never a float, and never a sum that wraps.

Sums are made in 128-bit integers, so even hostile rows cannot wrap a night's takings to
a negative figure; a sum too large for the warehouse's 64-bit columns is found by
`out_of_range` and refused by the checks that publish the figures.
"""

from __future__ import annotations

import polars as pl

WIDE = pl.Int128
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def money_sum(amount: pl.Expr) -> pl.Expr:
    """The sum of a money column, in a type it cannot overflow."""
    return amount.cast(WIDE).sum()


def out_of_range(frame: pl.DataFrame, columns: list[str], keys: list[str]) -> pl.DataFrame:
    """Rows of `frame` with a money figure a 64-bit column cannot hold (keys and those figures)."""
    outside = pl.any_horizontal(~pl.col(c).is_between(INT64_MIN, INT64_MAX) for c in columns)
    return frame.filter(outside).select(*keys, *(pl.col(c).cast(pl.String) for c in columns))
