"""Alert rules: the shipped file is valid for the project's jobs; each mistake is one sentence
naming the file, the rule and the field."""

import re

import pytest

from backroom_reporting.alerting.rules import AlertRulesError, parse_rules
from backroom_reporting.definitions import defs
from tests.alerting import RULES, write_rules

SHIPPED = "report_layouts/alerts/rules.yaml"


def test_the_shipped_rules_name_real_jobs_and_every_kind():
    jobs = {job.name for job in defs.get_repository_def().get_all_jobs()}
    rules = parse_rules(SHIPPED, jobs)
    assert {r.kind for r in rules.rules} == {
        "run_failure",
        "timeout",
        "slow_execution",
        "consecutive_failures",
        "check_failed",
        "not_fresh",
        "kpi_status",
        "sensors_silent",
    }


def test_a_good_file(tmp_path):
    rules = parse_rules(write_rules(tmp_path))
    slow = rules.by_key("tiny_slow")
    assert (slow.kind, slow.jobs, slow.severity, slow.channels, slow.escalation) == (
        "slow_execution",
        ("tiny_job",),
        "info",
        ("slack",),
        "none",
    )
    assert slow.thresholds == {"multiple": 3, "min_runs": 5}  # min_runs defaults to 5
    assert rules.by_key("anything_failed").jobs is None
    assert rules.by_key("anything_failed").watches("closing_run")
    assert [r.key for r in rules.of_kind("run_failure", "closing_run")] == ["anything_failed"]


def _with(line_from: str, line_to: str) -> str:
    assert line_from in RULES
    return RULES.replace(line_from, line_to, 1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            _with("kind: run_failure", "kind: run_fail"),
            "rules[1] (tiny_failed) kind: unknown kind 'run_fail'",
        ),
        (
            _with("severity: critical", "severity: urgent"),
            "rules[1] (tiny_failed) severity: unknown severity",
        ),
        (
            _with("channels: [slack, email]", "channels: [slack, pigeon]"),
            "rules[1] (tiny_failed) channels[2]",
        ),
        (_with("channels: [slack, email]", "channels: []"), "channels: must have at least 1 item(s), not 0"),
        (_with("escalation: on_call", "escalation: shout"), "escalation: unknown escalation policy 'shout'"),
        (
            _with("    multiple: 3\n", ""),
            "rules[3] (tiny_slow) multiple: a slow_execution rule needs multiple",
        ),
        (
            _with("multiple: 3", "multiple: 1"),
            "rules[3] (tiny_slow) multiple: input should be greater than 1",
        ),
        (
            _with("    escalation: on_call\n", "    escalation: on_call\n    count: 3\n"),
            "rules[1] (tiny_failed) count: a run_failure rule takes no thresholds, not count",
        ),
        (_with("jobs: [tiny_job]", "jobs: tiny_job"), "jobs: write a list of job names, or 'all'"),
        (_with("severity: critical", "severty: critical"), "rules[1] (tiny_failed) severity: missing field"),
        (
            RULES + "  - key: fresh\n    kind: not_fresh\n    severity: info\n    channels: [email]\n"
            "    escalation: none\n    deadline: '7am'\n",
            "rules[5] (fresh) deadline: '7am' is not a time of day; write HH:MM",
        ),
        (
            RULES + "  - key: fresh\n    kind: not_fresh\n    severity: info\n    channels: [email]\n"
            "    escalation: none\n    deadline: '05:30'\n",
            "rules[5] (fresh) deadline: '05:30' comes before the night closes at 06:00",
        ),
        (
            RULES + "  - key: warned\n    kind: check_failed\n    severity: info\n    channels: [email]\n"
            "    escalation: none\n    warnings: true\n",
            "rules[5] (warned) warnings: a rule hearing of warnings names its checks",
        ),
        (
            _with("    escalation: on_call\n", "    escalation: on_call\n    warnings: true\n"),
            "rules[1] (tiny_failed) warnings: a run_failure rule takes no thresholds, not warnings",
        ),
        (RULES.replace("key: tiny_slow", "key: tiny_failed"), "rules: rule keys repeat: tiny_failed"),
        ("rules: [", "not valid YAML"),
        ("- a list", "an alert rules file is a mapping"),
    ],
)
def test_a_mistake_is_one_sentence_naming_file_rule_and_field(tmp_path, text, message):
    path = write_rules(tmp_path, text)
    with pytest.raises(AlertRulesError, match=re.escape(f"{path.as_posix()}: ")) as caught:
        parse_rules(path)
    assert message in str(caught.value)


def test_an_unknown_job_is_refused_against_the_known_ones(tmp_path):
    with pytest.raises(AlertRulesError, match=r"rules\[1\] \(tiny_failed\) jobs: unknown job 'tiny_job'"):
        parse_rules(write_rules(tmp_path), {"closing_run"})


def test_an_unknown_rule_key_names_the_known_ones(tmp_path):
    with pytest.raises(AlertRulesError, match="no alert rule 'nope'; known: tiny_failed, anything_failed"):
        parse_rules(write_rules(tmp_path)).by_key("nope")
