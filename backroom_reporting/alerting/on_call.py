"""Who is on call when, and how an incident climbs: report_layouts/alerts/on_call.yaml.

The file names the people who can be paged, the weekly rota with its hand-over and any
overrides, the venue manager texted at the last step, the Slack channel incidents are posted
in, and the timings of each escalation policy the alert rules name. Left without people, the
staff table's active managers are the rota (docs/operations.md, "On call").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from pydantic import Field, StrictInt, StrictStr, field_validator, model_validator

from backroom_reporting import settings
from backroom_reporting.alerting.rules import ESCALATION_POLICIES
from backroom_reporting.config_types import ConfigModel, FieldProblem, Timezone, checked_yaml
from backroom_reporting.subscriptions.service import SubscriptionError, checked_phone
from backroom_reporting.warehouse.database import Database
from backroom_reporting.warehouse.tables.raw import RAW

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MANAGER = "manager"


class OnCallError(ValueError):
    """An on-call file that cannot be used, with where and why."""


@dataclass(frozen=True)
class Person:
    name: str
    email: str | None
    phone: str | None  # E.164
    slack: str | None  # a Slack member id


def _time_of_day(value: str) -> dt.time:
    try:
        return dt.time.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a time of day; write HH:MM, e.g. '10:00'") from None


def _phone(value: str) -> str:
    try:
        return checked_phone(value)
    except SubscriptionError as exc:
        raise ValueError(str(exc)) from None


class _PersonSpec(ConfigModel):
    name: StrictStr
    email: StrictStr | None = None
    phone: StrictStr | None = None
    slack: StrictStr | None = None

    @field_validator("phone")
    @classmethod
    def _e164(cls, value: str | None) -> str | None:
        return None if value is None else _phone(value)


class _OverrideSpec(ConfigModel):
    name: StrictStr
    from_: dt.datetime = Field(alias="from")
    until: dt.datetime

    @model_validator(mode="after")
    def _in_order(self) -> _OverrideSpec:
        if self.until <= self.from_:
            raise FieldProblem("until", f"{self.until} is not after {self.from_}")
        return self


class _RotaSpec(ConfigModel):
    hand_over: StrictStr = "monday 10:00"
    starting: dt.date
    order: tuple[StrictStr, ...] = ()
    overrides: tuple[_OverrideSpec, ...] = ()

    @field_validator("hand_over")
    @classmethod
    def _weekday_and_time(cls, value: str) -> str:
        day, _, time = value.strip().lower().partition(" ")
        if day not in WEEKDAYS:
            raise ValueError(f"{value!r} does not start with a day of the week, e.g. 'monday 10:00'")
        _time_of_day(time)
        return f"{day} {time}"

    @model_validator(mode="after")
    def _starts_on_a_hand_over_day(self) -> _RotaSpec:
        day = self.hand_over.split()[0]
        if WEEKDAYS[self.starting.weekday()] != day:
            raise FieldProblem(
                "starting", f"{self.starting} is a {WEEKDAYS[self.starting.weekday()]}, not a {day}"
            )
        return self


class _PolicySpec(ConfigModel):
    sms_after: Annotated[StrictInt, Field(ge=1)] | None = None
    manager_after: Annotated[StrictInt, Field(ge=1)] | None = None
    repeat_every: Annotated[StrictInt, Field(ge=1)] | None = None
    repeats: Annotated[StrictInt, Field(ge=0)] = 0
    hours: StrictStr | None = None

    @field_validator("hours")
    @classmethod
    def _opening_and_closing(cls, value: str | None) -> str | None:
        if value is None:
            return None
        opens, _, closes = value.partition("-")
        if _time_of_day(opens.strip()) >= _time_of_day(closes.strip()):
            raise ValueError(f"{value!r} does not close after it opens; write e.g. '10:00-18:00'")
        return value

    @model_validator(mode="after")
    def _whole(self) -> _PolicySpec:
        if self.repeats and self.repeat_every is None:
            raise FieldProblem("repeat_every", "a policy that repeats needs repeat_every (minutes)")
        if self.manager_after is not None and self.sms_after is None:
            raise FieldProblem(
                "sms_after", "the venue manager is texted after the on-call person: set sms_after"
            )
        return self


class _OnCallSpec(ConfigModel):
    timezone: Timezone = "Europe/London"
    people: tuple[_PersonSpec, ...] = ()
    rota: _RotaSpec
    venue_manager: StrictStr | None = None
    slack_channel: StrictStr | None = None
    escalation: dict[StrictStr, _PolicySpec]

    @model_validator(mode="after")
    def _names_known(self) -> _OnCallSpec:
        missing = sorted(set(ESCALATION_POLICIES) - set(self.escalation))
        if missing:
            raise FieldProblem("escalation", f"the rules' policies need timings here: {', '.join(missing)}")
        unknown = sorted(set(self.escalation) - set(ESCALATION_POLICIES))
        if unknown:
            known = ", ".join(ESCALATION_POLICIES)
            raise FieldProblem(("escalation", unknown[0]), f"unknown escalation policy; known: {known}")
        names = [p.name for p in self.people]
        if self.people:
            for where, name in [
                *((("rota", "order", i), n) for i, n in enumerate(self.rota.order)),
                *((("rota", "overrides", i, "name"), o.name) for i, o in enumerate(self.rota.overrides)),
                *([(("venue_manager",), self.venue_manager)] if self.venue_manager else []),
            ]:
                if name not in names:
                    raise FieldProblem(where, f"{name!r} is not one of the people: {', '.join(names)}")
        elif self.rota.order or self.venue_manager:
            raise FieldProblem("people", "name the people before putting them in the rota")
        return self


@dataclass(frozen=True)
class Policy:
    """An escalation policy's timings (minutes); None where it has no such step."""

    name: str
    sms_after: dt.timedelta | None
    manager_after: dt.timedelta | None
    repeat_every: dt.timedelta | None
    repeats: int
    hours: tuple[dt.time, dt.time] | None  # texts wait for these local hours

    def waits_for_hours(self, moment: dt.datetime, zone: ZoneInfo) -> dt.datetime:
        """`moment`, or when the working hours next open if it falls outside them."""
        if self.hours is None:
            return moment
        opens, closes = self.hours
        local = moment.astimezone(zone)
        if opens <= local.time() < closes:
            return moment
        day = local.date() + dt.timedelta(days=local.time() >= closes)
        return dt.datetime.combine(day, opens, tzinfo=zone).astimezone(dt.UTC)


def _policy(name: str, spec: _PolicySpec) -> Policy:
    minutes = lambda value: None if value is None else dt.timedelta(minutes=value)  # noqa: E731
    hours = None
    if spec.hours:
        opens, closes = (_time_of_day(part.strip()) for part in spec.hours.split("-"))
        hours = (opens, closes)
    return Policy(
        name,
        minutes(spec.sms_after),
        minutes(spec.manager_after),
        minutes(spec.repeat_every),
        spec.repeats,
        hours,
    )


@dataclass(frozen=True)
class OnCall:
    """The on-call file, read and checked; `roster` fills in the staff table's managers."""

    zone: ZoneInfo
    people: tuple[Person, ...]
    hand_over: dt.time  # local; `starting` is on the hand-over's weekday
    starting: dt.date
    order: tuple[str, ...]
    overrides: tuple[tuple[str, dt.datetime, dt.datetime], ...]
    venue_manager: str | None
    slack_channel: str | None
    policies: dict[str, Policy]

    def roster(self, db: Database) -> Roster:
        people = self.people or managers(db)
        return Roster(self, people)


@dataclass(frozen=True)
class Roster:
    """The on-call file with its people known: who is on call at a moment, who manages the venue."""

    on_call: OnCall
    people: tuple[Person, ...]

    def person(self, name: str) -> Person:
        for person in self.people:
            if person.name == name:
                return person
        raise OnCallError(f"{name!r} is not on the on-call list")

    def on_call_at(self, moment: dt.datetime) -> Person | None:
        """Whoever an override names at `moment`, else the rota's person for that week."""
        config = self.on_call
        for name, start, end in config.overrides:
            if start <= moment < end:
                return self.person(name)
        order = config.order or tuple(p.name for p in self.people)
        if not order:
            return None
        first = dt.datetime.combine(config.starting, config.hand_over)
        local = moment.astimezone(config.zone)
        # Weeks counted on the wall clock, so a hand-over stays at 10:00 across the clocks changing.
        weeks = (local.replace(tzinfo=None) - first).days // 7
        return self.person(order[weeks % len(order)])

    def venue_manager(self) -> Person | None:
        name = self.on_call.venue_manager
        if name:
            return self.person(name)
        return self.people[0] if self.people else None

    def by_phone(self, number: str) -> Person | None:
        """The person whose phone this is (E.164), for an SMS reply."""
        try:
            e164 = checked_phone(number)
        except SubscriptionError:
            return None
        return next((p for p in self.people if p.phone == e164), None)


def person_by_phone(db: Database, number: str) -> Person | None:
    """Who on the on-call list (BACKROOM_ON_CALL, else the staff table's managers) has this phone."""
    return parse_on_call(settings.ON_CALL.get()).roster(db).by_phone(number)


def managers(db: Database) -> tuple[Person, ...]:
    """The staff table's active managers, by staff id: the rota when the file names no one."""
    staff = RAW["staff"]
    with db.engine.connect() as conn:
        rows = conn.execute(
            sa.select(staff.c.name, staff.c.email, staff.c.phone)
            .where(staff.c.role == MANAGER, staff.c.active.is_(True))
            .order_by(staff.c.staff_id)
        ).all()
    people = []
    for row in rows:
        try:
            phone = checked_phone(row.phone) if row.phone else None
        except SubscriptionError:
            phone = None  # not a number a text can reach: email and Slack still can
        people.append(Person(row.name, row.email or None, phone, None))
    return tuple(people)


def parse_on_call(path: Path | str) -> OnCall:
    """The on-call file at `path`; an OnCallError names the file and the field."""
    path = Path(path)
    where = path.as_posix()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise OnCallError(f"{where}: no on-call file there") from None
    shape = "an on-call file is a mapping (people, rota, escalation)"
    _, spec = checked_yaml(text, where, _OnCallSpec, shape, OnCallError)
    zone = ZoneInfo(spec.timezone)
    return OnCall(
        zone=zone,
        people=tuple(Person(p.name, p.email, p.phone, p.slack) for p in spec.people),
        hand_over=_time_of_day(spec.rota.hand_over.split()[1]),
        starting=spec.rota.starting,
        order=tuple(spec.rota.order),
        overrides=tuple((o.name, _local(o.from_, zone), _local(o.until, zone)) for o in spec.rota.overrides),
        venue_manager=spec.venue_manager,
        slack_channel=spec.slack_channel,
        policies={name: _policy(name, policy) for name, policy in spec.escalation.items()},
    )


def _local(moment: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """A time written without an offset is the venue's wall clock."""
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment
