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
  - key: sensors_stopped
    kind: sensors_silent
    severity: critical
    channels: [sms, email]
    escalation: on_call
    minutes: 5
"""


def write_rules(folder: Path, text: str = RULES) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "rules.yaml"
    path.write_text(text)
    return path


# Sam is on call in the weeks from 2026-11-23, 2026-12-07, ...; Alex, the venue manager, between.
ON_CALL = """\
timezone: Europe/London
people:
  - name: Sam Okafor
    email: sam@backroom-leeds.example
    phone: "07700 900111"
    slack: U0SAM00001
  - name: Alex Reid
    email: alex@backroom-leeds.example
    phone: "+447700900222"
rota:
  hand_over: monday 10:00
  starting: 2026-11-23
venue_manager: Alex Reid
slack_channel: C0ALERTS01
escalation:
  on_call: {sms_after: 15, manager_after: 15, repeat_every: 30, repeats: 2}
  working_hours: {sms_after: 60, manager_after: 60, repeat_every: 240, repeats: 0, hours: "10:00-18:00"}
  none: {}
"""
SAM_PHONE, ALEX_PHONE = "+447700900111", "+447700900222"


def write_on_call(folder: Path, text: str = ON_CALL) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "on_call.yaml"
    path.write_text(text)
    return path
