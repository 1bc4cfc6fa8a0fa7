"""Erasing a customer or a recipient leaves no trace in any table or file, and the nights'
figures stay; exporting a customer gives back their rows. Looked for independently: every cell
of every table read as text, every file's text read with its format's own library."""

from __future__ import annotations

import datetime as dt
import email.message
import hashlib
import hmac
import io
import json

import polars as pl
import xlsxwriter
from click.testing import CliRunner

from backroom_reporting.cli import main
from backroom_reporting.portal import tokens
from backroom_reporting.privacy import audit
from backroom_reporting.rendering.model import RenderedFile
from backroom_reporting.rendering.pdf import render_pdf
from backroom_reporting.rendering.store import ReportStore
from backroom_reporting.subscriptions import service
from backroom_reporting.warehouse.tables.aggregations import customer_visits, daily_aggregations
from backroom_reporting.warehouse.tables.customers import customer_analytics, top_customers
from backroom_reporting.warehouse.tables.deliveries import report_deliveries
from backroom_reporting.warehouse.tables.raw import raw_quarantine
from backroom_reporting.warehouse.tables.reports import report_generation_history
from backroom_reporting.warehouse.types import table_schema
from tests.commands import ok
from tests.operations.test_housekeeping import generation
from tests.privacy.conftest import files_naming, warehouse_cells
from tests.privacy.test_retention import delivery, event, write_events
from tests.subscriptions import LEEDS, set_venues, write_layouts

KEY = "a-test-pseudonym-key"
# small_world's first customer, as its generator writes them (tests/worlds.py).
C1 = {"id": "c1", "email": "c1@example.com", "phone": "07700900001", "name": "Cus1 Tomer"}


def key_of(customer_id: str) -> str:
    return hmac.new(KEY.encode(), customer_id.encode(), hashlib.sha256).hexdigest()[:16]


def write(db, table, rows: list[dict]) -> None:
    db.append(table, pl.DataFrame(rows, schema=table_schema(table)))


def use(monkeypatch, databases, tmp_path) -> tuple[ReportStore, object]:
    store, outbox = ReportStore(tmp_path / "reports"), tmp_path / "outbox"
    outbox.mkdir()
    for name, value in {
        "BACKROOM_WAREHOUSE_URL": databases.warehouse_url,
        "BACKROOM_SOURCE_URL": databases.source_url,
        "BACKROOM_REPORT_STORE": str(store.root),
        "BACKROOM_OUTBOX": str(outbox),
        "BACKROOM_PSEUDONYM_KEY": KEY,
    }.items():
        monkeypatch.setenv(name, value)
    return store, outbox


def spreadsheet(cell: str) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out)
    book.add_worksheet("Top customers").write(0, 0, cell)
    book.close()
    return out.getvalue()


def analytics_row(customer_id: str) -> dict:
    return dict(
        week_start=dt.date(2026, 3, 2),
        venue_id="leeds",
        customer_key=key_of(customer_id),
        as_of_date=dt.date(2026, 3, 8),
        visits=2,
        visits_90d=2,
        lifetime_value_pence=1000,
        special_occasion_nights=0,
        is_vip=False,
        loyalty_score=50.0,
        segment="regular",
    )


def top_row(customer_id: str, rank: int) -> dict:
    return dict(
        venue_id="leeds",
        business_date=dt.date(2026, 3, 7),
        ranking="spend",
        rank=rank,
        customer_key=key_of(customer_id),
        visits_90d=2,
        spend_90d_pence=1000,
        segment="regular",
    )


def quarantined(record_id: str, customer_id: str, detail: str) -> dict:
    return dict(
        source_table="bookings",
        business_date=dt.date(2026, 3, 7),
        record_id=record_id,
        reason="not_positive",
        detail=detail,
        raw_values=json.dumps({"booking_id": record_id, "customer_id": customer_id, "party_size": "0"}),
    )


def eml(to: str, body: str) -> bytes:
    message = email.message.EmailMessage()
    message["To"], message["From"], message["Subject"] = to, "reports@backroom.example", "Daily Summary"
    message.set_content(body, cte="quoted-printable")
    return message.as_bytes()


def test_erasing_a_customer_leaves_no_trace_and_the_figures_stay(world, databases, tmp_path, monkeypatch):
    db = databases.warehouse
    store, outbox = use(monkeypatch, databases, tmp_path)
    write(db, customer_analytics, [analytics_row("c1"), analytics_row("c2")])
    write(db, top_customers, [top_row("c1", 1), top_row("c2", 2)])
    write(
        db,
        raw_quarantine,
        [
            quarantined("bk-bad-1", "c1", "not_positive: party_size='0'"),
            quarantined("bk-bad-2", "c2", "not_positive: party_size='0'"),
        ],
    )
    html = f"<html><body><h1>Top customers</h1><p>{C1['name']} spent £10</p></body></html>"

    def stored(name: str, content: bytes):
        return store.put(RenderedFile(name.rsplit(".", 1)[1], name, content, "application/octet-stream"))

    named = [
        stored("named.html", html.encode()),
        stored("named.csv", f"customer,email\n{C1['name']},{C1['email']}\n".encode()),
        stored("named.xlsx", spreadsheet(C1["phone"])),
        stored("named.pdf", render_pdf(html)),
    ]
    other = [stored("other.html", b"<p>Cus2 Tomer</p>"), stored("other.pdf", render_pdf("<p>Cus2 Tomer</p>"))]
    write(
        db,
        report_generation_history,
        [generation("g-named", "sub-top", 1, named), generation("g-other", "sub-other", 1, other)],
    )
    store.publish_latest("sub-top", "top-2026-03-07", [f.path for f in named])
    (outbox / "m1.eml").write_bytes(eml("owner@backroom.example", f"Welcome back, {C1['name']}!"))
    (outbox / "d1.sms.json").write_text(json.dumps({"to": C1["phone"], "body": "Your table is ready"}))
    (outbox / "d2.sms.json").write_text(json.dumps({"to": "07700900002", "body": "Your table is ready"}))
    figures = db.read_table(daily_aggregations)
    visits = db.read_table(customer_visits)
    assert "c1" in visits["customer_id"].to_list()

    exported = tmp_path / "c1.json"
    ok(CliRunner().invoke(main, ["gdpr", "export-customer", "c1", "--out", str(exported)]))
    held = json.loads(exported.read_text())
    tables = held["tables"]
    assert [r["customer_id"] for r in tables["raw_customers"]] == ["c1"]
    expected_bookings = sorted(b["booking_id"] for b in world["bookings"] if b["customer_id"] == "c1")
    assert sorted(r["booking_id"] for r in tables["raw_bookings"]) == expected_bookings
    assert {r["customer_key"] for r in tables["customer_analytics"]} == {key_of("c1")}
    assert [r["record_id"] for r in tables["raw_quarantine"]] == ["bk-bad-1"]
    assert len(tables["customer_visits"]) == visits.filter(pl.col("customer_id") == "c1").height

    needles = [C1["email"], C1["phone"], C1["name"]]
    # The search below finds them before the erasure, in every format (the PDF's text too).
    pdfs = {p for p in files_naming(store.root, needles) if p.endswith(".pdf")}
    assert pdfs == {named[3].path, "latest/sub-top/top-2026-03-07.pdf"}
    assert files_naming(outbox, needles) == ["d1.sms.json", "m1.eml"]
    assert any(c[2] == "c1" for c in warehouse_cells(databases))

    printed = ok(CliRunner().invoke(main, ["gdpr", "erase-customer", "c1"]))
    for line in ("raw_customers", "raw_bookings", "customer_visits", "customer_analytics", "raw_quarantine"):
        assert line in printed
    assert "outbox files" in printed and "report files" in printed

    cells = warehouse_cells(databases)
    assert [c for c in cells if any(n.lower() in c[2].lower() for n in needles)] == []
    assert [c for c in cells if c[2] in ("c1", key_of("c1"))] == []
    assert files_naming(store.root, needles) == [] and files_naming(outbox, needles) == []
    # What names someone else stays.
    assert all(store.path_of(f.path).exists() for f in other)
    assert (outbox / "d2.sms.json").exists()
    assert {r["record_id"] for r in db.read_table(raw_quarantine).to_dicts()} == {"bk-bad-2"}
    assert db.read_table(top_customers)["customer_key"].to_list() == [key_of("c2")]
    assert db.read_table(daily_aggregations).equals(figures)

    log = audit.entries(db)
    assert [e.action for e in log[-2:]] == ["export", "erasure"]
    assert log[-1].subject == "sha256:" + hashlib.sha256(b"c1").hexdigest()
    assert audit.verify(db) is None


def test_erasing_a_recipient_removes_them_everywhere(databases, tmp_path, monkeypatch):
    db = databases.warehouse
    _, outbox = use(monkeypatch, databases, tmp_path)
    set_venues(db, LEEDS)
    now = dt.datetime.now(dt.UTC)
    for rid, name, address, phone in (
        ("rcp-pat", "Pat Quinlan", "pat.quinlan@example.com", "07700 900456"),
        ("rcp-sam", "Sam Okafor", "sam@example.com", None),
    ):
        service.add_recipient(
            db,
            name,
            "manager",
            recipient_id=rid,
            email=address,
            phone=phone,
            channels=["email"],
            email_consent=True,
            sms_consent=phone is not None,
            how="signed form",
            by="owner",
            now=now,
        )
        service.add_subscription(
            db,
            rid,
            "daily_summary",
            layouts_dir=write_layouts(tmp_path / "layouts"),
            subscription_id=f"sub-{rid}",
        )
        tokens.issue(db, rid, now)
        write(
            db,
            report_deliveries,
            [
                dict(
                    delivery(f"d-{rid}", now), recipient_id=rid, subscription_id=f"sub-{rid}", address=address
                )
            ],
        )
        write_events(db, [dict(event(f"d-{rid}", now), detail=f"delivered to {address}")])
        (outbox / f"d-{rid}.eml").write_bytes(eml(f"{name} <{address}>", f"Hello {name}"))

    needles = ["Pat Quinlan", "pat.quinlan@example.com", "+447700900456", "rcp-pat"]
    holding = {t for t, _, v in warehouse_cells(databases) if any(n in v for n in needles)}
    assert holding >= {"report_recipients", "report_subscriptions", "report_deliveries", "api_tokens"}
    assert holding >= {"consent_events", "report_delivery_history"}

    printed = ok(CliRunner().invoke(main, ["gdpr", "erase-recipient", "rcp-pat"]))
    for table in (
        "report_recipients",
        "report_subscriptions",
        "report_deliveries",
        "consent_events",
        "api_tokens",
    ):
        assert table in printed

    cells = warehouse_cells(databases)
    assert [c for c in cells if any(n.lower() in c[2].lower() for n in needles)] == []
    assert files_naming(outbox, needles) == []
    assert (outbox / "d-rcp-sam.eml").exists()
    assert [r.recipient_id for r in service.list_recipients(db)] == ["rcp-sam"]
