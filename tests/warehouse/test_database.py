"""Frames in and out of the warehouse: types survive, windows are replaced atomically."""

import concurrent.futures
import datetime as dt

import polars as pl
import pytest
import sqlalchemy as sa

from backroom_reporting.warehouse.connections import REPORTING_SCHEMA
from backroom_reporting.warehouse.database import Database, DuplicateKey
from backroom_reporting.warehouse.tables.raw import RAW, raw_quarantine
from backroom_reporting.warehouse.types import table_schema

UTC = dt.UTC
shifts = RAW["staff_shifts"]


def shift_rows(ids, day: dt.date) -> pl.DataFrame:
    start = dt.datetime.combine(day, dt.time(20), tzinfo=UTC)
    return pl.DataFrame(
        {
            "shift_id": ids,
            "venue_id": "v1",
            "staff_id": "s1",
            "starts_at": start,
            "ends_at": start + dt.timedelta(hours=7, minutes=30),
            "business_date": day,
        },
        schema=table_schema(shifts),
    )


def test_types_round_trip(databases):
    wh = databases.warehouse
    rows = shift_rows(["a", "b"], dt.date(2026, 3, 28))
    wh.replace(shifts, rows)
    back = wh.read_table(shifts).sort("shift_id")
    assert back.schema == rows.schema
    assert back.equals(rows)


def test_replace_touches_only_its_window(databases):
    wh = databases.warehouse
    first, second = dt.date(2026, 3, 27), dt.date(2026, 3, 28)
    wh.replace(shifts, pl.concat([shift_rows(["a"], first), shift_rows(["b"], second)]))
    wh.replace(shifts, shift_rows(["c", "d"], second), shifts.c.business_date == second)
    assert sorted(wh.read_table(shifts)["shift_id"]) == ["a", "c", "d"]


def test_a_failed_write_leaves_the_previous_data(databases):
    wh = databases.warehouse
    day = dt.date(2026, 3, 28)
    wh.replace(shifts, shift_rows(["a", "b"], day))
    quarantine = pl.DataFrame(
        {
            "source_table": ["staff_shifts"],
            "business_date": [day],
            "record_id": ["x"],
            "reason": ["r"],
            "detail": ["d"],
            "raw_values": ["{}"],
        },
        schema=table_schema(raw_quarantine),
    )
    # The second write of the batch breaks the primary key, after the first has deleted.
    with pytest.raises(DuplicateKey) as raised:
        wh.replace_many(
            [
                (raw_quarantine, quarantine, None),
                (shifts, shift_rows(["c", "c"], day), shifts.c.business_date == day),
            ]
        )
    assert raised.value.table == "raw_staff_shifts"
    assert sorted(wh.read_table(shifts)["shift_id"]) == ["a", "b"]
    assert wh.read_table(raw_quarantine).height == 0


def test_a_sibling_reads_on_its_own_connection_from_another_thread(databases):
    wh = databases.warehouse
    day = dt.date(2026, 3, 28)
    wh.replace(shifts, shift_rows(["a", "b"], day))
    with wh.sibling() as beside, concurrent.futures.ThreadPoolExecutor(max_workers=1) as reader:
        reading = reader.submit(beside.read_table, shifts)
        wh.replace(shifts, shift_rows(["c"], day + dt.timedelta(days=1)), shifts.c.business_date > day)
        assert sorted(reading.result()["shift_id"]) in (["a", "b"], ["a", "b", "c"])
        assert beside.url == wh.url and beside.search_path == wh.search_path
        assert sorted(beside.read_table(shifts)["shift_id"]) == ["a", "b", "c"]  # what was committed


def test_a_key_held_outside_the_window_is_a_duplicate_key_of_that_table(databases):
    wh = databases.warehouse
    friday, saturday = dt.date(2026, 3, 27), dt.date(2026, 3, 28)
    wh.replace(shifts, pl.concat([shift_rows(["a"], friday), shift_rows(["b"], saturday)]))
    with pytest.raises(DuplicateKey) as raised:
        wh.replace(shifts, shift_rows(["c", "a"], saturday), shifts.c.business_date == saturday)
    assert raised.value.table == "raw_staff_shifts"
    assert sorted(wh.read_table(shifts)["shift_id"]) == ["a", "b"]


def test_lookup_finds_keys_in_chunks(databases, monkeypatch):
    from backroom_reporting.warehouse import database

    monkeypatch.setattr(database, "IN_LIST_CHUNK", 2)
    wh = databases.warehouse
    wh.replace(shifts, shift_rows(["a", "b", "c", "d", "e"], dt.date(2026, 3, 28)))
    found = wh.lookup(shifts.c.shift_id, ["a", "c", "e", "zz", None], shifts.c.business_date)
    assert sorted(found["shift_id"]) == ["a", "c", "e"]
    assert found["business_date"].to_list() == [dt.date(2026, 3, 28)] * 3
    assert wh.scalar(sa.select(sa.func.count()).select_from(shifts)) == 5


def test_lookup_finds_keys_whatever_characters_they_hold(databases):
    """Source ids are the booking system's text: quotes, backslashes, braces and commas (which
    PostgreSQL's array input treats specially), spaces, NULL as a word, other scripts."""
    wh = databases.warehouse
    odd = ["it's", 'say "hi"', "back\\slash", "{brace}", "a,b", " spaced ", "NULL", "ürün-7", "end\\"]
    wh.replace(shifts, shift_rows([*odd, "plain"], dt.date(2026, 3, 28)))
    found = wh.lookup(shifts.c.shift_id, [*odd, "absent", "NULL "])
    assert sorted(found["shift_id"]) == sorted(odd)
    assert wh.lookup(shifts.c.shift_id, []).height == 0


def test_a_column_empty_in_its_first_rows_reads_with_its_later_type(databases):
    """SQLite's driver types columns from its first batch; a column null there must still
    read as text when text comes later."""
    wh = databases.warehouse
    rows = [None] * 1500 + ["late"]
    wh.replace(shifts, shift_rows([f"s{i:05d}" for i in range(len(rows))], dt.date(2026, 3, 28)))
    query = sa.select(
        shifts.c.shift_id,
        sa.case((shifts.c.shift_id == f"s{len(rows) - 1:05d}", "late"), else_=sa.null()).label("note"),
    ).order_by(shifts.c.shift_id)
    frame = wh.read(query)
    assert frame["note"].to_list() == rows


@pytest.mark.postgres
def test_a_warehouse_session_on_postgresql_sorts_in_the_memory_configured(postgres_url, monkeypatch):
    monkeypatch.setenv("BACKROOM_WAREHOUSE_WORK_MEM", "48MB")
    with Database(postgres_url, search_path=REPORTING_SCHEMA) as wh:
        assert wh.scalar(sa.text("SELECT current_setting('work_mem')")) == "48MB"
