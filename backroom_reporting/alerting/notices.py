"""What an incident's messages say, on each channel: opened (or climbed a level), and resolved.

Every message names the incident's number, what went wrong and how to acknowledge it: the
Slack button, a reply "ACK 4821" to a text, the signed link in an email or text, or
`backroom alerts ack 4821`.
"""

from __future__ import annotations

import datetime as dt
import email.utils
from email.message import EmailMessage
from html import escape

from backroom_reporting.alerting.incidents import Incident
from backroom_reporting.delivery.channels.email import LINK, MESSAGE_ID_DOMAIN, SMALL, TEXT, addressed
from backroom_reporting.delivery.channels.slack import MAX_HEADER, MAX_SECTION

ACK_ACTION = "acknowledge_incident"  # the Slack button's action_id (portal/callbacks.py answers it)
# Why a step was sent, as its message opens.
LEVELS = {
    "1": "",
    "2": "Nobody has acknowledged this yet. ",
    "3": "The person on call has not acknowledged this. ",
}


def level_of(step_key: str) -> str:
    return step_key.split(".")[0]


def headline(incident: Incident) -> str:
    """E.g. "[CRITICAL] #4821 closing_run failed (run 3f9a...): the booking system refused...\""""
    return f"[{incident.severity.upper()}] #{incident.incident_number} {incident.title}"


def sms_body(incident: Incident, step_key: str, link: str) -> str:
    """A text: why it comes, what happened, how to acknowledge (the reply code first: it is shortest)."""
    why = LEVELS.get(level_of(step_key), "")
    title = incident.title if len(incident.title) <= 160 else incident.title[:157] + "..."
    number = incident.incident_number
    return f"{why}[{incident.severity.upper()}] #{number} {title} Reply ACK {number} or open {link}"


def sms_resolved(incident: Incident) -> str:
    return f"RESOLVED #{incident.incident_number} {incident.title} ({_resolution(incident)})"


def _resolution(incident: Incident) -> str:
    when = incident.resolved_at.astimezone(dt.UTC).strftime("%H:%M UTC") if incident.resolved_at else "now"
    return f"resolved by {incident.resolved_by} via {incident.resolved_via} at {when}"


def slack_message(incident: Incident, step_key: str, mention: str | None, link: str) -> dict:
    """chat.postMessage's text and blocks: the incident, an Acknowledge button and a link to its page."""
    why = LEVELS.get(level_of(step_key), "")
    who = f"<@{mention}> " if mention else ""
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": headline(incident)[:MAX_HEADER]}},
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": f"{who}{why}{incident.detail or incident.title}"[:MAX_SECTION],
            },
        },
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f"Rule *{incident.rule_key}* · seen {incident.occurrences} time(s) · "
                    f"or reply ACK {incident.incident_number} to the text, or "
                    f"`backroom alerts ack {incident.incident_number}`",
                }
            ],
        },
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "style": "primary",
                    "text": {"type": "plain_text", "text": "Acknowledge"},
                    "action_id": ACK_ACTION,
                    "value": str(incident.incident_number),
                },
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Open the incident"},
                    "url": link,
                    "action_id": "open_incident",
                },
            ],
        },
    ]
    return {"text": f"{who}{headline(incident)}", "blocks": blocks, "unfurl_links": False}


def slack_acknowledged(incident: Incident) -> dict:
    """Told in the channel, so everyone who saw the alert knows someone is on it."""
    when = (
        incident.acknowledged_at.astimezone(dt.UTC).strftime("%H:%M UTC") if incident.acknowledged_at else ""
    )
    text = (
        f":eyes: #{incident.incident_number} acknowledged by {incident.acknowledged_by} "
        f"via {incident.acknowledged_via} at {when}: escalation stopped."
    )
    section = {"type": "section", "text": {"type": "mrkdwn", "text": text[:MAX_SECTION]}}
    return {"text": text[:MAX_SECTION], "blocks": [section], "unfurl_links": False}


def slack_resolved(incident: Incident) -> dict:
    text = (
        f":white_check_mark: Resolved #{incident.incident_number} {incident.title} ({_resolution(incident)})"
    )
    section = {"type": "section", "text": {"type": "mrkdwn", "text": text[:MAX_SECTION]}}
    return {"text": text[:MAX_SECTION], "blocks": [section], "unfurl_links": False}


def email_message(
    incident: Incident, step_key: str, name: str, address: str, link: str, list_link: str, now: dt.datetime
) -> EmailMessage:
    why = LEVELS.get(level_of(step_key), "")
    message = addressed(name, address, now)
    message["Subject"] = headline(incident)
    message["Message-ID"] = _message_id(incident, step_key)
    number = incident.incident_number
    message.set_content(
        f"{why}{incident.title}\n\n"
        f"Rule: {incident.rule_key} ({incident.severity})\n"
        f"Detail: {incident.detail or '-'}\n"
        f"Seen: {incident.occurrences} time(s) since {incident.first_seen_at:%Y-%m-%d %H:%M} UTC\n\n"
        f"Acknowledge it (escalation stops): {link}\n"
        f"or reply ACK {number} to the text, or run `backroom alerts ack {number}`.\n\n"
        f"Every open incident: {list_link}\n"
    )
    message.add_alternative(
        f'<p style="{TEXT}">{escape(why)}<strong>{escape(incident.title)}</strong></p>'
        f'<p style="{TEXT}">Rule {escape(incident.rule_key)} ({escape(incident.severity)}); '
        f"seen {incident.occurrences} time(s). {escape(incident.detail or '')}</p>"
        f'<p style="{TEXT}"><a href="{escape(link)}" style="{LINK}">Acknowledge incident {number}</a> '
        "(escalation stops)</p>"
        f'<p style="{SMALL}">Or reply ACK {number} to the text, or run '
        f"<code>backroom alerts ack {number}</code>. "
        f'<a href="{escape(list_link)}" style="{LINK}">Every open incident</a></p>',
        subtype="html",
    )
    return message


def email_resolved(incident: Incident, name: str, address: str, now: dt.datetime) -> EmailMessage:
    message = addressed(name, address, now)
    message["Subject"] = f"[RESOLVED] #{incident.incident_number} {incident.title}"
    message["Message-ID"] = _message_id(incident, "resolved")
    message.set_content(f"{incident.title}\n\nThis incident is {_resolution(incident)}.\n")
    return message


def _message_id(incident: Incident, step_key: str) -> str:
    return email.utils.make_msgid(f"incident-{incident.incident_number}-{step_key}", MESSAGE_ID_DOMAIN)


def webhook_payload(incident: Incident, event: str) -> dict:
    """What an alert webhook receives: the incident as it stands, and what happened to it."""
    return {
        "type": f"incident.{event}",
        "incident": {
            "number": incident.incident_number,
            "rule": incident.rule_key,
            "severity": incident.severity,
            "status": incident.status,
            "title": incident.title,
            "detail": incident.detail,
            "first_seen_at": incident.first_seen_at.isoformat(),
            "last_seen_at": incident.last_seen_at.isoformat(),
            "occurrences": incident.occurrences,
        },
    }
