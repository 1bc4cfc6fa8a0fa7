"""The content-addressed report store."""

from __future__ import annotations

import datetime as dt
import hashlib
import os

import pytest

from backroom_reporting.rendering import store as store_module
from backroom_reporting.rendering.model import RenderedFile
from backroom_reporting.rendering.periods import period_containing
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


# ---- latest/: each subscription's newest files under readable names ---------------------------

XLSX = RenderedFile("xlsx", "daily.xlsx", b"PK xlsx of Friday", "application/vnd.ms-excel")


def test_a_subscriptions_newest_files_are_copied_under_readable_names(tmp_path):
    store = ReportStore(tmp_path)
    friday = [store.put(PDF).path, store.put(XLSX).path]
    published = store.publish_latest("sub-owner-daily", "daily_summary-2026-11-20", friday)
    folder = tmp_path / "latest" / "sub-owner-daily"
    assert published == [folder / "daily_summary-2026-11-20.pdf", folder / "daily_summary-2026-11-20.xlsx"]
    assert (folder / "daily_summary-2026-11-20.pdf").read_bytes() == PDF.content
    assert (folder / "daily_summary-2026-11-20.xlsx").read_bytes() == XLSX.content
    assert not (folder / "daily_summary-2026-11-20.pdf").is_symlink()


def test_a_new_report_replaces_the_subscriptions_previous_latest_files(tmp_path):
    store = ReportStore(tmp_path)
    store.publish_latest(
        "sub-owner-daily", "daily_summary-2026-11-20", [store.put(PDF).path, store.put(XLSX).path]
    )
    store.publish_latest("sub-other", "daily_summary-2026-11-20", [store.put(PDF).path])
    saturday = RenderedFile("pdf", "daily.pdf", b"%PDF-1.7 Saturday", "application/pdf")
    store.publish_latest("sub-owner-daily", "daily_summary-2026-11-21", [store.put(saturday).path])
    assert sorted(p.name for p in (tmp_path / "latest" / "sub-owner-daily").iterdir()) == [
        "daily_summary-2026-11-21.pdf"
    ]
    assert (tmp_path / "latest" / "sub-owner-daily" / "daily_summary-2026-11-21.pdf").read_bytes() == (
        saturday.content
    )
    # Another subscription's latest files are its own.
    assert (tmp_path / "latest" / "sub-other" / "daily_summary-2026-11-20.pdf").read_bytes() == PDF.content
    # The store keeps every content it was given: latest/ holds copies.
    assert store.read(store.put(XLSX).path) == XLSX.content


def test_the_same_period_rendered_again_replaces_its_file_in_place(tmp_path):
    store = ReportStore(tmp_path)
    store.publish_latest("sub-a", "weekly_summary-2026-W47", [store.put(PDF).path])
    again = RenderedFile("pdf", "weekly.pdf", b"%PDF-1.7 corrected", "application/pdf")
    store.publish_latest("sub-a", "weekly_summary-2026-W47", [store.put(again).path])
    [only] = (tmp_path / "latest" / "sub-a").iterdir()
    assert (only.name, only.read_bytes()) == ("weekly_summary-2026-W47.pdf", again.content)


@pytest.mark.parametrize(
    ("kind", "day", "slug"),
    [
        ("business_day", dt.date(2026, 11, 28), "2026-11-28"),
        ("business_week", dt.date(2026, 11, 19), "2026-W47"),  # Monday 16 to Sunday 22 November
        ("business_week", dt.date(2027, 1, 2), "2026-W53"),  # a Saturday in 2026's 53rd ISO week
        ("month", dt.date(2026, 11, 28), "2026-11"),
    ],
)
def test_a_period_in_a_file_name(kind, day, slug):
    assert period_containing(kind, day).slug == slug
