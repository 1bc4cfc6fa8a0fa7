"""The content-addressed report store."""

from __future__ import annotations

import hashlib
import os

import pytest

from backroom_reporting.rendering import store as store_module
from backroom_reporting.rendering.model import RenderedFile
from backroom_reporting.rendering.store import ReportStore

PDF = RenderedFile(
    "pdf", "daily_summary_backroom-leeds_2026-11-21.pdf", b"%PDF-1.7 report", "application/pdf"
)


def test_a_file_is_kept_under_its_sha256(tmp_path):
    stored = ReportStore(tmp_path).put(PDF)
    digest = hashlib.sha256(PDF.content).hexdigest()
    assert stored.sha256 == digest
    assert stored.path == f"{digest[:2]}/{digest}.pdf"
    assert stored.size_bytes == len(PDF.content)
    assert (stored.format, stored.name) == ("pdf", PDF.name)
    assert (tmp_path / stored.path).read_bytes() == PDF.content
    assert ReportStore(tmp_path).read(stored.path) == PDF.content
    assert [p.name for p in (tmp_path / digest[:2]).iterdir()] == [f"{digest}.pdf"]  # no temporary left


def test_the_same_content_is_written_once(tmp_path, monkeypatch):
    store = ReportStore(tmp_path)
    first = store.put(PDF)
    replaced = []
    monkeypatch.setattr(store_module.os, "replace", lambda *a: replaced.append(a))
    again = store.put(RenderedFile("pdf", "another_name.pdf", PDF.content, "application/pdf"))
    assert replaced == []
    assert again.path == first.path and again.name == "another_name.pdf"


def test_different_content_and_extensions_get_their_own_files(tmp_path):
    store = ReportStore(tmp_path)
    archive = store.put(RenderedFile("csv", "daily.zip", b"PK zip", "application/zip"))
    table = store.put(RenderedFile("csv", "daily.csv", b"a,b\r\n", "text/csv; charset=utf-8"))
    assert archive.path.endswith(".zip") and table.path.endswith(".csv")
    assert archive.sha256 != table.sha256


def test_a_failed_write_leaves_nothing_behind(tmp_path, monkeypatch):
    def fail(*args):
        raise OSError("disk full")

    monkeypatch.setattr(store_module.os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        ReportStore(tmp_path).put(PDF)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_stored_files_are_readable_by_others(tmp_path):
    stored = ReportStore(tmp_path).put(PDF)
    assert os.stat(tmp_path / stored.path).st_mode & 0o777 == 0o644


def test_only_store_paths_are_read(tmp_path):
    with pytest.raises(ValueError, match="not a report store path"):
        ReportStore(tmp_path).read("../../etc/passwd")


def test_the_root_defaults_to_the_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("BACKROOM_REPORT_STORE", str(tmp_path / "reports"))
    stored = ReportStore().put(PDF)
    assert (tmp_path / "reports" / stored.path).exists()
