"""The warehouse schema comes from Alembic, identically on SQLite and PostgreSQL."""

import datetime as dt

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


def test_weekly_snapshots_keep_the_rows_there_as_the_snapshot_of_their_week(databases):
    from alembic import command

    from backroom_reporting.warehouse.migrate import alembic_config

    command.downgrade(alembic_config(databases.warehouse_url), "0008_nightly_automation")
    engine = databases.warehouse.engine
    analytics = (
        "INSERT INTO customer_analytics (venue_id, customer_key, as_of_date, visits, visits_90d, "
        "lifetime_value_pence, special_occasion_nights, is_vip, loyalty_score, segment) "
        "VALUES ('leeds', :key, :day, 1, 1, 500, 0, :vip, 50.0, 'new')"
    )
    forecast = (
        "INSERT INTO revenue_forecast (venue_id, forecast_date, made_on, horizon_days, expected_to_trade, "
        "predicted_pence, method) VALUES ('leeds', :day, '2026-11-01', 1, :yes, 1000, 'seasonal_naive')"
    )
    with engine.begin() as conn:
        # Sunday 1 November 2026 ends the business week that began on Monday 26 October.
        conn.execute(sa.text(analytics), {"key": "k1", "day": dt.date(2026, 11, 1), "vip": False})
        conn.execute(sa.text(forecast), {"day": dt.date(2026, 11, 2), "yes": True})
    upgrade(databases.warehouse_url)

    with engine.connect() as conn:
        weeks = conn.execute(sa.text("SELECT week_start FROM customer_analytics")).scalars().all()
        made = conn.execute(sa.text("SELECT week_start, forecast_date FROM revenue_forecast")).all()
    assert [str(w) for w in weeks] == ["2026-10-26"]
    assert [(str(w), str(d)) for w, d in made] == [("2026-10-26", "2026-11-02")]
    # The next week's snapshot of the same customer is a row of its own.
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                analytics.replace("(venue_id,", "(week_start, venue_id,").replace(
                    "('leeds',", "(:week, 'leeds',"
                )
            ),
            {"week": dt.date(2026, 11, 2), "key": "k1", "day": dt.date(2026, 11, 8), "vip": False},
        )
    command.downgrade(alembic_config(databases.warehouse_url), "0008_nightly_automation")
    with engine.connect() as conn:
        kept = conn.execute(sa.text("SELECT as_of_date FROM customer_analytics")).scalars().all()
    assert [str(d) for d in kept] == ["2026-11-08"]  # the latest snapshot, as before the revision
