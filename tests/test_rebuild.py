"""`backroom rebuild`: a past week changed in the booking system is reloaded, with everything
downstream of it, into the warehouse named by the environment, recorded in the Dagster
instance in DAGSTER_HOME; nothing outside the week moves. On SQLite and PostgreSQL.

Expected figures come from tests/design_section_5.py, computed from the changed source rows.
"""

from __future__ import annotations

import datetime as dt
import re

import dagster as dg
import polars as pl
import pytest
from click.testing import CliRunner

from backroom_reporting.backfill import backfill
from backroom_reporting.cli import main
from backroom_reporting.definitions import defs
from backroom_reporting.metrics.business_time import BusinessWindow
from backroom_reporting.partitions import HISTORY_START
from backroom_reporting.warehouse.tables.aggregations import (
    SUMMARY_TOTALS,
    customer_visits,
    daily_aggregations,
    hourly_aggregations,
    monthly_summary,
    weekly_summary,
)
from backroom_reporting.warehouse.tables.kpis import kpi_calculations
from backroom_reporting.warehouse.tables.raw import RAW
from tests.assets.conftest import definitions_for
from tests.design_section_5 import assert_same, daily_figures
from tests.worlds import at, small_world, write_source

# Three business weeks, Monday 23 February to Sunday 15 March 2026; the middle one is rebuilt.
HISTORY = BusinessWindow(dt.date(2026, 2, 23), dt.date(2026, 3, 15))
WEEK = BusinessWindow(dt.date(2026, 3, 2), dt.date(2026, 3, 8))
CORRECTED_NIGHT, REFUNDED_NIGHT = dt.date(2026, 3, 6), dt.date(2026, 3, 7)
# Reports and deliveries go out when subscriptions are due, never by a rebuild.
NOT_REBUILT = {
    "subscription_reports",
    "report_generation_history",
    "report_deliveries",
    "report_delivery_history",
}
JOB_TABLES = {"scheduled_jobs", "job_dependencies", "job_execution_history"}
# Tables written by night, week or month, and the column that places each row.
PLACED_BY = {
    RAW["bar_transactions"]: "business_date",
    RAW["ticket_sales"]: "business_date",
    customer_visits: "business_date",
    hourly_aggregations: "business_date",
    daily_aggregations: "business_date",
    weekly_summary: "week_start",
    kpi_calculations: "period_end",
}


def changed_world() -> dict[str, list[dict]]:
    """The booking system after two corrections to the middle week: a bar sale's amount was
    keyed wrong (£4.50 for £9.75), and a ticket order was refunded days after the night."""
    world = small_world(HISTORY.days)
    sale = next(t for t in world["bar_transactions"] if t["occurred_at"] == at(CORRECTED_NIGHT, "22:30"))
    sale["amount_pence"] = 975
    order = next(t for t in world["ticket_sales"] if t["purchased_at"] == at(REFUNDED_NIGHT, "00:15"))
    order.update(status="refunded", refunded_at=at(REFUNDED_NIGHT, "12:00") + dt.timedelta(days=2))
    return world


def snapshot(databases, window: BusinessWindow) -> dict[str, pl.DataFrame]:
    """Each night-, week- or month-written table's rows outside `window`."""
    rows = {}
    for table, column in PLACED_BY.items():
        frame = databases.warehouse.read_table(table)
        outside = (pl.col(column) < window.first_day) | (pl.col(column) > window.last_day)
        rows[table.name] = frame.filter(outside).sort(frame.columns)
    frame = databases.warehouse.read_table(monthly_summary)
    rows["monthly_summary"] = frame.filter(pl.col("month_start") < dt.date(2026, 3, 1))
    return rows


@pytest.fixture
def built(databases, home):
    """The three weeks built from the source as it first was, on an instance of their own."""
    write_source(databases.source_url, small_world(HISTORY.days))
    keys = [
        k for k in defs.resolve_asset_graph().get_all_asset_keys() if k.to_user_string() not in NOT_REBUILT
    ]
    with dg.DagsterInstance.ephemeral() as instance:
        backfill(definitions_for(databases), HISTORY, instance, selection=keys)
    return databases


def rebuild(*args: str, databases=None):
    env = (
        {"BACKROOM_SOURCE_URL": databases.source_url, "BACKROOM_WAREHOUSE_URL": databases.warehouse_url}
        if databases
        else {}
    )
    return CliRunner().invoke(main, ["rebuild", *args], env=env)


def test_a_changed_week_is_rebuilt_from_the_source_and_nothing_else_moves(built, home_instance):
    databases = built
    before = snapshot(databases, WEEK)
    daily_before = {
        r["business_date"]: r for r in databases.warehouse.read_table(daily_aggregations).to_dicts()
    }
    write_source(databases.source_url, changed_world())

    result = rebuild("--from", str(WEEK.first_day), "--to", str(WEEK.last_day), databases=databases)
    assert result.exit_code == 0, result.output
    rebuild_id = re.search(r"backroom/rebuild=(\w+)", result.output).group(1)

    expected = {day: f for (venue, day), f in daily_figures(databases.source_url).items() if day in WEEK.days}
    daily = {r["business_date"]: r for r in databases.warehouse.read_table(daily_aggregations).to_dicts()}
    assert set(expected) == set(WEEK.days)
    for day, figures in expected.items():
        assert_same(figures, daily[day], day)
    # The corrections reached the figures (the comparison above is not of unchanged nights).
    assert (
        daily[CORRECTED_NIGHT]["bar_revenue_pence"]
        == daily_before[CORRECTED_NIGHT]["bar_revenue_pence"] + 525
    )
    assert (daily_before[REFUNDED_NIGHT]["tickets_sold"], daily[REFUNDED_NIGHT]["tickets_sold"]) == (2, 0)

    (week,) = (
        databases.warehouse.read_table(weekly_summary)
        .filter(pl.col("week_start") == WEEK.first_day)
        .to_dicts()
    )
    for column in SUMMARY_TOTALS:
        if column in next(iter(expected.values())):
            assert week[column] == sum(f[column] for f in expected.values()), column

    kpis = databases.warehouse.read_table(kpi_calculations).filter(
        (pl.col("kpi_key") == "daily_revenue") & (pl.col("period_type") == "day")
    )
    revenue = {r["period_start"]: r["value"] for r in kpis.to_dicts()}
    for day, f in expected.items():
        trading = f["check_ins"] > 0 or f["bar_revenue_pence"] > 0 or f["table_revenue_pence"] > 0
        assert revenue[day] == (f["gross_revenue_pence"] if trading else None), day

    after = snapshot(databases, WEEK)
    for name, rows in before.items():
        assert not rows.is_empty() and after[name].equals(rows), name

    runs = home_instance.get_run_records(dg.RunsFilter(tags={"backroom/rebuild": rebuild_id}))
    assert {r.dagster_run.status for r in runs} == {dg.DagsterRunStatus.SUCCESS}
    # One run per stage: the snapshots, the nights, the month and the week they fall in, then
    # the KPIs, which read the week and the month.
    assert len(runs) == 5
    ranges = sorted(
        (
            r.dagster_run.tags.get("dagster/asset_partition_range_start", ""),
            r.dagster_run.tags.get("dagster/asset_partition_range_end", ""),
        )
        for r in runs
    )
    nights = (str(WEEK.first_day), str(WEEK.last_day))
    assert ranges == sorted(
        [("", ""), nights, ("2026-03-01", "2026-03-01"), nights, ("2026-03-02", "2026-03-02")]
    )
    rebuilt = {
        record.event_log_entry.dagster_event.asset_key.to_user_string()
        for r in runs
        for record in home_instance.get_records_for_run(
            r.dagster_run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
        ).records
    }
    downstream = dg.AssetSelection.groups("raw").downstream().resolve(defs.resolve_asset_graph())
    assert rebuilt == {k.to_user_string() for k in downstream} - NOT_REBUILT - JOB_TABLES
    assert f"Rebuilt {WEEK} in 5 runs" in result.output


def test_rebuild_refuses_a_window_it_cannot_rebuild(home_instance):
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    cases = [
        (["--from", "2026-03-08", "--to", "2026-03-02"], "--from 2026-03-08 is after --to 2026-03-02"),
        (["--from", "2026-03-02", "--to", str(tomorrow)], f"--to {tomorrow}: that night has not closed yet"),
        (
            ["--from", str(HISTORY_START - dt.timedelta(days=1))],
            f"is before the first night kept, {HISTORY_START} (BACKROOM_HISTORY_START)",
        ),
        (["--from", "2026-03-02", "--select", "raw_till_rolls"], "raw_till_rolls"),
        (["--from", "2026-03-02", "--select", "key:("], "key:("),
        (["--from", "2026-03-32"], "'2026-03-32' is not a date (YYYY-MM-DD)"),
    ]
    for args, message in cases:
        result = rebuild(*args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output, (args, result.output)
        assert "Traceback" not in result.output
    assert home_instance.get_run_records() == []  # nothing ran
