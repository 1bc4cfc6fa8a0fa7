"""A stand-in for dagster-daemon on a simulated clock, driving the real definitions.

At each moment it is taken to, every schedule whose cron ticked since the last moment runs
its latest tick (RunRequests executed in process, as the daemon would launch them), then
the automation sensor is evaluated tick after tick, 30 seconds apart, until it asks for
nothing more; what it asks for runs in process too, one run per partitions definition and
range, in dependency order. Sensors and schedules are used exactly as they start.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import dagster as dg
from dagster._utils.schedules import schedule_execution_time_iterator

from backroom_reporting.backfill import plan_stages
from tests.automation.test_policy import SELECTION

SENSOR_TICK = dt.timedelta(seconds=30)


def contiguous_ranges(partitions_def, keys: set[str]) -> list[tuple[str, str]]:
    ordered = [k for k in partitions_def.get_partition_keys() if k in keys]
    ranges: list[list[str]] = []
    for key in ordered:
        position = partitions_def.get_partition_keys().index(key)
        if ranges and partitions_def.get_partition_keys().index(ranges[-1][-1]) == position - 1:
            ranges[-1].append(key)
        else:
            ranges.append([key])
    return [(r[0], r[-1]) for r in ranges]


class SimulatedDaemon:
    def __init__(self, defs: dg.Definitions, instance: dg.DagsterInstance, start: dt.datetime):
        self.defs, self.instance, self.now = defs, instance, start
        self.repo = defs.get_repository_def()
        self.graph = defs.resolve_asset_graph()
        self.cursor = None
        self.runs: list[tuple[str, dg.RunRequest | str]] = []
        self.skips: list[str] = []
        self.requests: list[tuple[dt.datetime, dict]] = []
        self._automation(start)  # the sensor's first tick only sets its cursor

    # --- schedules -------------------------------------------------------------------------

    def _latest_tick(self, schedule: dg.ScheduleDefinition, after: dt.datetime, until: dt.datetime):
        latest = None
        # Dagster's own cron iterator, so DST nights tick as the daemon would tick them.
        ticks = schedule_execution_time_iterator(
            after.timestamp(), schedule.cron_schedule, schedule.execution_timezone
        )
        for tick in ticks:
            if tick > until:
                break
            if tick > after:
                latest = tick
        return latest

    def _run_schedule(self, schedule: dg.ScheduleDefinition, tick: dt.datetime) -> None:
        with dg.build_schedule_context(
            instance=self.instance,
            scheduled_execution_time=tick,
            resources=self.defs.resources,
            repository_def=self.repo,
        ) as context:
            data = schedule.evaluate_tick(context)
        if data.skip_message:
            self.skips.append(f"{schedule.name} {tick:%Y-%m-%d %H:%M}: {data.skip_message}")
        for request in data.run_requests or []:
            job = self.repo.get_job(schedule.job_name)
            result = job.execute_in_process(
                instance=self.instance,
                partition_key=request.partition_key,
                tags=dict(request.tags),
                raise_on_error=False,
            )
            self.runs.append((schedule.name, request))
            assert result.success, f"{schedule.name} at {tick} failed"

    # --- automation ------------------------------------------------------------------------

    def _automation(self, moment: dt.datetime) -> bool:
        result = dg.evaluate_automation_conditions(
            self.defs, self.instance, asset_selection=SELECTION, evaluation_time=moment, cursor=self.cursor
        )
        self.cursor = result.cursor
        requested = {
            key: {p for p in result.get_requested_partitions(key)}
            for key in self.graph.get_all_asset_keys()
            if result.get_requested_partitions(key)
        }
        if not requested:
            return False
        self.requests.append(
            (moment, {k.to_user_string(): sorted(map(str, v)) for k, v in requested.items()})
        )
        for stage in plan_stages(self.graph):
            mine = {k: requested[k] for k in stage.keys if k in requested}
            groups: dict[frozenset, list[dg.AssetKey]] = defaultdict(list)
            for key, partitions in mine.items():
                groups[frozenset(partitions)].append(key)
            for partitions, keys in groups.items():
                self._materialise(keys, partitions)
        return True

    def _materialise(self, keys: list[dg.AssetKey], partitions: frozenset) -> None:
        partitions_def = self.graph.get(keys[0]).partitions_def
        if partitions_def is None:
            runs = [{}]
        else:
            runs = [
                {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}
                for first, last in contiguous_ranges(partitions_def, set(partitions))
            ]
        for tags in runs:
            result = dg.materialize(
                list(self.defs.assets),
                selection=keys,
                instance=self.instance,
                resources=self.defs.resources,
                tags={**tags, "dagster/sensor_name": "follow_inputs"},
                raise_on_error=False,
            )
            self.runs.append(("follow_inputs", ", ".join(k.to_user_string() for k in keys)))
            assert result.success, f"automation run of {keys} {tags} failed"

    # --- the clock -------------------------------------------------------------------------

    def advance_to(self, moment: dt.datetime, *, on_tick=None) -> None:
        """Run what the daemon would have run between now and `moment`, in time order."""
        due = []
        for schedule in self.repo.schedule_defs:
            tick = self._latest_tick(schedule, self.now, moment)
            if tick is not None:
                due.append((tick, schedule))
        for tick, schedule in sorted(due, key=lambda pair: (pair[0], pair[1].name)):
            if on_tick:
                on_tick(tick)
            self._run_schedule(schedule, tick)
            self._settle(tick)
        self._settle(moment)
        self.now = moment

    def _settle(self, moment: dt.datetime) -> None:
        for i in range(1, 20):
            if not self._automation(moment + i * SENSOR_TICK):
                return
        raise AssertionError(f"automation still asking for runs at {moment}")
