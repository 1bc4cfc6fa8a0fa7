"""Rendered report files, kept by content: one file per distinct content (sha256).

    <root>/ab/abcdef…(64 hex).pdf

A file is written once (to a temporary name, then renamed into place, so a reader never sees
half of it); putting the same content again returns the same entry without writing.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from backroom_reporting import settings
from backroom_reporting.rendering.model import Format, RenderedFile

STORED_NAME = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{64}\.[a-z0-9]+$")


@dataclass(frozen=True)
class StoredReport:
    format: Format
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
            target.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
            try:
                with os.fdopen(handle, "wb") as out:
                    out.write(file.content)
                    out.flush()
                    os.fsync(out.fileno())
                os.chmod(temporary, 0o644)
                # Two writers racing on the same content both rename equal bytes into place.
                os.replace(temporary, target)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        return StoredReport(file.format, file.name, relative, digest, len(file.content))

    def path_of(self, relative: str) -> Path:
        """The file of a stored entry's `path`; refuses anything that is not a store path."""
        if not STORED_NAME.match(relative):
            raise ValueError(f"not a report store path: {relative!r}")
        return self.root / relative

    def read(self, relative: str) -> bytes:
        return self.path_of(relative).read_bytes()
