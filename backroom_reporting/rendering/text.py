"""Text from the source made fit for a report: one clean line of sensible length.

Names come from the booking system and can hold anything: a 10 kB name, a NUL, a line
break, control characters, direction overrides. Every text value a report shows passes
through `readable`, so no format (PDF, HTML, Excel, CSV) carries a character it cannot
show, and no cell pushes the figures beside it off the page. Scripts, accents and emoji
are kept (the stylesheet has fonts for them).
"""

from __future__ import annotations

import polars as pl

# A cell or a name longer than this is cut, with an ellipsis: enough for any real name.
LONGEST = 80
ELLIPSIS = "…"
# Control characters, the directional overrides and isolates (U+202A-202E, U+2066-2069),
# line and paragraph separators; ZERO WIDTH JOINER stays, emoji sequences need it.
_UNREADABLE = r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]"


def readable(text: pl.Expr, longest: int = LONGEST) -> pl.Expr:
    """One line: unreadable characters become spaces, runs of spaces one, and text longer than
    `longest` characters is cut with an ellipsis."""
    line = text.str.replace_all(_UNREADABLE, " ").str.replace_all(r"\s+", " ").str.strip_chars()
    return (
        pl.when(line.str.len_chars() > longest)
        .then(line.str.slice(0, longest - 1) + ELLIPSIS)
        .otherwise(line)
    )


def readable_frame(frame: pl.DataFrame, longest: int = LONGEST) -> pl.DataFrame:
    """Every text column of `frame` made readable."""
    text = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    return frame.with_columns(readable(pl.col(name), longest) for name in text) if text else frame


def readable_text(value: str | None, longest: int = LONGEST) -> str | None:
    """`readable` for one value (a venue's name, a night's brand in the prose)."""
    if value is None:
        return None
    return pl.select(readable(pl.lit(value, pl.String), longest)).item()
