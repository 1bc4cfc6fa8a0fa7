"""Nothing good is overwritten by something bad.

A generated venue is loaded for five weeks; then its booking system goes wrong in one way
or another and the last night is loaded again, as the morning's closing run would. Every
warehouse table is compared before and after: no good row may change unless the source
really changed, and what was refused says why.
"""

import datetime as dt
import shutil
import uuid
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from backroom_reporting.backfill import backfill
from backroom_reporting.cli import main
from backroom_reporting.demo.generator import generate
from backroom_reporting.metrics.business_time import BusinessWindow
from backroom_reporting.warehouse.migrate import upgrade
from backroom_reporting.warehouse.source_contract import CONTRACT
from backroom_reporting.warehouse.tables import WAREHOUSE
from backroom_reporting.warehouse.tables.aggregations import night_status
from tests.assets.conftest import definitions_for
from tests.conftest import POSTGRES_URL, Databases

WINDOW = BusinessWindow(dt.date(2026, 10, 12), dt.date(2026, 11, 21))  # the last night is a Saturday
LAST = BusinessWindow(WINDOW.last_day, WINDOW.last_day)
NIGHTLY = [
    *(f"raw_{name}" for name in CONTRACT),
    "customer_visits",
    "hourly_aggregations",
    "daily_aggregations",
]
NOT_BUILT = {
    "subscription_reports",
    "report_generation_history",
    "scheduled_jobs",
    "job_dependencies",
    "job_execution_history",
}
# Columns that say when something ran, not what the figures are.
WHEN = {"loaded_at", "as_of", "aggregated_at", "computed_at"}


def compared(db) -> dict[str, pl.DataFrame]:
    """Every warehouse table the nightly assets write, sorted, without its run times."""
    tables = {}
    for name in (
        "raw_quarantine",
        "raw_loads",
        "night_status",
        *(n for n in NIGHTLY if n in WAREHOUSE.tables),
    ):
        table = WAREHOUSE.tables[name]
        frame = db.read_table(table)
        frame = frame.drop([c for c in frame.columns if c in WHEN])
        tables[name] = frame.sort(frame.columns, nulls_last=True)
    return tables


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def loaded_venue(request, tmp_path_factory):
    """Five weeks of one venue, loaded and aggregated: on SQLite files, or in a PostgreSQL
    database kept as a template for each test's copy."""
    folder = tmp_path_factory.mktemp("venue")
    if request.param == "sqlite":
        dbs = Databases("sqlite", f"sqlite:///{folder}/booking.db", f"sqlite:///{folder}/warehouse.db")
    else:
        engine = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        name = f"bt_base_{uuid.uuid4().hex[:8]}"
        with engine.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = sa.make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
        dbs = Databases("postgresql", url, url)
    generate(dbs.source_url, 1, WINDOW.first_day, WINDOW.last_day, seed=41)
    upgrade(dbs.warehouse_url)
    with dg.DagsterInstance.ephemeral() as instance:
        # Everything a rebuild reaches (all but the reports and the job tables).
        graph = definitions_for(dbs).resolve_asset_graph()
        built = [k for k in graph.materializable_asset_keys if k.to_user_string() not in NOT_BUILT]
        backfill(definitions_for(dbs), WINDOW, instance, selection=built)
    yield dbs
    if request.param == "postgres":
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@pytest.fixture
def venue(loaded_venue, tmp_path) -> Databases:
    """A copy of the loaded venue of the test's own."""
    if loaded_venue.backend == "sqlite":
        for name in ("booking.db", "warehouse.db"):
            shutil.copy(
                Path(loaded_venue.source_url.removeprefix("sqlite:///")).parent / name, tmp_path / name
            )
        return Databases("sqlite", f"sqlite:///{tmp_path}/booking.db", f"sqlite:///{tmp_path}/warehouse.db")
    engine = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    template = sa.make_url(loaded_venue.source_url).database
    name = f"bt_{uuid.uuid4().hex[:12]}"
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    engine.dispose()
    url = sa.make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    return Databases("postgresql", url, url)


def source_sql(venue: Databases, *statements: str) -> None:
    engine = sa.create_engine(venue.source_url)
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(sa.text(statement))
    engine.dispose()


def night_sql(column: str) -> str:
    """SQL selecting the rows of the last night by their time column, on either backend."""
    return f"{column} >= '{LAST.start.isoformat()}' AND {column} < '{LAST.end.isoformat()}'"


def reload_last_night(venue: Databases, tags: dict | None = None) -> dict:
    """The last night's closing run and what follows it; the checks that failed, by name."""
    keys = [dg.AssetKey(k) for k in NIGHTLY]
    with dg.DagsterInstance.ephemeral() as instance:
        stages = backfill(definitions_for(venue), LAST, instance, selection=keys, tags=tags)
    return {name: failed for stage in stages for name, failed in stage.failed_checks.items()}


def unchanged_except(before: dict, after: dict, *allowed: str) -> None:
    for name, frame in before.items():
        if name not in allowed:
            assert after[name].equals(frame), f"{name} changed"


def test_an_empty_source_replaces_nothing(venue):
    with venue.warehouse as db:
        before = compared(db)
    source_sql(venue, *(f"DELETE FROM {name}" for name in CONTRACT))
    reload_last_night(venue)
    with venue.warehouse as db:
        after = compared(db)
        status = db.read_table(night_status).filter(pl.col("business_date") == LAST.last_day)
    unchanged_except(before, after)
    assert status["final"][0]  # the night's figures stand


def test_one_emptied_snapshot_changes_no_night(venue):
    with venue.warehouse as db:
        before = compared(db)
    source_sql(venue, "DELETE FROM customers")
    with dg.DagsterInstance.ephemeral() as instance:
        wired = definitions_for(venue)
        result = dg.materialize(
            list(wired.assets), selection=["raw_customers"], resources=wired.resources, instance=instance
        )
    [guard] = [
        e.event_specific_data
        for e in result.all_events
        if e.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION
        and e.event_specific_data.check_name == "load_guard"
    ]
    assert not guard.passed
    assert guard.description.startswith("customers is empty in the booking system but the warehouse holds ")
    reload_last_night(venue)
    with venue.warehouse as db:
        after = compared(db)
    unchanged_except(before, after)


def test_a_collapsed_night_keeps_its_rows_until_accepted(venue, home_instance):
    with venue.warehouse as db:
        before = compared(db)
    # Nine scans in ten lost on the way from the scanners.
    source_sql(
        venue,
        f"DELETE FROM check_ins WHERE {night_sql('scanned_at')} AND check_in_id NOT LIKE '%0'",
    )
    failed = reload_last_night(venue)
    with venue.warehouse as db:
        after = compared(db)
    unchanged_except(before, after)
    assert failed["raw_check_ins:load_guard"].partitions == [LAST.last_day.isoformat()]
    # An engineer who knows the loss is real accepts it: the night is replaced.
    accepted = CliRunner().invoke(
        main,
        [
            "rebuild",
            "--from",
            str(LAST.last_day),
            "--select",
            "raw_check_ins",
            "--accept-changes",
            "check_ins",
        ],
        env={"BACKROOM_SOURCE_URL": venue.source_url, "BACKROOM_WAREHOUSE_URL": venue.warehouse_url},
    )
    assert accepted.exit_code == 0, accepted.output
    with venue.warehouse as db:
        after = compared(db)
    kept = LAST.last_day
    scans = after["raw_check_ins"].filter(pl.col("business_date") == kept)
    assert scans.height and scans["check_in_id"].str.ends_with("0").all()
    assert (
        after["raw_check_ins"]
        .filter(pl.col("business_date") != kept)
        .equals(before["raw_check_ins"].filter(pl.col("business_date") != kept))
    )


def test_a_rebuild_whose_guard_trips_says_so_and_fails(venue, home_instance):
    source_sql(venue, "DELETE FROM customers")
    result = CliRunner().invoke(
        main,
        ["rebuild", "--from", str(LAST.last_day), "--select", "raw_customers"],
        env={"BACKROOM_SOURCE_URL": venue.source_url, "BACKROOM_WAREHOUSE_URL": venue.warehouse_url},
    )
    assert result.exit_code == 1, result.output
    assert "blocking check(s) failed" in result.output and "raw_customers:load_guard" in result.output


def test_a_night_failing_a_blocking_check_keeps_its_figures(venue):
    with venue.warehouse as db:
        before = compared(db)
    # The rota export lost the night's shifts: a trading night without staff is incomplete.
    source_sql(venue, f"DELETE FROM staff_shifts WHERE {night_sql('starts_at')}")
    reload_last_night(venue)
    with venue.warehouse as db:
        after = compared(db)
        status = (
            db.read_table(night_status).filter(pl.col("business_date") == LAST.last_day).row(0, named=True)
        )
    # The source really changed for raw_staff_shifts; the night's figures did not.
    unchanged_except(before, after, "raw_staff_shifts", "raw_loads", "night_status")
    assert "open_nights_complete" in status["failed_checks"]


def test_a_night_over_capacity_keeps_its_hours_and_its_figures(venue):
    with venue.warehouse as db:
        before = compared(db)
        capacity = db.scalar(sa.select(sa.text("capacity")).select_from(sa.text("raw_venues")))
        [scan] = db.read(
            sa.select(sa.text("*"))
            .select_from(sa.text("raw_check_ins"))
            .where(sa.text(f"direction = 'in' AND {night_sql('scanned_at')}"))
            .limit(1)
        ).to_dicts()
    # A door scanner replayed its queue: the venue's capacity twice over, scanned in at once.
    columns = [c.name for c in CONTRACT["check_ins"].table.columns]
    rows = [
        {**{c: scan[c] for c in columns}, "check_in_id": f"replayed-{i}", "customer_id": None}
        for i in range(2 * capacity)
    ]
    engine = sa.create_engine(venue.source_url)
    with engine.begin() as conn:
        conn.execute(sa.insert(sa.table("check_ins", *(sa.column(c) for c in columns))), rows)
    engine.dispose()
    failed = reload_last_night(venue)
    with venue.warehouse as db:
        after = compared(db)
    # The scans are what the source holds; neither the hours nor the night take them.
    unchanged_except(before, after, "raw_check_ins", "raw_loads", "night_status")
    night = str(LAST.last_day)
    for check in (
        "hourly_aggregations:occupancy_within_capacity",
        "daily_aggregations:occupancy_within_capacity",
    ):
        assert night in failed[check].partitions, check
    assert night in failed["daily_aggregations:matches_hourly"].partitions


def test_implausible_and_overflowing_money_is_kept_out(venue):
    with venue.warehouse as db:
        before = compared(db)
        [tx] = db.read(
            sa.select(sa.text("*"))
            .select_from(sa.text("raw_bar_transactions"))
            .where(sa.text(night_sql("occurred_at")))
            .limit(1)
        ).to_dicts()
    columns = [c.name for c in CONTRACT["bar_transactions"].table.columns]
    # Two rounds that would wrap a 64-bit sum, a round of £1 trillion, and 2^53 + 1 pence
    # (which a float would read as 2^53).
    amounts = (5 * 10**18, 5 * 10**18, 100_000_000_000_000, 2**53 + 1)
    rows = [
        {**{c: tx[c] for c in columns}, "transaction_id": f"hostile-{i}", "amount_pence": amount}
        for i, amount in enumerate(amounts)
    ]
    engine = sa.create_engine(venue.source_url)
    with engine.begin() as conn:
        conn.execute(sa.insert(sa.table("bar_transactions", *(sa.column(c) for c in columns))), rows)
    engine.dispose()
    reload_last_night(venue)
    with venue.warehouse as db:
        after = compared(db)
    # The night's figures stand; only the quarantine and its ledger learnt of the rows.
    unchanged_except(before, after, "raw_quarantine", "raw_loads")
    refused = after["raw_quarantine"].join(
        before["raw_quarantine"], on=after["raw_quarantine"].columns, how="anti"
    )
    assert sorted(refused["record_id"]) == [f"hostile-{i}" for i in range(len(amounts))]
    assert set(refused["reason"]) == {"implausible_value"}
    # The raw value is kept exactly as the source had it.
    assert str(2**53 + 1) in refused.filter(pl.col("record_id") == "hostile-3")["raw_values"][0]


def test_a_dropped_table_fails_the_run_and_changes_nothing(venue):
    with venue.warehouse as db:
        before = compared(db)
    source_sql(venue, "DROP TABLE bar_transactions")
    with pytest.raises(dg.Failure, match="has no table bar_transactions"):
        reload_last_night(venue)
    with venue.warehouse as db:
        after = compared(db)
    unchanged_except(before, after)
