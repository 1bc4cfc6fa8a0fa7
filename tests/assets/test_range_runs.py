"""A range run (a backfill) reads and writes its nights a chunk at a time: the tables, each
night's metadata and each night's check results are what the run in one piece gives."""

import datetime as dt

import sqlalchemy as sa

from backroom_reporting.definitions import defs
from backroom_reporting.demo.generator import generate
from backroom_reporting.metrics import business_time
from backroom_reporting.metrics.business_time import BusinessWindow
from backroom_reporting.warehouse.tables import WAREHOUSE

# Eight weeks to the spring-forward night, presales and deposits before them included.
WINDOW = BusinessWindow(dt.date(2026, 2, 2), dt.date(2026, 3, 29))
NOT_CHUNKED = {
    "subscription_reports",
    "report_generation_history",
    "report_templates",
    "scheduled_jobs",
    "job_dependencies",
    "job_execution_history",
}
# When a row was written, not what it says.
MOMENTS = {"loaded_at", "as_of", "aggregated_at", "computed_at", "expires_at", "recorded_at"}


def warehouse_tables(databases) -> dict[str, list]:
    db = databases.warehouse
    found = {}
    for table in WAREHOUSE.tables.values():
        rows = db.read_table(table)
        found[table.name] = rows.drop([c for c in rows.columns if c in MOMENTS]).rows()
    return found


def per_night(stages) -> dict[tuple[str, str], dict]:
    return {
        (m.asset_key.to_user_string(), m.partition): {
            k: v.value for k, v in m.metadata.items() if not k.startswith("step_") and k not in MOMENTS
        }
        for stage in stages
        for m in stage.materializations
        if m.partition
    }


def failed(stages) -> dict[str, tuple[str, list[str]]]:
    return {name: (c.severity, c.partitions) for s in stages for name, c in s.failed_checks.items()}


def test_a_range_run_in_chunks_gives_what_the_run_in_one_piece_gives(databases, materialise, monkeypatch):
    generate(databases.source_url, 1, WINDOW.first_day + dt.timedelta(days=35), WINDOW.last_day, seed=5)
    selection = [
        k.to_user_string()
        for k in defs.resolve_asset_graph().get_all_asset_keys()
        if k.to_user_string() not in NOT_CHUNKED
    ]
    monkeypatch.setattr(business_time, "CHUNK_VENUE_NIGHTS", 5)  # one venue: five nights a chunk
    chunked = materialise(WINDOW, selection)
    tables = warehouse_tables(databases)
    monkeypatch.setattr(business_time, "CHUNK_VENUE_NIGHTS", len(WINDOW.days))
    whole = materialise(WINDOW, selection)

    assert warehouse_tables(databases) == tables
    assert per_night(chunked) == per_night(whole)
    assert failed(chunked) == failed(whole)
    # Not vacuous: each night of the nightly assets is described, and the figures are there.
    nights = [night for asset, night in per_night(whole) if asset == "daily_aggregations"]
    assert sorted(nights) == [day.isoformat() for day in WINDOW.days]
    for asset in ("raw_check_ins", "top_customers", "kpi_calculations", "event_performance_analytics"):
        assert sum(1 for a, _ in per_night(whole) if a == asset) == len(WINDOW.days), asset
    with databases.warehouse.engine.connect() as conn:
        trading = conn.execute(
            sa.text("SELECT COUNT(*) FROM daily_aggregations WHERE check_ins > 0")
        ).scalar()
    assert trading >= 10
