"""Rendering reports inside a run: the layouts, one chart session and the report store."""

from __future__ import annotations

import contextlib
from pathlib import Path

import dagster as dg
from pydantic import PrivateAttr

from backroom_reporting import settings
from backroom_reporting.rendering.layouts import Layout, load_layouts
from backroom_reporting.rendering.store import ReportStore


class ReportRenderingResource(dg.ConfigurableResource):
    """Where layouts are read from and reports are kept, and the chart renderer.

    Chromium starts on the first chart of a run and stops when the run ends, so a run
    that renders fifty reports starts it once.
    """

    layouts_dir: str | None = None
    store_dir: str | None = None
    _stack: contextlib.ExitStack | None = PrivateAttr(default=None)
    _charts = PrivateAttr(default=None)

    @property
    def layouts_path(self) -> Path:
        return Path(self.layouts_dir or settings.LAYOUTS_DIR.get())

    def layouts(self) -> dict[str, Layout]:
        return load_layouts(self.layouts_path)

    def store(self) -> ReportStore:
        return ReportStore(Path(self.store_dir or settings.REPORT_STORE.get()))

    def charts(self):
        if self._charts is None:
            from backroom_reporting.rendering.charts import ChartRenderer

            self._stack = contextlib.ExitStack()
            self._charts = self._stack.enter_context(ChartRenderer())
        return self._charts

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._stack is not None:
            self._stack.close()
            self._stack = self._charts = None
