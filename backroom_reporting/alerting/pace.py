"""Whether a run was slow: its duration against `multiple` x the p95 of the job's recent
successful runs. Plain arithmetic, so it can be checked by hand."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

# How many of the job's latest successful runs say how long it usually takes (more when a
# rule's min_runs asks for more).
RECENT_RUNS = 20


def p95(durations: Sequence[float]) -> float:
    """The 95th percentile, interpolated between the two nearest ranks (numpy's default,
    statistics.quantiles' "inclusive" method): one freak run in twenty does not set it."""
    ordered = sorted(durations)
    rank = 0.95 * (len(ordered) - 1)
    below = math.floor(rank)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (rank - below)


@dataclass(frozen=True)
class Pace:
    """A run's duration against what is usual for its job, in seconds."""

    seconds: float
    usual: float  # p95 of the earlier runs
    multiple: float
    runs: int  # how many earlier runs made `usual`

    @property
    def limit(self) -> float:
        return self.multiple * self.usual

    @property
    def slow(self) -> bool:
        return self.seconds > self.limit


def pace(seconds: float, earlier: Sequence[float], multiple: float, min_runs: int) -> Pace | None:
    """The run's pace against the latest of `earlier` (durations, newest first); None with
    fewer than `min_runs` of them: too few to say what is usual."""
    recent = earlier[: max(RECENT_RUNS, min_runs)]
    if len(recent) < min_runs:
        return None
    return Pace(seconds, p95(recent), multiple, len(recent))


def spoken_duration(seconds: float) -> str:
    """A duration as on-call reads it: 40 s, 41 min, 2h, 1h 30 min."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes} min" if minutes else f"{hours}h"
