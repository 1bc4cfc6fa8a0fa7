"""On call: alert rules, incidents, the run sensors and `backroom alerts`."""

from pathlib import Path

RULES = """\
rules:
  - key: tiny_failed
    kind: run_failure
    jobs: [tiny_job]
    severity: critical
    channels: [slack, email]
    escalation: on_call
  - key: anything_failed
    kind: run_failure
    severity: warning
    channels: [email]
    escalation: working_hours
  - key: tiny_slow
    kind: slow_execution
    jobs: [tiny_job]
    severity: info
    channels: [slack]
    escalation: none
    multiple: 3
"""


def write_rules(folder: Path, text: str = RULES) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "rules.yaml"
    path.write_text(text)
    return path
