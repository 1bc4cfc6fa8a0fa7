"""Rates and changes, null rather than infinite or misleading when there is nothing to divide by."""

import polars as pl


def ratio(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    """numerator / denominator as a float, null when the denominator is zero or null."""
    return pl.when(denominator > 0).then(numerator.cast(pl.Float64) / denominator)


def relative_change(value: str, previous: str) -> pl.Expr:
    """(value - previous) / |previous|; null when either is null or previous is 0."""
    return ratio(pl.col(value) - pl.col(previous), pl.col(previous).abs())
