"""Paging: an incident's due steps, and its resolution, sent on their channels, each once.

Every message is claimed in alert_notifications (one row per incident, step and channel)
before it is sent and its outcome recorded after, so the sensor that raised an incident and
the escalation sensor, seeing the same step due, send it once. A channel that fails (Slack
down, a person without a phone number) is recorded with its reason, and the step falls
through to the next channel that can reach the person: SMS, then Slack, then email.

Without a provider configured, a channel writes what it would send to the outbox, as report
deliveries do.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterable

import httpx
import sqlalchemy as sa
from slack_sdk.errors import SlackApiError

from backroom_reporting import settings
from backroom_reporting.alerting import escalation, notices
from backroom_reporting.alerting.incidents import Incident, to_page
from backroom_reporting.alerting.on_call import Person, Roster
from backroom_reporting.delivery import links
from backroom_reporting.delivery.channels.slack import UNREACHABLE, slack_client, slack_refusal
from backroom_reporting.delivery.channels.sms import send_text, text_message, twilio_client
from backroom_reporting.delivery.channels.webhook import TIMEOUT_SECONDS, post_signed
from backroom_reporting.delivery.mailer import Mailer
from backroom_reporting.delivery.model import Outcome, SendError
from backroom_reporting.delivery.outbox import Outbox
from backroom_reporting.warehouse.database import Database
from backroom_reporting.warehouse.tables.alerts import alert_notifications

NOTIFICATIONS = alert_notifications
# The order a failed channel falls through in: the most likely to wake someone first.
FALLBACK = ("sms", "slack", "email")
ACKNOWLEDGED, RESOLVED = "acknowledged", "resolved"
# An acknowledgement or resolution is announced if it happened within this long; older ones
# were announced, or happened while paging was down and are news to nobody now.
ANNOUNCE_FOR = dt.timedelta(days=1)


@dataclasses.dataclass(frozen=True)
class Notification:
    """A row of alert_notifications."""

    incident_number: int
    step_key: str
    channel: str
    person: str | None
    address: str | None
    status: str  # sending | sent | failed
    detail: str | None


class Pager:
    """Sends incidents' messages through the providers configured now."""

    def __init__(
        self, db: Database, roster: Roster, outbox: Outbox | None = None, mailer: Mailer | None = None
    ):
        self.db = db
        self.roster = roster
        self.outbox = outbox or Outbox()
        self.mailer = mailer or Mailer(outbox=self.outbox)
        self.twilio = twilio_client()
        self.slack = slack_client()

    # --- what is due ---------------------------------------------------------------------------

    def page(self, incidents: Iterable[Incident], now: dt.datetime) -> list[Notification]:
        """Send what is due for these incidents at `now`: their escalation's steps while
        triggered, the news of their resolution once resolved. Returns what was attempted."""
        incidents = list(incidents)
        done = self._notifications([i.incident_number for i in incidents])
        attempted: list[Notification] = []
        for incident in incidents:
            mine = done.get(incident.incident_number, [])
            if incident.status == "triggered":
                taken = {n.step_key for n in mine}
                for step in escalation.due(self._steps(incident), taken, now):
                    attempted += self._take(incident, step, now)
            elif incident.status == ACKNOWLEDGED:
                attempted += self._announce_acknowledgement(incident, mine, now)
            elif incident.status == RESOLVED:
                attempted += self._announce_resolution(incident, mine, now)
        return attempted

    def page_all(self, now: dt.datetime) -> list[Notification]:
        """One escalation tick: every incident still triggered, and those resolved lately."""
        return self.page(to_page(self.db, since=now - ANNOUNCE_FOR), now)

    def _steps(self, incident: Incident) -> list[escalation.Step]:
        policy = self.roster.on_call.policies[incident.escalation]
        return escalation.steps(policy, incident.channels, incident.first_seen_at, self.roster.on_call.zone)

    def _notifications(self, numbers: list[int]) -> dict[int, list[Notification]]:
        if not numbers:
            return {}
        with self.db.engine.connect() as conn:
            rows = conn.execute(
                sa.select(*(NOTIFICATIONS.c[f.name] for f in dataclasses.fields(Notification))).where(
                    NOTIFICATIONS.c.incident_number.in_(numbers)
                )
            ).all()
        found: dict[int, list[Notification]] = {}
        for row in rows:
            found.setdefault(row.incident_number, []).append(Notification(**row._mapping))
        return found

    # --- a step, falling through ---------------------------------------------------------------

    def _take(self, incident: Incident, step: escalation.Step, now: dt.datetime) -> list[Notification]:
        person = self.roster.venue_manager() if step.whom == "venue_manager" else self.roster.on_call_at(now)
        attempted = []
        for channel in step.channels:
            sent = self._notify(incident, step.key, channel, person, now)
            if sent is None:
                continue  # another tick has it
            attempted.append(sent)
            if sent.status == "failed":
                attempted += self._fall_through(incident, step, {channel}, person, now)
        return attempted

    def _fall_through(
        self,
        incident: Incident,
        step: escalation.Step,
        tried: set[str],
        person: Person | None,
        now: dt.datetime,
    ) -> list[Notification]:
        attempted = []
        for channel in FALLBACK:
            if channel in step.channels or channel in tried:
                continue
            sent = self._notify(incident, step.key, channel, person, now)
            if sent is None:
                continue
            attempted.append(sent)
            if sent.status == "sent":
                break
        return attempted

    def _notify(
        self,
        incident: Incident,
        step_key: str,
        channel: str,
        person: Person | None,
        now: dt.datetime,
        address: str | None = None,
    ) -> Notification | None:
        """Claim, send and record one message (to `address`, else the person's on this channel);
        None when another tick claimed it first."""
        address = address or self._address(channel, person)
        if not self._claim(incident, step_key, channel, person, address, now):
            return None
        try:
            if address is None:
                raise SendError(_unreachable(channel, person), retryable=False)
            outcome = self._send(incident, step_key, channel, person, address, now)
            status, detail = "sent", outcome.detail or outcome.provider_message_id
        except SendError as exc:
            status, detail = "failed", str(exc)
        return self._record(incident, step_key, channel, person, address, status, detail, now)

    def _address(self, channel: str, person: Person | None) -> str | None:
        if channel == "slack":
            return self.roster.on_call.slack_channel or (person.slack if person else None)
        if channel == "webhook":
            return settings.ALERT_WEBHOOK_URL.get() or "outbox"
        if person is None:
            return None
        return person.email if channel == "email" else person.phone

    def _send(
        self,
        incident: Incident,
        step_key: str,
        channel: str,
        person: Person | None,
        address: str,
        now: dt.datetime,
    ) -> Outcome:
        name = person.name if person else "on call"
        ack = links.url("incident", {"i": incident.incident_number, "p": name})
        file_name = re.sub(r"[^A-Za-z0-9.-]", "_", f"incident-{incident.incident_number}-{step_key}")
        resolved = step_key.startswith(RESOLVED)
        acknowledged = step_key.startswith(ACKNOWLEDGED)
        if channel == "email":
            message = (
                notices.email_resolved(incident, name, address, now)
                if resolved
                else notices.email_message(
                    incident, step_key, name, address, ack, links.incidents_url(name), now
                )
            )
            return Outcome("sent", provider_message_id=self.mailer.send(message))
        if channel == "sms":
            body = notices.sms_resolved(incident) if resolved else notices.sms_body(incident, step_key, ack)
            message = text_message(address, body)
            if self.twilio is None:
                return self.outbox.write_json(file_name, channel, message)
            return send_text(self.twilio, message)
        if channel == "slack":
            mention = person.slack if person else None
            if acknowledged:
                message = notices.slack_acknowledged(incident)
            elif resolved:
                message = notices.slack_resolved(incident)
            else:
                message = notices.slack_message(incident, step_key, mention, ack)
            message["channel"] = address
            if self.slack is None:
                return self.outbox.write_json(file_name, channel, message)
            try:
                ts = self.slack.chat_postMessage(**message)["ts"]
            except SlackApiError as exc:
                raise slack_refusal(exc, address) from exc
            except UNREACHABLE as exc:
                raise SendError(f"Slack could not be reached ({exc})", retryable=True) from exc
            return Outcome("sent", provider_message_id=ts, detail=f"posted in {address}")
        event = notices.webhook_payload(incident, RESOLVED if resolved else "triggered")
        if address == "outbox":
            return self.outbox.write_json(file_name, channel, event)
        secret = settings.ALERT_WEBHOOK_SECRET.get()
        if not secret:
            raise SendError(
                "BACKROOM_ALERT_WEBHOOK_SECRET is not set, so the alert webhook cannot be signed",
                retryable=False,
            )
        with httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False) as http:
            return post_signed(http, address, event, file_name, [secret], now)

    # --- acknowledgement and resolution -----------------------------------------------------------

    def _announce_acknowledgement(
        self, incident: Incident, done: list[Notification], now: dt.datetime
    ) -> list[Notification]:
        """Say in the Slack channels the incident was posted in who is on it, once."""
        posted = {n.address for n in done if n.channel == "slack" and n.status == "sent" and _a_step(n)}
        said = {n.step_key for n in done if n.step_key.startswith(ACKNOWLEDGED)}
        attempted = []
        for address in sorted(posted):
            if f"{ACKNOWLEDGED}:{address}" not in said:
                sent = self._notify(incident, f"{ACKNOWLEDGED}:{address}", "slack", None, now, address)
                attempted += [sent] if sent else []
        return attempted

    def _announce_resolution(
        self, incident: Incident, done: list[Notification], now: dt.datetime
    ) -> list[Notification]:
        """Tell everyone who was told of the incident, on the channel that reached them."""
        reached = {(n.channel, n.person, n.address) for n in done if n.status == "sent" and _a_step(n)}
        announced = {n.step_key for n in done if n.step_key.startswith(RESOLVED)}
        attempted = []
        for channel, name, address in sorted(reached, key=lambda r: (r[0], r[1] or "", r[2] or "")):
            step_key = f"{RESOLVED}:{address}"
            if step_key in announced:
                continue
            person = next((p for p in self.roster.people if p.name == name), None) or (
                Person(name, None, None, None) if name else None
            )
            sent = self._notify(incident, step_key, channel, person, now, address)
            if sent is not None:
                attempted.append(sent)
        return attempted

    # --- the ledger ----------------------------------------------------------------------------

    def _claim(
        self,
        incident: Incident,
        step_key: str,
        channel: str,
        person: Person | None,
        address: str | None,
        now: dt.datetime,
    ) -> bool:
        try:
            with self.db.engine.begin() as conn:
                conn.execute(
                    sa.insert(NOTIFICATIONS).values(
                        incident_number=incident.incident_number,
                        step_key=step_key,
                        channel=channel,
                        person=person.name if person else None,
                        address=address,
                        status="sending",
                        claimed_at=now,
                    )
                )
        except sa.exc.IntegrityError:
            return False
        return True

    def _record(
        self,
        incident: Incident,
        step_key: str,
        channel: str,
        person: Person | None,
        address: str | None,
        status: str,
        detail: str | None,
        now: dt.datetime,
    ) -> Notification:
        with self.db.engine.begin() as conn:
            conn.execute(
                sa.update(NOTIFICATIONS)
                .where(
                    NOTIFICATIONS.c.incident_number == incident.incident_number,
                    NOTIFICATIONS.c.step_key == step_key,
                    NOTIFICATIONS.c.channel == channel,
                )
                .values(status=status, detail=detail, finished_at=now)
            )
        return Notification(
            incident.incident_number,
            step_key,
            channel,
            person.name if person else None,
            address,
            status,
            detail,
        )


def _a_step(notification: Notification) -> bool:
    """A step of the escalation ("1", "2.0", ...), not news of an acknowledgement or resolution."""
    return notification.step_key[0].isdigit()


def _unreachable(channel: str, person: Person | None) -> str:
    if person is None:
        return "nobody is on call: name people in the on-call file, or add managers to the staff table"
    what = {"email": "email address", "sms": "mobile number", "slack": "Slack member id"}[channel]
    return f"{person.name} has no {what} on the on-call list"


def notifications_of(db: Database, number: int) -> list[Notification]:
    """Every message sent (or tried) about one incident, in the order they were claimed."""
    with db.engine.connect() as conn:
        rows = conn.execute(
            sa.select(*(NOTIFICATIONS.c[f.name] for f in dataclasses.fields(Notification)))
            .where(NOTIFICATIONS.c.incident_number == number)
            .order_by(NOTIFICATIONS.c.notification_id)
        ).all()
    return [Notification(**row._mapping) for row in rows]
