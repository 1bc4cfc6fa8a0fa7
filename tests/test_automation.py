"""What the automation policy (assets/policies.py) runs for the weekly snapshots: each week's
customer_analytics and revenue_forecast once, when the week closes and its last night's
figures arrive; never the week still open."""

import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from backroom_reporting.definitions import defs

LONDON = ZoneInfo("Europe/London")
SNAPSHOTS = dg.AssetSelection.assets("customer_analytics", "revenue_forecast")
WEEK = "2026-10-26"  # Monday 26 October to Sunday 1 November; it closes on Monday 2 November at 06:00


def london(day: str, clock: str) -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=LONDON)


class Ticks:
    """The automation sensor's ticks over an instance where nights get their figures."""

    def __init__(self):
        self.instance = dg.DagsterInstance.ephemeral()
        self.cursor = None

    def nights_done(self, *nights: str) -> None:
        for night in nights:
            for asset in ("customer_visits", "daily_aggregations"):
                self.instance.report_runless_asset_event(dg.AssetMaterialization(asset, partition=night))

    def requested(self, moment: dt.datetime) -> dict[str, list[str]]:
        result = dg.evaluate_automation_conditions(
            defs, self.instance, asset_selection=SNAPSHOTS, evaluation_time=moment, cursor=self.cursor
        )
        self.cursor = result.cursor
        return {
            key.to_user_string(): sorted(result.get_requested_partitions(key))
            for key in SNAPSHOTS.resolve(defs.resolve_asset_graph())
            if result.get_num_requested(key)
        }


@pytest.fixture
def ticks():
    ticks = Ticks()
    yield ticks
    ticks.instance.dispose()


def test_a_weekly_snapshot_runs_once_when_its_week_closes(ticks):
    assert ticks.requested(london("2026-10-30", "12:00")) == {}
    # The week's nights close one by one while it is open: nothing runs.
    for night in ("2026-10-26", "2026-10-27", "2026-10-28", "2026-10-29", "2026-10-30", "2026-10-31"):
        ticks.nights_done(night)
        assert ticks.requested(london(night, "23:59") + dt.timedelta(hours=7)) == {}, night
    # Sunday's night closes the week at 06:00; its figures arrive after the closing run.
    assert ticks.requested(london("2026-11-02", "06:10")) == {}
    ticks.nights_done("2026-11-01")
    assert ticks.requested(london("2026-11-02", "06:40")) == {
        "customer_analytics": [WEEK],
        "revenue_forecast": [WEEK],
    }
    # Once: not again on the next ticks, nor when the new week's first night comes in.
    assert ticks.requested(london("2026-11-02", "07:00")) == {}
    ticks.nights_done("2026-11-02")
    assert ticks.requested(london("2026-11-03", "06:40")) == {}


def test_a_late_correction_reaches_the_closed_weeks_that_read_the_night(ticks):
    ticks.requested(london("2026-11-09", "06:00"))
    # Monday's closing run re-checks the 14 nights before Sunday's and finds Tuesday 27
    # October changed: its week and the week after, both closed, read it; the new week is open.
    ticks.nights_done("2026-10-27")
    assert ticks.requested(london("2026-11-09", "06:40")) == {
        "customer_analytics": ["2026-10-26", "2026-11-02"],
        "revenue_forecast": ["2026-10-26", "2026-11-02"],
    }
