"""Text from the source is one clean line of sensible length in every report."""

import polars as pl
import pytest

from backroom_reporting.rendering.text import LONGEST, readable_frame, readable_text


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("Jo Bloggs", "Jo Bloggs"),
        ("Jo\x00Bloggs", "Jo Bloggs"),
        ("Jo\nBloggs\r\n", "Jo Bloggs"),
        ("Jo\tBloggs\x1b[31m", "Jo Bloggs [31m"),
        ("\u202eevil\u202c name", "evil name"),  # a direction override is dropped
        ("  Zoë   שָׁלוֹם  مرحبا ", "Zoë שָׁלוֹם مرحبا"),
        ("Birthday 🎉 👨\u200d👩\u200d👧", "Birthday 🎉 👨\u200d👩\u200d👧"),  # emoji sequences intact
    ],
)
def test_unreadable_characters_go_and_scripts_and_emoji_stay(raw, shown):
    assert readable_text(raw) == shown


def test_a_very_long_name_is_cut_with_an_ellipsis():
    cut = readable_text("A" * 10_000)
    assert len(cut) == LONGEST and cut.endswith("…")
    assert readable_text("B" * LONGEST) == "B" * LONGEST


def test_only_text_columns_change():
    frame = pl.DataFrame({"name": ["x\x00y", None], "pence": [1, 2]})
    assert readable_frame(frame).to_dict(as_series=False) == {"name": ["x y", None], "pence": [1, 2]}
