"""The steps of an incident's escalation and when each is due: arithmetic on its policy.

Level 1 tells the on-call person on the rule's channels when the incident opens. Unacknowledged,
level 2 texts them `sms_after` later and level 3 texts the venue manager `manager_after` after
that; the two texts then come round again every `repeat_every`, `repeats` more times. A step
due outside a policy's working hours waits for them to open (level 1 goes at once: Slack and
email are quiet). Steps are keyed so that each goes out once however many ticks see it due.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo

from backroom_reporting.alerting.on_call import Policy

Whom = Literal["on_call", "venue_manager"]
SMS = ("sms",)


@dataclass(frozen=True)
class Step:
    key: str  # "1"; "2.0", "3.0" for round 0 of the texts, "2.1", "3.1" for the next round
    due_at: dt.datetime
    whom: Whom
    channels: tuple[str, ...]


def steps(policy: Policy, channels: tuple[str, ...], opened_at: dt.datetime, zone: ZoneInfo) -> list[Step]:
    """Every step of the policy for an incident opened at `opened_at`, in order of when it is due."""
    planned = [Step("1", opened_at, "on_call", channels)]
    if policy.sms_after is None:
        return planned
    round_length = (policy.manager_after or dt.timedelta(0)) + (policy.repeat_every or dt.timedelta(0))
    for round_ in range(policy.repeats + 1):
        texted = opened_at + policy.sms_after + round_ * round_length
        planned.append(Step(f"2.{round_}", policy.waits_for_hours(texted, zone), "on_call", SMS))
        if policy.manager_after is not None:
            manager = texted + policy.manager_after
            planned.append(Step(f"3.{round_}", policy.waits_for_hours(manager, zone), "venue_manager", SMS))
    return sorted(planned, key=lambda step: step.due_at)


def due(planned: list[Step], taken: set[str], now: dt.datetime) -> list[Step]:
    """The steps due by `now` not yet taken. Of a round missed whole (the sensors were down), only
    its latest steps go: nobody needs the same text twice in one tick."""
    latest: dict[str, Step] = {}
    for step in planned:
        if step.due_at <= now:
            latest[step.key.split(".")[0]] = step  # in order of due time: the last one wins
    return sorted((s for s in latest.values() if s.key not in taken), key=lambda step: step.due_at)
