"""The watchdog: who watches the watchers. The alert sensors beat a heartbeat on every tick;
the web app, or `backroom watchdog` from cron, checks it from outside Dagster.

When the paging sensor has not ticked for the sensors_silent rule's minutes, the Dagster
daemon or its sensors have stopped and no alert would reach anyone, so the watchdog raises
the incident and pages it itself, on the rule's channels (a text first). Each later check
takes the escalation's next steps while the silence lasts; once the sensor ticks again the
watchdog resolves the incident, and says so on the channels that carried it.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import sqlalchemy as sa

from backroom_reporting.alerting.incidents import Incident, raise_incident, resolve_open
from backroom_reporting.alerting.rules import AlertRule, AlertRules
from backroom_reporting.warehouse.database import Database
from backroom_reporting.warehouse.tables.alerts import sensor_heartbeats

if TYPE_CHECKING:  # the providers' SDKs load when something is paged, not with the sensors
    from backroom_reporting.alerting.paging import Pager

HEARTBEATS = sensor_heartbeats
PAGING_SENSOR = "page_on_call"  # ticks every 30 s whatever happens: its silence is the daemon's
RESOLVED_BY, RESOLVED_VIA = "watchdog", "sensors ticking again"


def beat(db: Database, sensor_name: str, now: dt.datetime) -> None:
    """Record that `sensor_name` ticked now."""
    with db.engine.begin() as conn:
        changed = conn.execute(
            sa.update(HEARTBEATS).where(HEARTBEATS.c.sensor_name == sensor_name).values(ticked_at=now)
        ).rowcount
        if not changed:
            conn.execute(sa.insert(HEARTBEATS).values(sensor_name=sensor_name, ticked_at=now))


def last_beats(db: Database) -> dict[str, dt.datetime]:
    with db.engine.connect() as conn:
        return dict(conn.execute(sa.select(HEARTBEATS.c.sensor_name, HEARTBEATS.c.ticked_at)).all())


def silence(db: Database, now: dt.datetime) -> dt.timedelta | None:
    """How long the paging sensor has been silent; None if it never ticked here (nothing to
    watch yet: a platform not started)."""
    ticked = last_beats(db).get(PAGING_SENSOR)
    return None if ticked is None else now - ticked


def dedup_key(rule: AlertRule) -> str:
    return f"{rule.key}:sensors"


def watch(db: Database, rules: AlertRules, pager: Pager, now: dt.datetime) -> tuple[str, list[Incident]]:
    """One check: raise and page, keep paging, or resolve. Returns what it found, in a sentence,
    and the incidents it raised or resolved."""
    quiet = silence(db, now)
    changed: list[Incident] = []
    findings = []
    for rule in rules.of_kind("sensors_silent"):
        limit = dt.timedelta(minutes=rule.thresholds["minutes"])
        if quiet is not None and quiet > limit:
            minutes = int(quiet.total_seconds() // 60)
            incident = raise_incident(
                db,
                rule,
                dedup_key(rule),
                f"The alert sensors have not ticked for {minutes} min (over {rule.thresholds['minutes']}); "
                "the Dagster daemon may be down.",
                f"{PAGING_SENSOR} last ticked at {now - quiet:%Y-%m-%d %H:%M:%S} UTC",
                now,
            )
            changed.append(incident)
            findings.append(f"silent for {minutes} min: incident {incident.incident_number}")
        elif (resolved := resolve_open(db, dedup_key(rule), RESOLVED_BY, RESOLVED_VIA, now)) is not None:
            changed.append(resolved)
            findings.append(f"ticking again: incident {resolved.incident_number} resolved")
    if changed:
        pager.page(changed, now)
    if findings:
        return "; ".join(findings), changed
    if quiet is None:
        return f"{PAGING_SENSOR} has never ticked here: nothing to watch yet", changed
    return f"{PAGING_SENSOR} ticked {int(quiet.total_seconds())} s ago", changed
