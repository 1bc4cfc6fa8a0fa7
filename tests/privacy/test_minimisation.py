"""The warehouse keeps no customer's email, phone, name or date of birth; the contract still
checks them at load, so a bad one quarantines the row with its values for a person to fix."""

import json

import sqlalchemy as sa

from backroom_reporting.warehouse.tables.raw import RAW, raw_quarantine
from tests.privacy.conftest import LOADED, NIGHTS, WINDOW, warehouse_cells
from tests.worlds import small_world, write_source

RAW_CUSTOMERS_COLUMNS = {"customer_id", "created_at", "marketing_consent", "is_vip"}


def test_the_warehouse_holds_no_customer_contact_details(databases, materialise):
    world = small_world(NIGHTS)
    broken = dict(
        world["customers"][0],
        customer_id="c9",
        email="nine@example.com",
        phone="07700900999",
        first_name=None,
        date_of_birth=None,
    )
    world["customers"].append(broken)
    write_source(databases.source_url, world)
    materialise(WINDOW, LOADED)

    schema = "reporting" if databases.backend == "postgresql" else None
    with databases.warehouse.engine.connect() as conn:
        columns = {c["name"] for c in sa.inspect(conn).get_columns("raw_customers", schema=schema)}
    assert columns == RAW_CUSTOMERS_COLUMNS
    kept = databases.warehouse.read_table(RAW["customers"])
    assert sorted(kept["customer_id"]) == ["c1", "c2", "c3"]

    personal = []
    for customer in world["customers"][:3]:
        personal += [
            customer["email"],
            customer["phone"],
            customer["first_name"],
            customer["date_of_birth"].isoformat(),
        ]
    cells = warehouse_cells(databases)
    found = [(t, c, v) for t, c, v in cells if any(p.lower() in v.lower() for p in personal)]
    assert found == []

    (quarantined,) = databases.warehouse.read_table(raw_quarantine).to_dicts()
    assert quarantined["record_id"] == "c9" and quarantined["reason"].startswith("missing")
    assert json.loads(quarantined["raw_values"])["email"] == "nine@example.com"
