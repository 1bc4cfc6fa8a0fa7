"""The incident ledger: alert_incidents, triggered -> acknowledged -> resolved.

`raise_incident` opens an incident for a dedup key, or counts another occurrence on the one
already open (the same failure seen on five ticks is one incident with five occurrences). A
partial unique index allows one open incident per dedup key, so two sensors racing cannot
open two: the loser's insert fails and it counts an occurrence instead. Acknowledging and
resolving say who, when and through which channel; asking for a step already taken answers
with an IncidentRefused naming it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterable
from typing import Literal

import sqlalchemy as sa

from backroom_reporting.alerting.rules import AlertRule
from backroom_reporting.warehouse.database import Database
from backroom_reporting.warehouse.tables.alerts import alert_incidents

INCIDENTS = alert_incidents
IncidentStatus = Literal["triggered", "acknowledged", "resolved"]


class IncidentRefused(ValueError):
    """A step an incident cannot take (unknown, already acknowledged or resolved), in one sentence."""


class NoSuchIncident(IncidentRefused):
    """No incident has that number (a web page answers 404 rather than 409)."""


@dataclasses.dataclass(frozen=True)
class Incident:
    """A row of alert_incidents."""

    incident_number: int
    dedup_key: str
    rule_key: str
    severity: str
    title: str
    detail: str | None
    first_seen_at: dt.datetime
    last_seen_at: dt.datetime
    occurrences: int
    status: IncidentStatus
    channels: tuple[str, ...]  # the rule's, when it opened
    escalation: str  # the rule's escalation policy, when it opened
    acknowledged_at: dt.datetime | None
    acknowledged_by: str | None
    acknowledged_via: str | None
    resolved_at: dt.datetime | None
    resolved_by: str | None
    resolved_via: str | None


def _incident(row: sa.Row) -> Incident:
    return Incident(**{**row._mapping, "channels": tuple(json.loads(row.channels))})


def job_dedup_key(rule: AlertRule, job_name: str) -> str:
    """One open incident per rule and job."""
    return f"{rule.key}:job:{job_name}"


def _open(conn: sa.Connection, dedup_key: str) -> Incident | None:
    row = conn.execute(
        sa.select(INCIDENTS).where(INCIDENTS.c.dedup_key == dedup_key, INCIDENTS.c.status != "resolved")
    ).first()
    return _incident(row) if row else None


def _count_occurrence(conn: sa.Connection, number: int, detail: str | None, now: dt.datetime) -> None:
    conn.execute(
        sa.update(INCIDENTS)
        .where(INCIDENTS.c.incident_number == number)
        .values(occurrences=INCIDENTS.c.occurrences + 1, last_seen_at=now, detail=detail)
    )


def raise_incident(
    db: Database, rule: AlertRule, dedup_key: str, title: str, detail: str | None, now: dt.datetime
) -> Incident:
    """The open incident for `dedup_key`, opened now or with one more occurrence."""
    for _ in range(2):  # the second time round, the incident a racing sensor opened is there
        try:
            with db.engine.begin() as conn:
                found = _open(conn, dedup_key)
                if found is not None:
                    _count_occurrence(conn, found.incident_number, detail, now)
                    number = found.incident_number
                else:
                    number = _insert(conn, rule, dedup_key, title, detail, now)
            # Read once committed: another connection sees the row only then.
            return get_incident(db, number)
        except sa.exc.IntegrityError:
            continue
    raise RuntimeError(f"could not open or find the incident for {dedup_key}")  # pragma: no cover


def _insert(
    conn: sa.Connection, rule: AlertRule, dedup_key: str, title: str, detail: str | None, now: dt.datetime
) -> int:
    return conn.execute(
        sa.insert(INCIDENTS)
        .values(
            dedup_key=dedup_key,
            rule_key=rule.key,
            severity=rule.severity,
            title=title,
            detail=detail,
            first_seen_at=now,
            last_seen_at=now,
            occurrences=1,
            status="triggered",
            channels=json.dumps(list(rule.channels)),
            escalation=rule.escalation,
        )
        .returning(INCIDENTS.c.incident_number)
    ).scalar_one()


def get_incident(db: Database, number: int) -> Incident:
    with db.engine.connect() as conn:
        row = conn.execute(sa.select(INCIDENTS).where(INCIDENTS.c.incident_number == number)).first()
    if row is None:
        raise NoSuchIncident(f"There is no incident {number}.")
    return _incident(row)


def open_incident(db: Database, dedup_key: str) -> Incident | None:
    with db.engine.connect() as conn:
        return _open(conn, dedup_key)


def open_incidents_of(db: Database, rule_key: str) -> list[Incident]:
    """Every incident of the rule not yet resolved, oldest first."""
    query = (
        sa.select(INCIDENTS)
        .where(INCIDENTS.c.rule_key == rule_key, INCIDENTS.c.status != "resolved")
        .order_by(INCIDENTS.c.incident_number)
    )
    with db.engine.connect() as conn:
        return [_incident(row) for row in conn.execute(query)]


def raised_before(db: Database, dedup_keys: Iterable[str]) -> set[str]:
    """Those of `dedup_keys` that ever raised an incident, open or resolved: for an alert that
    goes out once, however often its cause is seen again."""
    keys = sorted(set(dedup_keys))
    if not keys:
        return set()
    with db.engine.connect() as conn:
        found = conn.execute(sa.select(INCIDENTS.c.dedup_key).where(INCIDENTS.c.dedup_key.in_(keys)))
        return set(found.scalars())


def list_incidents(
    db: Database, only_open: bool = False, limit: int = 50, open_first: bool = False
) -> list[Incident]:
    """The latest incidents first (by when last seen); with `open_first`, the open ones before
    the resolved ones, as the on-call page lists them."""
    newest = (INCIDENTS.c.last_seen_at.desc(), INCIDENTS.c.incident_number.desc())
    resolved_last = (sa.case((INCIDENTS.c.status == "resolved", 1), else_=0),) if open_first else ()
    query = sa.select(INCIDENTS).order_by(*resolved_last, *newest)
    if only_open:
        query = query.where(INCIDENTS.c.status != "resolved")
    with db.engine.connect() as conn:
        return [_incident(row) for row in conn.execute(query.limit(limit))]


def to_page(db: Database, since: dt.datetime) -> list[Incident]:
    """What paging looks at: every incident still triggered, and those acknowledged or resolved
    since then (whose news is still to tell)."""
    query = sa.select(INCIDENTS).where(
        sa.or_(
            INCIDENTS.c.status == "triggered",
            sa.and_(INCIDENTS.c.status == "acknowledged", INCIDENTS.c.acknowledged_at >= since),
            sa.and_(INCIDENTS.c.status == "resolved", INCIDENTS.c.resolved_at >= since),
        )
    )
    with db.engine.connect() as conn:
        return [_incident(row) for row in conn.execute(query)]


def _when(moment: dt.datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "-"


def acknowledge(db: Database, number: int, who: str, channel: str, now: dt.datetime) -> Incident:
    """Mark the incident acknowledged by `who` through `channel` (cli, slack, sms, link, web)."""
    incident = get_incident(db, number)
    if incident.status == "acknowledged":
        raise IncidentRefused(
            f"Incident {number} was already acknowledged by {incident.acknowledged_by} "
            f"at {_when(incident.acknowledged_at)}."
        )
    if incident.status == "resolved":
        raise IncidentRefused(
            f"Incident {number} is already resolved ({incident.resolved_by}, {_when(incident.resolved_at)}); "
            "there is nothing to acknowledge."
        )
    return _step(db, incident, "triggered", "acknowledged", who, channel, now)


def resolve(db: Database, number: int, who: str, channel: str, now: dt.datetime) -> Incident:
    """Mark the incident resolved by `who` through `channel`; from triggered or acknowledged."""
    incident = get_incident(db, number)
    if incident.status == "resolved":
        raise IncidentRefused(
            f"Incident {number} was already resolved by {incident.resolved_by} "
            f"at {_when(incident.resolved_at)}."
        )
    return _step(db, incident, incident.status, "resolved", who, channel, now)


def resolve_open(db: Database, dedup_key: str, who: str, channel: str, now: dt.datetime) -> Incident | None:
    """Resolve the open incident of `dedup_key`, if there is one: its cause has gone. None when
    there is none, or someone resolved it in the meantime."""
    found = open_incident(db, dedup_key)
    if found is None:
        return None
    try:
        return resolve(db, found.incident_number, who, channel, now)
    except IncidentRefused:
        return None


def step_taken(incident: Incident) -> str:
    """What acknowledging or resolving `incident` did, in one sentence for whoever did it."""
    number = incident.incident_number
    if incident.status == "acknowledged":
        return f"Incident {number} acknowledged by {incident.acknowledged_by}: escalation stopped."
    return f"Incident {number} resolved by {incident.resolved_by}."


def _step(
    db: Database,
    incident: Incident,
    was: IncidentStatus,
    to: Literal["acknowledged", "resolved"],
    who: str,
    channel: str,
    now: dt.datetime,
) -> Incident:
    columns = {"status": to, f"{to}_at": now, f"{to}_by": who, f"{to}_via": channel}
    with db.engine.begin() as conn:
        # Conditional on the status read: of two people acknowledging at once, one wins.
        changed = conn.execute(
            sa.update(INCIDENTS)
            .where(INCIDENTS.c.incident_number == incident.incident_number, INCIDENTS.c.status == was)
            .values(**columns)
        ).rowcount
    if not changed:
        # Someone else took a step in between: answer as if we had come second.
        return (acknowledge if to == "acknowledged" else resolve)(
            db, incident.incident_number, who, channel, now
        )
    return get_incident(db, incident.incident_number)
