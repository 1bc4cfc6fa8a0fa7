"""A small world loaded into the warehouse, and ways to look for a person everywhere, written
independently of the code under test: every column of every table read as text, every file's
text read with its format's own library."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import io
import zipfile
from pathlib import Path

import pypdf
import pytest
import sqlalchemy as sa

from backroom_reporting.metrics.business_time import BusinessWindow
from tests.assets.conftest import materialise  # noqa: F401  (the fixture)
from tests.assets.test_raw_layer import RAW_ASSETS
from tests.worlds import small_world, write_source

NIGHTS = [dt.date(2026, 3, 6), dt.date(2026, 3, 7)]
WINDOW = BusinessWindow(NIGHTS[0], NIGHTS[-1])
LOADED = [*RAW_ASSETS, "customer_visits", "hourly_aggregations", "daily_aggregations"]


@pytest.fixture
def world(databases, materialise):  # noqa: F811
    """small_world's customers c1..c3 over two nights, loaded and aggregated; returns the world."""
    world = small_world(NIGHTS)
    write_source(databases.source_url, world)
    materialise(WINDOW, LOADED)
    return world


def every_cell(db_url: str, schema: str | None) -> list[tuple[str, str, str]]:
    """(table, column, value as text) for every non-null cell of every table in the database."""
    engine = sa.create_engine(db_url)
    found = []
    with engine.connect() as conn:
        inspector = sa.inspect(conn)
        for table in inspector.get_table_names(schema=schema):
            columns = [c["name"] for c in inspector.get_columns(table, schema=schema)]
            reflected = sa.Table(table, sa.MetaData(), *(sa.Column(c) for c in columns), schema=schema)
            for row in conn.execute(sa.select(*(sa.cast(reflected.c[c], sa.Text) for c in columns))):
                found += [(table, c, v) for c, v in zip(columns, row, strict=True) if v is not None]
    engine.dispose()
    return found


def warehouse_cells(databases) -> list[tuple[str, str, str]]:
    return every_cell(databases.warehouse_url, "reporting" if databases.backend == "postgresql" else None)


def file_text(path: Path) -> str:
    """A file's text as a person would read it: PDFs' and spreadsheets' too."""
    content = path.read_bytes()
    if content.startswith(b"%PDF"):
        return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(content)).pages)
    if path.suffix == ".xlsx":
        with zipfile.ZipFile(path) as book:
            return "\n".join(book.read(n).decode() for n in book.namelist())
    if path.suffix == ".eml":
        message = email.message_from_bytes(content, policy=email.policy.default)
        return str(message) + "\n".join(
            p.get_content() for p in message.walk() if p.get_content_maintype() == "text"
        )
    return content.decode("utf-8", "replace")


def files_naming(folder: Path, needles: list[str]) -> list[str]:
    return [
        p.relative_to(folder).as_posix()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and any(n.lower() in file_text(p).lower() for n in needles)
    ]
