"""Retention per table, with the days a file configures: older rows go, newer ones stay, and each
subscription's latest report stays whatever its age. Run as `backroom gdpr apply-retention`."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from backroom_reporting.cli import main
from backroom_reporting.privacy import audit
from backroom_reporting.privacy.retention import RetentionError, parse_retention
from backroom_reporting.rendering.model import RenderedFile
from backroom_reporting.rendering.store import ReportStore
from backroom_reporting.warehouse.tables.deliveries import report_deliveries, report_delivery_history
from backroom_reporting.warehouse.tables.raw import RAW, raw_quarantine, raw_snapshot_loads
from backroom_reporting.warehouse.tables.reports import report_generation_history
from backroom_reporting.warehouse.types import table_schema
from tests.commands import ok
from tests.operations.test_housekeeping import generation

UTC = dt.UTC
# Every table keeps 365 days but these; the world's nights are 6 and 7 March 2026.
RETENTION = """\
default_days: 365
days:
  report_files: 30
  report_generation_history: 30
  report_deliveries: 30
  report_delivery_history: 20
  access_log: 100
  raw_quarantine: 30
  raw_bookings: 13
  raw_check_ins: 13
"""


def write(db, table, rows: list[dict]) -> None:
    db.append(table, pl.DataFrame(rows, schema=table_schema(table)))


def delivery(delivery_id: str, status_at: dt.datetime) -> dict:
    return dict(
        delivery_id=delivery_id,
        subscription_id="sub-a",
        recipient_id="rcp-a",
        template_key="daily_summary",
        period="2026-03-01",
        period_first_day=dt.date(2026, 3, 1),
        period_last_day=dt.date(2026, 3, 1),
        channel="email",
        address="a@example.com",
        generation_id="g",
        status="delivered",
        status_at=status_at,
        attempts=1,
        queued_at=status_at,
    )


def event(delivery_id: str, at: dt.datetime) -> dict:
    return dict(delivery_id=delivery_id, status="delivered", at=at, source="test")


def write_events(db, rows: list[dict]) -> None:
    """Delivery events as the ledger writes them: the database numbers them."""
    with db.engine.begin() as conn:
        conn.execute(sa.insert(report_delivery_history), rows)


def quarantined(table: str, day: dt.date | None, record_id: str) -> dict:
    return dict(
        source_table=table,
        business_date=day,
        record_id=record_id,
        reason="missing_value",
        detail=f"missing_value: email of {record_id}",
        raw_values=f'{{"customer_id": "{record_id}", "email": "{record_id}@example.com"}}',
    )


def test_unknown_tables_and_days_below_one_are_refused(tmp_path):
    path = tmp_path / "retention.yaml"
    path.write_text("days:\n  raw_bookingz: 10\n")
    with pytest.raises(RetentionError, match=r"days.raw_bookingz.*unknown table 'raw_bookingz'"):
        parse_retention(path)
    path.write_text("default_days: 0\n")
    with pytest.raises(RetentionError, match="default_days: input should be greater than or equal to 1"):
        parse_retention(path)
    path.write_text("days:\n  access_log: 400\n")
    kept = parse_retention(path)
    assert (kept.days_for("access_log"), kept.days_for("raw_feedback")) == (400, 90)


def test_each_table_keeps_its_own_days(world, databases, tmp_path, monkeypatch):
    db = databases.warehouse
    now = dt.datetime(2026, 3, 20, 12, 0, tzinfo=UTC)

    def ago(days: float) -> dt.datetime:
        return now - dt.timedelta(days=days)

    store = ReportStore(tmp_path / "reports")
    old_pdf = store.put(RenderedFile("pdf", "a-40.pdf", b"a, 40 days ago", "application/pdf"))
    new_pdf = store.put(RenderedFile("pdf", "a-5.pdf", b"a, 5 days ago", "application/pdf"))
    lone_pdf = store.put(RenderedFile("pdf", "b-50.pdf", b"b's only report", "application/pdf"))
    write(
        db,
        report_generation_history,
        [
            dict(generation("a-40", "a", 0, [old_pdf]), generated_at=ago(40)),
            dict(generation("a-5", "a", 0, [new_pdf]), generated_at=ago(5)),
            dict(generation("a-failed", "a", 0, [], status="failed"), generated_at=ago(35)),
            dict(generation("b-50", "b", 0, [lone_pdf]), generated_at=ago(50)),  # b's latest
        ],
    )
    write(db, report_deliveries, [delivery("d-old", ago(31)), delivery("d-new", ago(2))])
    write_events(db, [event("d-old", ago(31)), event("d-new", ago(25)), event("d-new", ago(2))])
    audit.record(db, "usr-1", "view", ago(150), "report:a-40")
    audit.record(db, "usr-1", "view", ago(10), "report:a-5")
    write(
        db,
        raw_quarantine,
        [
            quarantined("bookings", dt.date(2026, 2, 10), "b-old"),
            quarantined("bookings", dt.date(2026, 3, 7), "b-new"),
            quarantined("customers", None, "c-undated"),
        ],
    )
    with db.engine.begin() as conn:  # the customers' last load, which wrote the undated row
        conn.execute(
            raw_snapshot_loads.update()
            .values(loaded_at=ago(45))
            .where(raw_snapshot_loads.c.source_table == "customers")
        )
    facts_before = {name: db.read_table(RAW[name]) for name in ("bookings", "check_ins", "payments")}
    named_before_7_march = {
        name: sum(
            1
            for r in facts_before[name].to_dicts()
            if r["business_date"] < dt.date(2026, 3, 7) and r["customer_id"]
        )
        for name in ("bookings", "check_ins")
    }
    assert min(named_before_7_march.values()) > 0

    retention = tmp_path / "retention.yaml"
    retention.write_text(RETENTION)
    for name, value in {
        "BACKROOM_RETENTION": str(retention),
        "BACKROOM_WAREHOUSE_URL": databases.warehouse_url,
        "BACKROOM_REPORT_STORE": str(store.root),
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr("backroom_reporting.privacy.commands._now", lambda: now)

    expected = [
        "report_files: 1 files older than 30 days",
        "report_generation_history: 2 rows older than 30 days",
        "report_delivery_history: 2 rows older than 20 days",
        "report_deliveries: 1 rows older than 30 days",
        "raw_quarantine: 2 raw values older than 30 days",
        f"raw_bookings: {named_before_7_march['bookings']} customer ids older than 13 days",
        "raw_payments: 0 customer ids older than 365 days",
        "raw_ticket_sales: 0 customer ids older than 365 days",
        f"raw_check_ins: {named_before_7_march['check_ins']} customer ids older than 13 days",
        "raw_feedback: 0 customer ids older than 365 days",
        "access_log: 1 entries older than 100 days",
    ]
    dry = ok(CliRunner().invoke(main, ["gdpr", "apply-retention", "--dry-run"]))
    assert dry.splitlines() == [f"{line} (would go)" for line in expected]
    assert db.read_table(report_deliveries).height == 2 and store.path_of(old_pdf.path).exists()

    done = ok(CliRunner().invoke(main, ["gdpr", "apply-retention"]))
    assert done.splitlines() == expected

    assert not store.path_of(old_pdf.path).exists()
    assert store.path_of(new_pdf.path).exists() and store.path_of(lone_pdf.path).exists()
    assert sorted(db.read_table(report_generation_history)["generation_id"]) == ["a-5", "b-50"]
    assert db.read_table(report_deliveries)["delivery_id"].to_list() == ["d-new"]
    assert db.read_table(report_delivery_history)["at"].to_list() == [ago(2)]

    values = {r["record_id"]: r for r in db.read_table(raw_quarantine).to_dicts()}
    assert values["b-new"]["raw_values"].startswith('{"customer_id": "b-new"')
    for gone in ("b-old", "c-undated"):
        assert values[gone]["raw_values"] == "{}" and "example.com" not in values[gone]["detail"]

    # Facts keep their rows and figures; only the customer of nights before 7 March goes.
    for name, before in facts_before.items():
        after = db.read_table(RAW[name])
        assert after.drop("customer_id").equals(before.drop("customer_id")), name
        for row_before, row_after in zip(before.to_dicts(), after.to_dicts(), strict=True):
            old_night = row_before["business_date"] < dt.date(2026, 3, 7) and name != "payments"
            gone = {"bookings": "removed", "check_ins": None}.get(name)
            want = gone if old_night and row_before["customer_id"] is not None else row_before["customer_id"]
            assert row_after["customer_id"] == want, (name, row_before)

    log = audit.entries(db)
    assert [(e.action, e.subject) for e in log] == [
        ("view", "report:a-5"),
        ("log_pruned", None),
        ("retention", None),
    ]
    assert (
        log[-1].actor.startswith("cli:")
        and log[-1].detail["raw_bookings"] == named_before_7_march["bookings"]
    )
    assert audit.verify(db) is None
