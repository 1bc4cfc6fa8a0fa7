"""Alert rules: report_layouts/alerts/rules.yaml, editable without Python (docs/operations.md).

Each rule says what to watch (its kind and, for some kinds, a threshold), which jobs, how
severe, the channels it notifies and the escalation policy it follows. Loading validates
everything and fails with the file, the rule and the field in one sentence.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import polars as pl
from pydantic import Field, StrictBool, StrictFloat, StrictInt, StrictStr, model_validator

from backroom_reporting.config_types import (
    Choice,
    ConfigModel,
    FieldProblem,
    checked_yaml,
    require_distinct_keys,
)
from backroom_reporting.metrics.business_time import DEFAULT_CUTOFF

KINDS = (
    "run_failure",  # a job's run failed
    "timeout",  # a run stopped for exceeding dagster/max_runtime
    "slow_execution",  # a run took longer than `multiple` x the job's recent p95
    "consecutive_failures",  # `count` failures of a job in a row
    "check_failed",  # a blocking asset check failed (or a warning, where `warnings` asks)
    "not_fresh",  # the night's figures not ready by `deadline` (venue time)
    "kpi_status",  # a KPI turned critical (or warning, where `status` asks) for a night
    "sensors_silent",  # the alert sensors have not ticked for `minutes` (the watchdog's rule)
)
SEVERITIES = ("critical", "warning", "info")
CHANNELS = ("email", "sms", "slack", "webhook")
# Who is told, and how it climbs when nobody acknowledges (their steps: docs/operations.md).
ESCALATION_POLICIES = ("on_call", "working_hours", "none")
KPI_STATUSES = ("critical", "warning")
# The thresholds each kind takes; a threshold on another kind is a mistake.
THRESHOLDS: dict[str, tuple[str, ...]] = {
    "run_failure": (),
    "timeout": (),
    "slow_execution": ("multiple", "min_runs"),
    "consecutive_failures": ("count",),
    "check_failed": ("checks", "warnings"),
    "not_fresh": ("deadline",),
    "kpi_status": ("status", "kpis"),
    "sensors_silent": ("minutes",),
}
REQUIRED = {
    "slow_execution": ("multiple",),
    "consecutive_failures": ("count",),
    "not_fresh": ("deadline",),
    "sensors_silent": ("minutes",),
}
ALL = "all"


class AlertRulesError(ValueError):
    """A rules file that cannot be used, with where and why."""


@dataclass(frozen=True)
class AlertRule:
    key: str
    kind: str
    jobs: tuple[str, ...] | None  # None: every job
    severity: str
    channels: tuple[str, ...]
    escalation: str
    description: str
    thresholds: dict[str, Any]  # only those of its kind, e.g. {"multiple": 2.0, "min_runs": 5}

    def watches(self, job_name: str) -> bool:
        return self.jobs is None or job_name in self.jobs


@dataclass(frozen=True)
class AlertRules:
    rules: tuple[AlertRule, ...]
    content_hash: str  # sha256 of the file: the version of the rules that raised an incident

    def by_key(self, key: str) -> AlertRule:
        for rule in self.rules:
            if rule.key == key:
                return rule
        known = ", ".join(rule.key for rule in self.rules)
        raise AlertRulesError(f"no alert rule {key!r}; known: {known}")

    def of_kind(self, kind: str, job_name: str | None = None) -> list[AlertRule]:
        return [r for r in self.rules if r.kind == kind and (job_name is None or r.watches(job_name))]


def _deadline(value: str) -> str:
    try:
        moment = dt.time.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a time of day; write HH:MM, e.g. '07:00'") from None
    # The deadline is on the morning after the night, which closes at the cutoff.
    if moment <= DEFAULT_CUTOFF:
        raise ValueError(
            f"{value!r} comes before the night closes at {DEFAULT_CUTOFF:%H:%M}; "
            "a deadline is later that morning, e.g. '07:00'"
        )
    return value


class _RuleSpec(ConfigModel):
    key: StrictStr
    kind: Choice("kind", KINDS)
    jobs: StrictStr | Annotated[list[StrictStr], Field(min_length=1)] = ALL
    severity: Choice("severity", SEVERITIES)
    channels: Annotated[list[Choice("channel", CHANNELS)], Field(min_length=1)]
    escalation: Choice("escalation policy", ESCALATION_POLICIES)
    description: StrictStr = ""
    multiple: Annotated[StrictFloat | StrictInt, Field(gt=1)] | None = None
    min_runs: Annotated[StrictInt, Field(ge=1)] | None = None
    count: Annotated[StrictInt, Field(ge=2)] | None = None
    checks: Annotated[list[StrictStr], Field(min_length=1)] | None = None
    warnings: StrictBool | None = None
    deadline: StrictStr | None = None
    status: Choice("KPI status", KPI_STATUSES) | None = None
    kpis: Annotated[list[StrictStr], Field(min_length=1)] | None = None
    minutes: Annotated[StrictInt, Field(ge=1)] | None = None

    @model_validator(mode="after")
    def _thresholds_fit_the_kind(self) -> _RuleSpec:
        if isinstance(self.jobs, str) and self.jobs != ALL:
            raise FieldProblem("jobs", f"write a list of job names, or '{ALL}', not {self.jobs!r}")
        for name in REQUIRED.get(self.kind, ()):
            if getattr(self, name) is None:
                raise FieldProblem(name, f"a {self.kind} rule needs {name}")
        for name in sorted({n for ns in THRESHOLDS.values() for n in ns} - set(THRESHOLDS[self.kind])):
            if getattr(self, name) is not None:
                takes = ", ".join(THRESHOLDS[self.kind]) or "no thresholds"
                raise FieldProblem(name, f"a {self.kind} rule takes {takes}, not {name}")
        if self.warnings and self.checks is None:
            # Every check's warnings would be every odd night of every asset.
            raise FieldProblem("warnings", "a rule hearing of warnings names its checks")
        if self.deadline is not None:
            try:
                _deadline(self.deadline)
            except ValueError as exc:
                raise FieldProblem("deadline", str(exc)) from None
        return self

    def rule(self) -> AlertRule:
        thresholds = {n: getattr(self, n) for n in THRESHOLDS[self.kind] if getattr(self, n) is not None}
        if self.kind == "slow_execution":
            thresholds.setdefault("min_runs", 5)
        if self.kind == "kpi_status":
            thresholds.setdefault("status", "critical")
        return AlertRule(
            key=self.key,
            kind=self.kind,
            jobs=None if self.jobs == ALL else tuple(self.jobs),
            severity=self.severity,
            channels=tuple(self.channels),
            escalation=self.escalation,
            description=self.description,
            thresholds=thresholds,
        )


class _RulesSpec(ConfigModel):
    rules: Annotated[list[_RuleSpec], Field(min_length=1)]

    @model_validator(mode="after")
    def _keys_differ(self) -> _RulesSpec:
        require_distinct_keys("rules", "rule", [entry.key for entry in self.rules])
        return self


def parse_rules(path: Path | str, known_jobs: set[str] | None = None) -> AlertRules:
    """The rules in `path`; an AlertRulesError names the file, the rule and the field. With
    `known_jobs`, a rule naming another job is refused too."""
    path = Path(path)
    where = path.as_posix()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AlertRulesError(f"{where}: no alert rules file there") from None
    shape = "an alert rules file is a mapping with a list of rules"
    _, spec = checked_yaml(text, where, _RulesSpec, shape, AlertRulesError, listed="rules")
    rules = tuple(r.rule() for r in spec.rules)
    for i, rule in enumerate(rules):
        unknown = sorted(set(rule.jobs or ()) - known_jobs) if known_jobs is not None else []
        if unknown:
            raise AlertRulesError(
                f"{where}: rules[{i + 1}] ({rule.key}) jobs: unknown job {unknown[0]!r}; "
                f"known: {', '.join(sorted(known_jobs))}"
            )
    return AlertRules(rules, hashlib.sha256(text.encode()).hexdigest())


def rules_fingerprint(path: Path | str) -> str:
    """The rules file's hash, short: job_alerts' code version (a missing file hashes as empty)."""
    path = Path(path)
    return hashlib.sha256(path.read_bytes() if path.exists() else b"").hexdigest()[:16]


def rules_frame(rules: AlertRules, now: dt.datetime) -> pl.DataFrame:
    """job_alerts: one row per rule."""
    return pl.DataFrame(
        [
            {
                "rule_key": r.key,
                "kind": r.kind,
                "jobs": json.dumps(list(r.jobs)) if r.jobs is not None else ALL,
                "thresholds": json.dumps(r.thresholds, sort_keys=True),
                "severity": r.severity,
                "channels": json.dumps(list(r.channels)),
                "escalation": r.escalation,
                "description": r.description,
                "rules_hash": rules.content_hash,
                "recorded_at": now,
            }
            for r in rules.rules
        ],
        schema_overrides={"recorded_at": pl.Datetime("us", "UTC")},
    )
