"""The automation policy on the real definitions, tick by tick: what runs when.

Updates are recorded as runless materialisations (what a run would record), so these tests
exercise the conditions alone; tests/automation/test_nights.py runs real nights end to end.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from backroom_reporting.definitions import defs
from backroom_reporting.sensors.automation import follow_inputs

LONDON = ZoneInfo("Europe/London")
RAW_FACTS = [
    "raw_bookings",
    "raw_payments",
    "raw_ticket_sales",
    "raw_check_ins",
    "raw_bar_transactions",
    "raw_feedback",
    "raw_staff_shifts",
]
RAW_SNAPSHOTS = ["raw_venues", "raw_customers", "raw_events", "raw_venue_tables", "raw_staff"]
# Every asset of one night that follows the raw layer, requested together.
NIGHTLY = {
    "customer_visits",
    "hourly_aggregations",
    "daily_aggregations",
    "staff_performance",
    "top_customers",
    "event_performance_analytics",
    "kpi_calculations",
    "report_metrics_cache",
}
# The job tables refresh on their own hour; they do not take part in the nights.
SELECTION = follow_inputs.asset_selection - dg.AssetSelection.groups("operations")


def london(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=LONDON)


class Ticks:
    """The automation sensor's evaluations, one call a tick, on an instance of its own."""

    def __init__(self) -> None:
        self.instance = dg.DagsterInstance.ephemeral()
        self.cursor = None

    def at(self, moment: dt.datetime) -> dict[str, set[str | None]]:
        result = dg.evaluate_automation_conditions(
            defs, self.instance, asset_selection=SELECTION, evaluation_time=moment, cursor=self.cursor
        )
        self.cursor = result.cursor
        requested = {}
        for key in defs.resolve_asset_graph().get_all_asset_keys():
            partitions = result.get_requested_partitions(key)
            if partitions:
                requested[key.to_user_string()] = set(partitions)
        return requested

    def loaded(self, assets, *nights: str) -> None:
        """Record what a run of `assets` over `nights` would (unpartitioned when none)."""
        for asset in assets:
            for night in nights or [None]:
                self.instance.report_runless_asset_event(dg.AssetMaterialization(asset, partition=night))


@pytest.fixture
def ticks():
    ticks = Ticks()
    yield ticks
    ticks.instance.dispose()


def settled(ticks: Ticks, moment: dt.datetime, *already) -> None:
    """A first evaluation sets the cursor; record what the earlier history left behind: the
    KPI catalogue and the report templates (made on a deployment's first tick), the snapshot
    tables (loaded with every night), and `already`."""
    assert ticks.at(moment) == {"kpi_definitions": {None}, "report_templates": {None}}
    ticks.loaded(["kpi_definitions", "report_templates", *RAW_SNAPSHOTS])
    for assets, nights in already:
        ticks.loaded(assets, *nights)
    ticks.at(moment + dt.timedelta(seconds=30))


def test_the_open_night_loaded_hourly_starts_nothing_downstream(ticks):
    settled(ticks, london(2026, 11, 27, 20, 0))
    # 23:05: the hourly refresh loads Friday's facts so far and its hours.
    ticks.loaded([*RAW_SNAPSHOTS, *RAW_FACTS, "hourly_aggregations"], "2026-11-27")
    assert ticks.at(london(2026, 11, 27, 23, 6)) == {}
    # 05:05, the last refresh; still nothing reads a night that is not over.
    ticks.loaded([*RAW_FACTS, "hourly_aggregations"], "2026-11-27")
    assert ticks.at(london(2026, 11, 28, 5, 6)) == {}
    # The night closes at 06:00; the hour's loads of an open night do not count as final.
    assert ticks.at(london(2026, 11, 28, 6, 5)) == {}


def test_the_closing_run_brings_the_whole_night_along_in_one_go(ticks):
    settled(ticks, london(2026, 11, 28, 6, 10))
    ticks.loaded(RAW_FACTS, "2026-11-27")
    requested = ticks.at(london(2026, 11, 28, 6, 16))
    assert set(requested) == NIGHTLY
    assert all(partitions == {"2026-11-27"} for partitions in requested.values())
    ticks.loaded(NIGHTLY, "2026-11-27")
    # The week and month are still open: no summary rows until their Sunday refresh, and the
    # weekly snapshots (customer segments, the forecast) wait for the week to close.
    assert ticks.at(london(2026, 11, 28, 6, 20)) == {}


def test_the_weeks_snapshots_are_made_as_its_last_night_closes(ticks):
    settled(ticks, london(2026, 11, 30, 6, 10))
    ticks.loaded(RAW_FACTS, "2026-11-29")
    ticks.loaded(NIGHTLY, *ticks.at(london(2026, 11, 30, 6, 16))["daily_aggregations"])
    requested = ticks.at(london(2026, 11, 30, 6, 20))
    # Sunday's night closed the week of Monday 23 November: its summary and its snapshots.
    assert requested["weekly_summary"] == {"2026-11-23"}
    assert requested["customer_analytics"] == {"2026-11-23"}
    assert requested["revenue_forecast"] == {"2026-11-23"}


def test_nothing_runs_before_every_input_of_the_night_exists(ticks):
    settled(ticks, london(2026, 11, 28, 6, 10))
    # Only some raw tables of the night were loaded (the run failed part-way).
    ticks.loaded(RAW_FACTS[:3], "2026-11-27")
    requested = ticks.at(london(2026, 11, 28, 6, 16))
    assert "daily_aggregations" not in requested and "customer_visits" not in requested
    ticks.loaded(RAW_FACTS[3:], "2026-11-27")
    assert ticks.at(london(2026, 11, 28, 6, 30))["daily_aggregations"] == {"2026-11-27"}


def test_a_backfill_of_past_nights_reaches_everything_downstream_in_every_window(ticks):
    week = [f"2026-11-{day:02d}" for day in range(9, 16)]
    settled(ticks, london(2026, 11, 30, 9, 0), ([*RAW_FACTS, *NIGHTLY], week))
    nights = week[:3]
    ticks.loaded(RAW_FACTS, *nights)
    requested = ticks.at(london(2026, 11, 30, 9, 1))
    # The nights loaded, and the later nights of the week: their presales were bought on
    # the nights loaded (a night's tickets count on it, docs/metrics.md).
    assert requested["daily_aggregations"] == set(week)
    assert requested["kpi_calculations"] == set(week)
    ticks.loaded(NIGHTLY, *nights)
    later = ticks.at(london(2026, 11, 30, 9, 2))
    # top_customers ranks over the 90 nights up to each night: every later closed night moves
    # too, once the visits it reads have been rebuilt; the open night is not ranked.
    ranked = requested["top_customers"] | later["top_customers"]
    assert {"2026-11-09", "2026-11-20", "2026-11-29"} <= ranked and "2026-11-30" not in ranked
    assert later["weekly_summary"] == {"2026-11-09"}  # a closed week
    assert "monthly_summary" not in later  # November is still open
    ticks.loaded(["weekly_summary"], "2026-11-09")
    # The week's KPIs are judged on the night it ends (its other nights are recomputed too).
    assert ticks.at(london(2026, 11, 30, 9, 3))["kpi_calculations"] == set(week)


def test_a_reloaded_venue_or_catalogue_does_not_recompute_history(ticks):
    settled(ticks, london(2026, 11, 28, 14, 0), ([*RAW_FACTS, *NIGHTLY], ["2026-11-26"]))
    ticks.loaded(RAW_SNAPSHOTS)
    ticks.loaded(["kpi_definitions"])
    assert ticks.at(london(2026, 11, 28, 14, 5)) == {}


def test_week_and_month_to_date_rows_are_refreshed_on_sunday_at_three(ticks):
    settled(ticks, london(2026, 11, 29, 2, 0))
    assert "weekly_summary" not in ticks.at(london(2026, 11, 29, 2, 59))
    requested = ticks.at(london(2026, 11, 29, 3, 0, 30))
    assert requested["weekly_summary"] == {"2026-11-23"}  # the open week, to date
    assert requested["monthly_summary"] == {"2026-11-01"}  # the open month, to date
    ticks.loaded(["weekly_summary"], "2026-11-23")
    ticks.loaded(["monthly_summary"], "2026-11-01")
    assert "weekly_summary" not in ticks.at(london(2026, 11, 29, 3, 5))


@pytest.mark.parametrize(
    ("night", "closing"),
    [("2026-03-28", london(2026, 3, 29, 6, 16)), ("2026-10-24", london(2026, 10, 25, 6, 16))],
)
def test_the_dst_nights_close_at_six_like_any_other(ticks, night, closing):
    settled(ticks, closing - dt.timedelta(minutes=10))
    ticks.loaded([*RAW_SNAPSHOTS, *RAW_FACTS, "hourly_aggregations"], night)
    # Before 06:00 the night is still the open one, whatever the clocks did at 01:00 or 02:00.
    assert ticks.at(closing - dt.timedelta(minutes=20)) == {}
    ticks.loaded(RAW_FACTS, night)
    requested = ticks.at(closing)
    assert requested["daily_aggregations"] == {night}


def test_the_automation_and_every_schedule_start_running():
    assert follow_inputs.default_status == dg.DefaultSensorStatus.RUNNING
    repo = defs.get_repository_def()
    assert all(s.default_status == dg.DefaultSensorStatus.RUNNING for s in repo.sensor_defs)
    assert all(s.default_status == dg.DefaultScheduleStatus.RUNNING for s in repo.schedule_defs)
    # Only the project's own sensor runs conditions: Dagster adds no stopped default one.
    automation = [s for s in repo.sensor_defs if isinstance(s, dg.AutomationConditionSensorDefinition)]
    assert [s.name for s in automation] == ["follow_inputs"]
