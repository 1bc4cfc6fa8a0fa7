"""Alerts about the figures themselves rather than the runs that make them
(docs/operations.md, "Alerts"):

- check_failed: a blocking asset check failed (severity ERROR, what `backroom rebuild` calls
  blocking), narrowed to a rule's `checks`, or a check the rule names failed with a warning
  when the rule sets `warnings`; one incident per rule, asset, check and partition,
  resolved when that check next passes there. A subscription's report that failed to render
  (`report_rendered`) names the subscription and the last good report sent in its place.
- not_fresh: past a rule's deadline (London time), the night just closed is not ready to
  report (metrics/nights.py `readiness`); one incident per rule and night, resolved when the
  night's figures are ready.
- kpi_status: a KPI judged at the rule's status or worse for a venue and night; one incident
  per rule, KPI, venue and night, ever: neither a recomputation nor resolving it raises another.

The logic works on plain values and the warehouse; the sensors (sensors/figure_alerts.py)
read Dagster and the clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from backroom_reporting.alerting.incidents import (
    Incident,
    open_incidents_of,
    raise_incident,
    raised_before,
    resolve_open,
)
from backroom_reporting.alerting.rules import KPI_STATUSES, AlertRule, AlertRules
from backroom_reporting.alerting.runs import RESOLVED_BY
from backroom_reporting.assets.reports import RENDERED
from backroom_reporting.metrics.business_time import last_closed_business_day
from backroom_reporting.metrics.kpis import STATUSES
from backroom_reporting.metrics.nights import night_due, night_statuses, readiness
from backroom_reporting.rendering.build import UNIT_KINDS
from backroom_reporting.rendering.formatting import format_value
from backroom_reporting.schedules.nightly import RECHECKED_NIGHTS
from backroom_reporting.warehouse.database import Database
from backroom_reporting.warehouse.tables.aggregations import night_status
from backroom_reporting.warehouse.tables.kpis import kpi_calculations, kpi_definitions
from backroom_reporting.warehouse.tables.raw import RAW

CHECK_PASSED = "check passed"
FIGURES_READY = "figures ready"


def _night(day: dt.date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


# ---- check_failed ----------------------------------------------------------------------


@dataclass(frozen=True)
class CheckOutcome:
    """An asset check's result for one partition (None: an unpartitioned asset), as a
    finished run recorded it."""

    asset: str
    check: str
    partition: str | None
    passed: bool
    blocking: bool  # failed with severity ERROR
    description: str | None
    metadata: Mapping[str, Any]  # plain values
    job_name: str
    run_id: str


def latest_outcomes(outcomes: Iterable[CheckOutcome]) -> list[CheckOutcome]:
    """The last outcome of each check and partition, from outcomes in the order judged: a
    night that failed and was put right before anyone looked raises nothing."""
    latest: dict[tuple[str, str, str | None], CheckOutcome] = {}
    for outcome in outcomes:
        key = (outcome.asset, outcome.check, outcome.partition)
        latest.pop(key, None)
        latest[key] = outcome
    return list(latest.values())


def check_dedup_key(rule: AlertRule, outcome: CheckOutcome) -> str:
    """One open incident per rule, asset, check and partition."""
    where = f":{outcome.partition}" if outcome.partition is not None else ""
    return f"{rule.key}:check:{outcome.asset}:{outcome.check}{where}"


def _watches(rule: AlertRule, outcome: CheckOutcome) -> bool:
    checks = rule.thresholds.get("checks")
    heard = outcome.blocking or rule.thresholds.get("warnings", False)
    return heard and rule.watches(outcome.job_name) and (checks is None or outcome.check in checks)


def check_title(outcome: CheckOutcome) -> str:
    """One sentence: the asset, the partition and why the check failed; for a subscription's
    report, whose report it was and what its recipients got instead."""
    if outcome.check == RENDERED and outcome.asset == "subscription_reports":
        return _report_title(outcome)
    where = f" {outcome.partition}" if outcome.partition is not None else ""
    why = outcome.description or "no reason recorded"
    kind = "blocking check" if outcome.blocking else "check"
    return f"{outcome.asset}{where} failed its {kind} {outcome.check}: {why}"


def _report_title(outcome: CheckOutcome) -> str:
    facts = outcome.metadata
    recipient = f" ({facts['recipient']})" if facts.get("recipient") else ""
    report = f"the {facts.get('template') or 'report'} for {facts.get('period') or 'its period'}"
    stale = facts.get("stale_period")
    instead = (
        f"its recipients were sent the last good report ({stale}), marked stale"
        if stale
        else "there was no earlier report to send in its place"
    )
    return f"Subscription {outcome.partition}{recipient}: {report} failed to render; {instead}."


def checks_failed(
    db: Database, rules: AlertRules, outcomes: Iterable[CheckOutcome], now: dt.datetime
) -> list[Incident]:
    """An incident (or another occurrence) per check_failed rule watching each failure: a
    blocking one, or a warning of a check the rule names with `warnings`."""
    return [
        raise_incident(
            db,
            rule,
            check_dedup_key(rule, outcome),
            check_title(outcome),
            f"run {outcome.run_id}: {outcome.description or 'no reason recorded'}",
            now,
        )
        for outcome in outcomes
        if not outcome.passed
        for rule in rules.of_kind("check_failed")
        if _watches(rule, outcome)
    ]


def checks_passed(
    db: Database, rules: AlertRules, outcomes: Iterable[CheckOutcome], now: dt.datetime
) -> list[Incident]:
    """Resolve the open incidents of each check that has passed since on the same partition."""
    resolved = [
        resolve_open(db, check_dedup_key(rule, outcome), RESOLVED_BY, CHECK_PASSED, now)
        for outcome in outcomes
        if outcome.passed
        for rule in rules.of_kind("check_failed")
    ]
    return [incident for incident in resolved if incident is not None]


# ---- not_fresh -------------------------------------------------------------------------


def night_dedup_key(rule: AlertRule, night: dt.date) -> str:
    """One incident per rule and night."""
    return f"{rule.key}:night:{night.isoformat()}"


def _deadline(rule: AlertRule) -> dt.time:
    return dt.time.fromisoformat(rule.thresholds["deadline"])


def _statuses(db: Database, nights: Collection[dt.date]) -> dict[dt.date, dict]:
    rows = db.read_table(night_status, night_status.c.business_date.in_(sorted(nights)))
    return night_statuses(rows)


def _venue_names(db: Database, venue_ids: Iterable[str] | None = None) -> dict[str, str]:
    """Venue names by id (all venues loaded, or those of `venue_ids`)."""
    venues = RAW["venues"]
    condition = venues.c.venue_id.in_(sorted(set(venue_ids))) if venue_ids is not None else None
    rows = db.read_columns(venues.c.venue_id, venues.c.name, where=condition)
    return dict(zip(rows["venue_id"], rows["name"], strict=True))


def _listed(names: Iterable[str]) -> str:
    """a, b and c."""
    names = sorted(names)
    return " and ".join([", ".join(names[:-1]), names[-1]]) if len(names) > 1 else "".join(names)


def figures_late(db: Database, rules: AlertRules, now: dt.datetime) -> list[Incident]:
    """For each not_fresh rule past its deadline, an incident (or another occurrence) when the
    night just closed is not ready to report, naming the venues and why."""
    due = [(rule, *night_due(now, _deadline(rule))) for rule in rules.of_kind("not_fresh")]
    if not due:
        return []
    statuses = _statuses(db, {night for _, night, _ in due})
    late = [
        (rule, night, deadline, problem)
        for rule, night, deadline in due
        if (problem := readiness(statuses.get(night), night)) is not None
    ]
    if not late:
        return []
    venues = _listed(_venue_names(db).values()) or "every venue"
    return [
        raise_incident(
            db,
            rule,
            night_dedup_key(rule, night),
            f"Past the {deadline:%H:%M} deadline for {venues}: {problem}",
            f"night {night.isoformat()}, deadline {deadline.isoformat()}: {problem}",
            now,
        )
        for rule, night, deadline, problem in late
    ]


def figures_landed(db: Database, rules: AlertRules, now: dt.datetime) -> list[Incident]:
    """Resolve each open not_fresh incident whose night is now ready to report."""
    waiting = {
        incident.dedup_key: dt.date.fromisoformat(incident.dedup_key.rsplit(":", 1)[1])
        for rule in rules.of_kind("not_fresh")
        for incident in open_incidents_of(db, rule.key)
        if incident.dedup_key.startswith(f"{rule.key}:night:")
    }
    if not waiting:
        return []
    statuses = _statuses(db, set(waiting.values()))
    resolved = [
        resolve_open(db, key, RESOLVED_BY, FIGURES_READY, now)
        for key, night in waiting.items()
        if readiness(statuses.get(night), night) is None
    ]
    return [incident for incident in resolved if incident is not None]


# ---- kpi_status ------------------------------------------------------------------------

# A rule's status and every worse one: `status: warning` hears of critical KPIs too.
_RANK = {status: rank for rank, status in enumerate(STATUSES)}
# The side of its threshold a KPI's value has reached, by direction.
_REACHED = {"higher_better": "at or below", "lower_better": "at or above"}


def kpi_dedup_key(rule: AlertRule, kpi_key: str, venue_id: str, night: dt.date) -> str:
    """One incident per rule, KPI, venue and night, ever."""
    return f"{rule.key}:kpi:{kpi_key}:{venue_id}:{night.isoformat()}"


def _hears_of(rule: AlertRule, row: dict) -> bool:
    kpis = rule.thresholds.get("kpis")
    return _RANK[row["status"]] >= _RANK[rule.thresholds["status"]] and (
        kpis is None or row["kpi_key"] in kpis
    )


def kpi_title(row: dict, venue: str) -> str:
    """'The Backroom Leeds: Spend per head at £15.00 on Wednesday 25 November 2026 is critical
    (at or below £18.00)'; row: a night's kpi_calculations row with its kpi_definitions."""
    kind = UNIT_KINDS.get(row["unit"], "number")
    threshold = row["critical_threshold"] if row["status"] == "critical" else row["warning_threshold"]
    return (
        f"{venue}: {row['name']} at {format_value(row['value'], kind)} on {_night(row['period_end'])} "
        f"is {row['status']} ({_REACHED[row['direction']]} {format_value(threshold, kind)})"
    )


def _kpi_detail(row: dict) -> str:
    return (
        f"{row['kpi_key']} at {row['venue_id']} on {row['period_end'].isoformat()}: value {row['value']:g} "
        f"{row['unit']} (target {row['target']:g}, warning {row['warning_threshold']:g}, "
        f"critical {row['critical_threshold']:g}, {row['direction']}); computed "
        f"{row['computed_at']:%Y-%m-%d %H:%M} UTC"
    )


def news_from(now: dt.datetime) -> dt.date:
    """The oldest night whose KPIs are news at `now`: the nights the closing run still re-checks
    for late facts. Older nights recomputed (a rebuild of history) raise nothing."""
    return last_closed_business_day(now) - dt.timedelta(days=RECHECKED_NIGHTS)


def kpis_judged(
    db: Database, rules: AlertRules, nights: Iterable[dt.date], now: dt.datetime
) -> list[Incident]:
    """An incident per kpi_status rule, KPI, venue and night of `nights` (recently written)
    whose status is the rule's or worse, unless one was ever raised for it."""
    watching = rules.of_kind("kpi_status")
    recent = sorted({night for night in nights if night >= news_from(now)})
    if not watching or not recent:
        return []
    rows = db.read_table(
        kpi_calculations,
        (kpi_calculations.c.period_type == "day")
        & kpi_calculations.c.period_end.in_(recent)
        & kpi_calculations.c.status.in_(KPI_STATUSES),
    )
    if rows.is_empty():
        return []
    judged = rows.join(db.read_table(kpi_definitions).drop("catalogue_hash"), on="kpi_key").sort(
        "period_end", "venue_id", "position"
    )
    found = [(rule, row) for row in judged.iter_rows(named=True) for rule in watching if _hears_of(rule, row)]
    keys = {
        kpi_dedup_key(rule, row["kpi_key"], row["venue_id"], row["period_end"]): (rule, row)
        for rule, row in found
    }
    before = raised_before(db, keys)
    names = _venue_names(db, judged["venue_id"].unique().to_list())
    return [
        raise_incident(
            db, rule, key, kpi_title(row, names.get(row["venue_id"], row["venue_id"])), _kpi_detail(row), now
        )
        for key, (rule, row) in keys.items()
        if key not in before
    ]
