"""`backroom alerts`: the engineer on call lists, reads, acknowledges and resolves incidents,
and raises a test incident for a rule. A refusal prints its sentence and exits with status 2."""

from __future__ import annotations

import datetime as dt
import getpass

import click

from backroom_reporting import settings
from backroom_reporting.alerting import incidents, watchdog
from backroom_reporting.alerting.incidents import Incident, IncidentRefused
from backroom_reporting.alerting.on_call import OnCallError, parse_on_call
from backroom_reporting.alerting.paging import Pager, notifications_of
from backroom_reporting.alerting.rules import AlertRulesError, parse_rules
from backroom_reporting.command_line import Refused, open_warehouse, print_table, warehouse_url_option, when

CHANNEL = "cli"
_by_option = click.option(
    "--by", "who", default=None, metavar="NAME", help="Who you are (default: your login name)."
)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@click.group()
def alerts() -> None:
    """Incidents the alert rules raised: list, show, acknowledge, resolve, and test a rule."""


@alerts.command("list")
@click.option("--open", "only_open", is_flag=True, help="Only incidents not yet resolved.")
@warehouse_url_option
def alerts_list(only_open: bool, url: str | None) -> None:
    """The latest incidents, newest first."""
    with open_warehouse(url) as db:
        found = incidents.list_incidents(db, only_open=only_open)
    if not found:
        click.echo("No open incidents." if only_open else "No incidents.")
        return
    print_table(
        ("#", "status", "severity", "rule", "seen", "last seen", "title"),
        [
            (
                i.incident_number,
                i.status,
                i.severity,
                i.rule_key,
                i.occurrences,
                when(i.last_seen_at),
                i.title,
            )
            for i in found
        ],
    )


def _show(incident: Incident, db) -> None:
    lines = [
        f"Incident {incident.incident_number}: {incident.title}",
        f"  status       {incident.status}",
        f"  severity     {incident.severity}",
        f"  rule         {incident.rule_key}",
        f"  dedup key    {incident.dedup_key}",
        f"  first seen   {when(incident.first_seen_at)}",
        f"  last seen    {when(incident.last_seen_at)} ({incident.occurrences} occurrence(s))",
        f"  detail       {incident.detail or '-'}",
    ]
    if incident.acknowledged_at:
        lines.append(
            f"  acknowledged {when(incident.acknowledged_at)} by {incident.acknowledged_by} "
            f"via {incident.acknowledged_via}"
        )
    if incident.resolved_at:
        lines.append(
            f"  resolved     {when(incident.resolved_at)} by {incident.resolved_by} "
            f"via {incident.resolved_via}"
        )
    for sent in notifications_of(db, incident.incident_number):
        lines.append(
            f"  message      step {sent.step_key} {sent.channel} to {sent.person or '-'} "
            f"({sent.address or 'no address'}): {sent.status}" + (f", {sent.detail}" if sent.detail else "")
        )
    click.echo("\n".join(lines))


def _step(step, number: int, who: str | None, url: str | None) -> None:
    with open_warehouse(url) as db:
        try:
            incident = step(db, number, who or getpass.getuser(), CHANNEL, _now())
        except IncidentRefused as exc:
            raise Refused(str(exc)) from None
        _show(incident, db)


@alerts.command("show")
@click.argument("number", type=int)
@warehouse_url_option
def alerts_show(number: int, url: str | None) -> None:
    """One incident in full: who acknowledged and resolved it, when and how."""
    with open_warehouse(url) as db:
        try:
            _show(incidents.get_incident(db, number), db)
        except IncidentRefused as exc:
            raise Refused(str(exc)) from None


@alerts.command("ack")
@click.argument("number", type=int)
@_by_option
@warehouse_url_option
def alerts_ack(number: int, who: str | None, url: str | None) -> None:
    """Acknowledge an incident: you are on it."""
    _step(incidents.acknowledge, number, who, url)


@alerts.command("resolve")
@click.argument("number", type=int)
@_by_option
@warehouse_url_option
def alerts_resolve(number: int, who: str | None, url: str | None) -> None:
    """Resolve an incident: it is fixed."""
    _step(incidents.resolve, number, who, url)


@alerts.command("test")
@click.argument("rule_key")
@warehouse_url_option
def alerts_test(rule_key: str, url: str | None) -> None:
    """Raise a test incident for a rule, to see it reach the people on call."""
    try:
        rule = parse_rules(settings.ALERT_RULES.get()).by_key(rule_key)
    except AlertRulesError as exc:
        raise Refused(str(exc)) from None
    now = _now()
    with open_warehouse(url) as db:
        incident = incidents.raise_incident(
            db,
            rule,
            f"{rule.key}:test",
            f"TEST of alert rule {rule.key} ({rule.kind}, {rule.severity}): nothing is wrong.",
            f"raised by {getpass.getuser()} with `backroom alerts test`; resolve it with "
            f"`backroom alerts resolve N`",
            now,
        )
        _pager(db).page([incident], now)
        _show(incident, db)


def _pager(db) -> Pager:
    try:
        return Pager(db, parse_on_call(settings.ON_CALL.get()).roster(db))
    except OnCallError as exc:
        raise Refused(str(exc)) from None


@click.command("watchdog")
@warehouse_url_option
def watchdog_command(url: str | None) -> None:
    """Check that the alert sensors are ticking; page the people on call if they are not.
    Run it from cron every minute or two. Exit status 1 while the sensors are silent."""
    try:
        rules = parse_rules(settings.ALERT_RULES.get())
    except AlertRulesError as exc:
        raise Refused(str(exc)) from None
    with open_warehouse(url) as db:
        found, changed = watchdog.watch(db, rules, _pager(db), _now())
    click.echo(found)
    if any(i.status != "resolved" for i in changed):
        raise SystemExit(1)
