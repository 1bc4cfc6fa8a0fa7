"""Alembic environment: the warehouse URL comes from the caller (`backroom db ...`)."""

from alembic import context

from backroom_reporting.warehouse.connections import REPORTING_SCHEMA, backend, create_engine
from backroom_reporting.warehouse.tables import WAREHOUSE

url = context.config.attributes["warehouse_url"]
postgres = backend(url) == "postgresql"
engine = create_engine(url, search_path=REPORTING_SCHEMA if postgres else None)

if postgres:
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {REPORTING_SCHEMA}")

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=WAREHOUSE,
        version_table_schema=REPORTING_SCHEMA if postgres else None,
        render_as_batch=not postgres,  # SQLite alters tables by copying them
    )
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
