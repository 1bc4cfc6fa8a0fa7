"""One Chromium (kaleido) session for the whole test session: starting it is the slow part."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from backroom_reporting.rendering.charts import ChartRenderer

LAYOUTS_DIR = Path(__file__).resolve().parents[2] / "report_layouts"


@pytest.fixture(scope="session")
def chart_renderer() -> Iterator[ChartRenderer]:
    with ChartRenderer() as charts:
        yield charts


@pytest.fixture(scope="session")
def layouts_dir() -> Path:
    return LAYOUTS_DIR
