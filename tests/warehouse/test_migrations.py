"""The warehouse schema comes from Alembic, identically on SQLite and PostgreSQL."""

import pytest
import sqlalchemy as sa

from backroom_reporting.warehouse.migrate import current_revisions, head_revisions, upgrade
from backroom_reporting.warehouse.source_contract import CONTRACT
from backroom_reporting.warehouse.tables import WAREHOUSE


def test_upgrade_creates_every_table_at_head(databases):
    assert current_revisions(databases.warehouse_url) == head_revisions()
    with databases.warehouse.engine.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names())
    assert {f"raw_{name}" for name in CONTRACT} | {"raw_quarantine"} <= tables
    assert set(WAREHOUSE.tables) <= tables


def test_upgrade_is_repeatable(databases):
    upgrade(databases.warehouse_url)
    assert current_revisions(databases.warehouse_url) == head_revisions()


def test_schema_matches_the_table_definitions(databases):
    """No difference between warehouse/tables/ and what the migrations built."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with databases.warehouse.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), WAREHOUSE)
    assert diff == []


@pytest.mark.postgres
def test_postgres_keeps_reporting_tables_in_their_schema_with_brin_time_indexes(postgres_url):
    upgrade(postgres_url)
    engine = sa.create_engine(postgres_url)
    with engine.connect() as conn:
        schemas = (
            conn.execute(
                sa.text(
                    "SELECT DISTINCT table_schema FROM information_schema.tables"
                    " WHERE table_name LIKE 'raw_%'"
                )
            )
            .scalars()
            .all()
        )
        brin = conn.execute(
            sa.text(
                "SELECT tablename, indexdef FROM pg_indexes"
                " WHERE schemaname = 'reporting' AND indexdef LIKE '%USING brin%'"
            )
        ).all()
    engine.dispose()
    assert schemas == ["reporting"]
    facts = {f"raw_{r.name}": r.business_time for r in CONTRACT.values() if r.is_fact}
    indexed = {table: defn.rsplit("(", 1)[1].rstrip(")") for table, defn in brin}
    assert facts.items() <= indexed.items()


def test_every_migration_downgrades_and_upgrades_again(databases):
    from alembic import command

    from backroom_reporting.warehouse.migrate import alembic_config

    command.downgrade(alembic_config(databases.warehouse_url), "base")
    assert current_revisions(databases.warehouse_url) == frozenset()
    upgrade(databases.warehouse_url)
    assert current_revisions(databases.warehouse_url) == head_revisions()
