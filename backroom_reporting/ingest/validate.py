"""Checking source rows against the contract: good rows to load, bad rows to quarantine.

Pure functions over polars frames. Every problem a row has is named (a reason code and
a sentence a person can act on); a row with any problem is quarantined with its raw
values, so nothing is lost. Among rows sharing a key, the first valid one in the
source's storage order is loaded and the others are quarantined as duplicates.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from backroom_reporting.warehouse.frames import coerce
from backroom_reporting.warehouse.source_contract import Rules
from backroom_reporting.warehouse.types import table_schema

SOURCE_ORDER = "_source_order"
_LONG_ENUM = 8
_TYPE_WORDS = {
    pl.Int64: "a whole number",
    pl.Float64: "a number",
    pl.Boolean: "true or false",
    pl.Date: "a date (YYYY-MM-DD)",
    pl.String: "text",
}


def _type_words(dtype: pl.DataType) -> str:
    if isinstance(dtype, pl.Datetime):
        return "an ISO-8601 timestamp"
    return _TYPE_WORDS.get(dtype.base_type(), str(dtype))


@dataclass(frozen=True)
class Checked:
    good: pl.DataFrame  # contract columns, contract types
    # record_id, reason, detail, raw_values, and the parsed business time when the table has one
    quarantined: pl.DataFrame

    @property
    def total(self) -> int:
        return self.good.height + self.quarantined.height


def _quote(expr: pl.Expr) -> pl.Expr:
    return pl.lit("'") + expr.cast(pl.String) + pl.lit("'")


def _problem(condition: pl.Expr, code: str, message: pl.Expr | str) -> pl.Expr:
    text = pl.lit(f"{code}: ") + (pl.lit(message) if isinstance(message, str) else message)
    return pl.when(condition).then(text).otherwise(None)


def _amount(column: str, value: int) -> str:
    """A bound as a person reads it: pounds for money columns."""
    return f"£{value / 100:,.2f}" if column.endswith("_pence") else f"{value:,}"


def _describe_enum(allowed: tuple[str, ...]) -> str:
    if len(allowed) > _LONG_ENUM:
        return f"is not one of the {len(allowed)} allowed values"
    return "is not one of " + ", ".join(allowed)


def problems(rules: Rules, known: dict[str, pl.Series]) -> list[pl.Expr]:
    """One expression per rule, each a problem sentence or null, over `cast` with raw text alongside."""
    schema = table_schema(rules.table)
    found: list[pl.Expr] = []
    for name, dtype in schema.items():
        found.append(
            _problem(
                pl.col(f"{name}__invalid"),
                "invalid_value",
                pl.lit(f"{name}=") + _quote(pl.col(f"{name}__raw")) + pl.lit(f" is not {_type_words(dtype)}"),
            )
        )
    for name in rules.required:
        found.append(
            _problem(
                pl.col(name).is_null() & ~pl.col(f"{name}__invalid"),
                "missing_required",
                f"{name} is required but empty",
            )
        )
    for name, allowed in rules.enums.items():
        found.append(
            _problem(
                pl.col(name).is_not_null() & ~pl.col(name).is_in(list(allowed)),
                "unknown_enum",
                pl.lit(f"{name}=") + _quote(pl.col(name)) + pl.lit(f" {_describe_enum(allowed)}"),
            )
        )
    for name in rules.non_negative:
        found.append(
            _problem(
                pl.col(name) < 0,
                "negative_money",
                pl.lit(f"{name}=") + pl.col(name).cast(pl.String) + pl.lit(" is negative"),
            )
        )
    for name in rules.positive:
        found.append(
            _problem(
                pl.col(name) <= 0,
                "not_positive",
                pl.lit(f"{name}=") + pl.col(name).cast(pl.String) + pl.lit(" must be above zero"),
            )
        )
    for name, (low, high) in rules.ranges.items():
        found.append(
            _problem(
                ~pl.col(name).is_between(low, high),
                "out_of_range",
                pl.lit(f"{name}=") + pl.col(name).cast(pl.String) + pl.lit(f" is outside {low}-{high}"),
            )
        )
    for name, (pattern, meaning) in rules.patterns.items():
        found.append(
            _problem(
                pl.col(name).is_not_null() & ~pl.col(name).str.contains(pattern),
                "invalid_value",
                pl.lit(f"{name}=") + _quote(pl.col(name)) + pl.lit(f" is not {meaning}"),
            )
        )
    for name, most in rules.plausible.items():
        found.append(
            _problem(
                pl.col(name) > most,
                "implausible_value",
                pl.lit(f"{name}=")
                + pl.col(name).cast(pl.String)
                + pl.lit(f" is above the plausible {_amount(name, most)}"),
            )
        )
    for earlier, later in rules.ordered:
        found.append(_problem(pl.col(later) < pl.col(earlier), "misordered", f"{later} precedes {earlier}"))
    for part, whole in rules.at_most:
        found.append(
            _problem(
                pl.col(part) > pl.col(whole),
                "exceeds",
                pl.lit(f"{part}=")
                + pl.col(part).cast(pl.String)
                + pl.lit(f" exceeds {whole}=")
                + pl.col(whole).cast(pl.String),
            )
        )
    for name, target in rules.references.items():
        keys = known.get(target, pl.Series(dtype=pl.String))
        found.append(
            _problem(
                pl.col(name).is_not_null() & ~pl.col(name).is_in(keys.implode()),
                "unknown_reference",
                pl.lit(f"{name}=") + _quote(pl.col(name)) + pl.lit(f" is not a known {target} row"),
            )
        )
    return found


def validate(
    raw: pl.DataFrame,
    rules: Rules,
    known: dict[str, pl.Series],
    loaded_elsewhere: pl.DataFrame | None = None,
) -> Checked:
    """Split source rows into good and quarantined.

    raw: the source rows as read (any column types; text from SQLite), with a
        `_source_order` column giving storage order.
    known: referenced table name -> the keys that exist there.
    loaded_elsewhere: key and `business_date` of rows with these keys already loaded
        from another window; they make the row here a duplicate.
    """
    schema = table_schema(rules.table)
    cast, invalid = coerce(raw, schema)
    frame = pl.concat(
        [
            cast,
            invalid.rename({c: f"{c}__invalid" for c in invalid.columns}),
            raw.select(pl.col(c).cast(pl.String).alias(f"{c}__raw") for c in schema),
            raw.select(SOURCE_ORDER),
        ],
        how="horizontal",
    )
    checks = problems(rules, known)
    frame = frame.with_columns(pl.concat_list(checks).list.drop_nulls().alias("_problems"))

    key = rules.key
    valid = pl.col("_problems").list.len() == 0
    first_valid = pl.col(SOURCE_ORDER) == pl.col(SOURCE_ORDER).filter(valid).min().over(key)
    duplicate = valid & pl.col(key).is_not_null() & ~first_valid
    frame = frame.with_columns(
        pl.when(duplicate)
        .then(
            pl.concat_list(
                pl.lit(f"duplicate_id: {key}=")
                + _quote(pl.col(key))
                + pl.lit(" appears more than once in the source; the first is loaded")
            )
        )
        .otherwise(pl.col("_problems"))
        .alias("_problems")
    )
    if loaded_elsewhere is not None and loaded_elsewhere.height:
        elsewhere = loaded_elsewhere.select(pl.col(key), pl.col("business_date").alias("_loaded_for"))
        frame = frame.join(elsewhere, on=key, how="left").with_columns(
            pl.when((pl.col("_problems").list.len() == 0) & pl.col("_loaded_for").is_not_null())
            .then(
                pl.concat_list(
                    pl.lit(f"duplicate_id: {key}=")
                    + _quote(pl.col(key))
                    + pl.lit(" is already loaded for business day ")
                    + pl.col("_loaded_for").cast(pl.String)
                )
            )
            .otherwise(pl.col("_problems"))
            .alias("_problems")
        )

    bad = pl.col("_problems").list.len() > 0
    good = frame.filter(~bad).sort(SOURCE_ORDER).select(schema.keys())
    raw_json = pl.struct([pl.col(f"{c}__raw").alias(c) for c in schema]).struct.json_encode()
    extra = [pl.col(rules.business_time)] if rules.business_time else []
    quarantined = (
        frame.filter(bad)
        .sort(SOURCE_ORDER)
        .select(
            pl.col(f"{key}__raw").alias("record_id"),
            pl.col("_problems").list.first().str.extract(r"^([a-z_]+):").alias("reason"),
            pl.col("_problems").list.join("; ").alias("detail"),
            raw_json.alias("raw_values"),
            *extra,
        )
    )
    return Checked(good=good, quarantined=quarantined)
