"""Rendered report files, kept by content: one file per distinct content (sha256).

    <root>/ab/abcdef…(64 hex).pdf
    <root>/latest/<subscription>/<template>-<period>.<ext>   e.g. daily_summary-2026-11-28.pdf

A file is written once (to a temporary name, then renamed into place, so a reader never sees
half of it); putting the same content again returns the same entry without writing. Each
subscription's newest report is also copied under latest/ with a name a person can open
(docs/reports.md, "Making reports"); a new report of the subscription replaces it.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from backroom_reporting import settings
from backroom_reporting.rendering.model import FileFormat, RenderedFile

STORED_NAME = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{64}\.[a-z0-9]+$")
LATEST = "latest"
# Temporary files of a write under way start so; nothing else in the store does.
INCOMING = ".incoming-"


@dataclass(frozen=True)
class StoredReport:
    format: FileFormat
    name: str  # the file's readable name, e.g. daily_summary_backroom-leeds_2026-11-21.pdf
    path: str  # relative to the store's root: "ab/abcdef….pdf"
    sha256: str
    size_bytes: int


class ReportStore:
    def __init__(self, root: Path | str | None = None):
        self.root = Path(root if root is not None else settings.REPORT_STORE.get())

    @staticmethod
    def relative_path(sha256: str, extension: str) -> str:
        return f"{sha256[:2]}/{sha256}.{extension}"

    def put(self, file: RenderedFile) -> StoredReport:
        digest = hashlib.sha256(file.content).hexdigest()
        extension = PurePosixPath(file.name).suffix.lstrip(".").lower() or file.format
        relative = self.relative_path(digest, extension)
        target = self.root / relative
        if not target.exists():
            # Two writers racing on the same content both rename equal bytes into place.
            write_into_place(target, lambda out: out.write(file.content))
        return StoredReport(file.format, file.name, relative, digest, len(file.content))

    def path_of(self, relative: str) -> Path:
        """The file of a stored entry's `path`; refuses anything that is not a store path."""
        if not STORED_NAME.match(relative):
            raise ValueError(f"not a report store path: {relative!r}")
        return self.root / relative

    def read(self, relative: str) -> bytes:
        return self.path_of(relative).read_bytes()

    def latest_folder(self, subscription_id: str) -> Path:
        return self.root / LATEST / subscription_id

    def latest_files(self, subscription_id: str) -> list[Path]:
        """The subscription's newest files under their readable names (none before its first report)."""
        folder = self.latest_folder(subscription_id)
        if not folder.is_dir():
            return []
        return sorted(p for p in folder.iterdir() if not p.name.startswith(INCOMING))

    def publish_latest(self, subscription_id: str, stem: str, paths: Iterable[str]) -> list[Path]:
        """Copy a subscription's newest files (store paths) to latest/<subscription>/<stem>.<ext>
        and remove its previous ones; the files published.

        Copies, not links: they work on any filesystem, survive the folder being moved, and a
        person editing one cannot change the report the store keeps."""
        folder = self.latest_folder(subscription_id)
        folder.mkdir(parents=True, exist_ok=True)
        published = []
        for relative in paths:
            source = self.path_of(relative)
            target = folder / f"{stem}{source.suffix}"
            with source.open("rb") as content:
                write_into_place(target, lambda out, content=content: shutil.copyfileobj(content, out))
            published.append(target)
        for old in folder.iterdir():
            if old not in published and not old.name.startswith(INCOMING):
                old.unlink(missing_ok=True)
        return published


def write_into_place(target: Path, write) -> None:
    """`write(file)` to a temporary file beside `target`, then rename it over `target`: a reader
    sees the old file or the whole new one, never half of it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=INCOMING)
    try:
        with os.fdopen(handle, "wb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
