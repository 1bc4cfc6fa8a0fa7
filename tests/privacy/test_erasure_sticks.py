"""An erased customer stays erased when the raw layer loads the same nights and the customers
snapshot again from a booking system that still has them: no table names them again, the
nights' figures stay, and nothing new is quarantined. Looked for with the independent search
of tests/privacy/conftest.py."""

from __future__ import annotations

import hashlib
import json

import polars as pl
from click.testing import CliRunner

from backroom_reporting.cli import main
from backroom_reporting.ingest.guards import ACCEPT_TAG
from backroom_reporting.privacy.erased import forget_erased
from backroom_reporting.warehouse.source_contract import CONTRACT
from backroom_reporting.warehouse.tables.aggregations import daily_aggregations
from backroom_reporting.warehouse.tables.raw import RAW, erased_customers, raw_quarantine
from tests.commands import ok
from tests.privacy.conftest import LOADED, NIGHTS, WINDOW, warehouse_cells
from tests.privacy.test_erasure import use
from tests.worlds import at, small_world, write_source

# small_world's customers as its generator writes them (tests/worlds.py).
C1 = ["c1", "c1@example.com", "07700900001", "Cus1 Tomer"]
C2 = ["c2", "c2@example.com", "07700900002", "Cus2 Tomer"]
# A customer whose own row is bad: no phone, so their email and name are quarantined.
C4 = ["c4", "c4@example.com", "Cus4"]
FACTS = ("bookings", "payments", "ticket_sales", "check_ins", "feedback")
MONEY = {"bookings": "deposit_pence", "payments": "amount_pence", "ticket_sales": "gross_pence"}


def naming(databases, person: list[str]) -> list[tuple[str, str, str]]:
    """Cells holding the person's id, or their email, phone or name anywhere in their text."""
    customer_id, *terms = person
    return [
        cell
        for cell in warehouse_cells(databases)
        if cell[2] == customer_id or any(t.lower() in cell[2].lower() for t in terms)
    ]


def raw_facts(db, name: str) -> pl.DataFrame:
    return db.read_table(RAW[name]).sort(CONTRACT[name].key)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_an_erased_customer_stays_erased_when_their_nights_load_again(
    world, databases, materialise, tmp_path, monkeypatch
):
    db = databases.warehouse
    use(monkeypatch, databases, tmp_path)
    # Every fact of the world is loaded, and the sums below are the world's own.
    for name in FACTS:
        assert raw_facts(db, name).height == len(world[name]), name
    for name, column in MONEY.items():
        assert raw_facts(db, name)[column].sum() == sum(r[column] for r in world[name]), name
    figures = db.read_table(daily_aggregations)
    quarantined = db.read_table(raw_quarantine)
    assert figures.height == len(NIGHTS) and naming(databases, C1) and naming(databases, C2)

    ok(CliRunner().invoke(main, ["gdpr", "erase-customer", "c1"]))
    listed = db.read_table(erased_customers)
    assert listed["customer_hash"].to_list() == [sha256("c1")]
    before = {name: raw_facts(db, name) for name in FACTS}

    materialise(WINDOW, LOADED)  # the same nights and snapshots, from the unchanged source

    assert naming(databases, C1) == []
    assert db.read_table(daily_aggregations).equals(figures)
    assert db.read_table(raw_quarantine).equals(quarantined)
    assert db.read_table(erased_customers).equals(listed)
    assert db.read_table(RAW["customers"])["customer_id"].to_list() == ["c2", "c3"]
    for name in FACTS:
        facts = raw_facts(db, name)
        # The rows come back exactly as erasure left them: every fact, without c1.
        assert facts.equals(before[name]), name
        assert facts.height == len(world[name]), name
        gone = None if RAW[name].c.customer_id.nullable else "removed"
        key = CONTRACT[name].key
        expected = sorted(
            (r[key], gone if r["customer_id"] == "c1" else r["customer_id"]) for r in world[name]
        )
        assert list(facts.select(key, "customer_id").iter_rows()) == expected, name
    for name, column in MONEY.items():
        assert raw_facts(db, name)[column].sum() == sum(r[column] for r in world[name]), name
    # Another customer loads as before.
    assert {c[0] for c in naming(databases, C2)} >= {"raw_customers", "raw_ticket_sales", "raw_check_ins"}


def test_an_erased_customer_s_rows_quarantined_again_keep_nothing_of_theirs(
    databases, materialise, tmp_path, monkeypatch
):
    """c4's own customers row is bad (no phone), and so is one booking of c1's (no one in the
    party): erased, c4 is left out of the reload altogether, and c1's booking is quarantined
    again with the tombstone where their id was."""
    world = small_world(NIGHTS)
    c4 = dict(world["customers"][0], customer_id="c4", email="c4@example.com", phone=None, first_name="Cus4")
    world["customers"].append(c4)
    bad = dict(world["bookings"][0], booking_id="b-bad", party_size=0, booking_start=at(NIGHTS[0], "23:00"))
    world["bookings"].append(bad)
    write_source(databases.source_url, world)
    accept = {ACCEPT_TAG: "all"}  # one bad row in a handful trips the load guards
    materialise(WINDOW, LOADED, accept)
    db = databases.warehouse
    use(monkeypatch, databases, tmp_path)
    assert {c[0] for c in naming(databases, C4)} == {"raw_quarantine"}
    held = db.read_table(raw_quarantine)
    assert sorted(held["record_id"].to_list()) == ["b-bad", "c4"]

    for customer in ("c1", "c4"):
        ok(CliRunner().invoke(main, ["gdpr", "erase-customer", customer]))
    assert db.read_table(raw_quarantine).height == 0
    materialise(WINDOW, LOADED, accept)

    assert naming(databases, C1) == [] and naming(databases, C4) == []
    again = db.read_table(raw_quarantine)
    assert again["record_id"].to_list() == ["b-bad"]
    values = json.loads(again["raw_values"][0])
    assert values["customer_id"] == "removed" and values["party_size"] == "0"
    assert again["reason"].to_list() == ["not_positive"]
    assert sorted(db.read_table(erased_customers)["customer_hash"].to_list()) == sorted(
        [sha256("c1"), sha256("c4")]
    )
    assert db.read_table(RAW["customers"])["customer_id"].to_list() == ["c2", "c3"]


def test_forgetting_replaces_only_the_erased_customers_id_as_erasure_does():
    erased = frozenset({sha256("c1")})
    facts = pl.DataFrame({"customer_id": ["c1", "c2", None, "c10"], "n": [1, 2, 3, 4]})
    bookings = forget_erased(facts, CONTRACT["bookings"], erased)
    assert bookings.to_dicts() == [
        dict(r, customer_id="removed" if r["n"] == 1 else r["customer_id"]) for r in facts.to_dicts()
    ]
    payments = forget_erased(facts, CONTRACT["payments"], erased)
    assert payments["customer_id"].to_list() == [None, "c2", None, "c10"]
    assert forget_erased(facts, CONTRACT["customers"], erased)["customer_id"].to_list() == ["c2", None, "c10"]
    venues = pl.DataFrame({"venue_id": ["c1"]})
    assert forget_erased(venues, CONTRACT["venues"], erased).equals(venues)
    assert forget_erased(facts, CONTRACT["bookings"], frozenset()).equals(facts)
