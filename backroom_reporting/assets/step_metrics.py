"""What a step cost: wall time, CPU seconds and peak memory, on every materialisation; and
a database fault it met, told in one sentence.

`measured` wraps an asset's function; the figures land in the materialisation's metadata
(the UI plots them over runs) and from there in job_execution_history. Peak memory is the
process's high-water mark during the step: Linux lets a process reset it
(/proc/self/clear_refs), so each step's peak is its own even when steps share a process.
A `Fault` (warehouse/faults.py) becomes the step's failure description, retried only when
trying again may help (a restarting server), never when it cannot (a missing table).
"""

from __future__ import annotations

import functools
import inspect
import re
import resource
import time
from collections.abc import Callable
from pathlib import Path

import dagster as dg

from backroom_reporting.warehouse.faults import Fault

WALL_SECONDS = "step_wall_seconds"
CPU_SECONDS = "step_cpu_seconds"
PEAK_MEMORY_MB = "step_peak_memory_mb"

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _reset_peak() -> bool:
    try:
        _CLEAR_REFS.write_text("5")
        return True
    except OSError:
        return False


def _peak_mb(was_reset: bool) -> float:
    if was_reset:
        found = re.search(r"VmHWM:\s+(\d+) kB", _STATUS.read_text())
        if found:
            return int(found.group(1)) / 1024
    # Without a reset, the process's peak so far (an upper bound of the step's).
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class _Meter:
    def __init__(self) -> None:
        self.reset = _reset_peak()
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def figures(self) -> dict[str, float]:
        return {
            WALL_SECONDS: round(time.perf_counter() - self.wall, 3),
            CPU_SECONDS: round(time.process_time() - self.cpu, 3),
            PEAK_MEMORY_MB: round(_peak_mb(self.reset), 1),
        }


def _with_figures(result, meter: _Meter):
    if isinstance(result, dg.MaterializeResult):
        return dg.MaterializeResult(
            asset_key=result.asset_key,
            metadata={**(result.metadata or {}), **meter.figures()},
            check_results=result.check_results,
            data_version=result.data_version,
            tags=result.tags,
        )
    return result


def _failure(fault: Fault) -> dg.Failure:
    return dg.Failure(description=fault.sentence, allow_retries=fault.transient)


def measured(fn: Callable) -> Callable:
    """Record the step's cost on each MaterializeResult the function returns or yields."""
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def generator(*args, **kwargs):
            meter = _Meter()
            try:
                for item in fn(*args, **kwargs):
                    yield _with_figures(item, meter)
            except Fault as fault:
                raise _failure(fault) from fault

        return generator

    @functools.wraps(fn)
    def function(*args, **kwargs):
        meter = _Meter()
        try:
            return _with_figures(fn(*args, **kwargs), meter)
        except Fault as fault:
            raise _failure(fault) from fault

    return function
