"""What the YAML files and commands configure, checked once by pydantic and worded for people.

`Cron` and `Timezone` are shared by report layouts and subscriptions; `Choice` checks a
value against the allowed ones with the wording of choices.one_of. `problems` turns a
pydantic ValidationError into (field, message) pairs: the message of our own checks as
written, pydantic's otherwise, so every refusal names the field and says what is wrong.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from croniter import CroniterBadDateError, croniter
from pydantic import AfterValidator, BaseModel, ConfigDict, StrictStr, ValidationError

from backroom_reporting.choices import one_of

CRON_FIELDS = "minute hour day-of-month month day-of-week, e.g. '0 22 * * *' for 22:00 daily"


Location = tuple[str | int, ...]


class FieldProblems(ValueError):
    """A check across fields that blames some of them: (location within the model, message),
    e.g. (("query", "columns", 1, "key"), "unknown column 'takings'")."""

    def __init__(self, found: Sequence[tuple[Location, str]]):
        super().__init__("; ".join(message for _, message in found))
        self.found = list(found)


class FieldProblem(FieldProblems):
    """One field to blame: `location` a field name or a location within the model."""

    def __init__(self, location: str | Location, message: str):
        super().__init__([((location,) if isinstance(location, str) else location, message)])


def checked_cron(cron: str) -> str:
    """A five-field cron expression that fires; Dagster schedules take no seconds field."""
    fields = len(cron.split())
    if fields != 5 and not cron.startswith("@"):  # @daily and the like are one word
        raise ValueError(f"{cron!r} has {fields} fields; a cron has 5: {CRON_FIELDS}")
    if not croniter.is_valid(cron) or len(croniter.expand(cron)[0]) != 5:
        raise ValueError(f"{cron!r} is not a valid cron expression: five fields, {CRON_FIELDS}")
    try:
        croniter(cron, dt.datetime(2000, 1, 1)).get_next(dt.datetime)
    except CroniterBadDateError as exc:
        raise ValueError(f"{cron!r} never fires (no such date)") from exc
    return cron


def checked_timezone(name: str) -> str:
    """An IANA timezone name zoneinfo knows (Europe/London, not Europe/Leeds or BST)."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not an IANA timezone name; use one such as Europe/London") from None
    return name


Cron = Annotated[StrictStr, AfterValidator(checked_cron)]
Timezone = Annotated[StrictStr, AfterValidator(checked_timezone)]


def Choice(what: str, known: Sequence[str]) -> Any:
    """A string that must be one of `known`: "unknown <what> 'x'; known: a, b, c"."""
    return Annotated[StrictStr, AfterValidator(lambda value: one_of(what, value, known, ValueError))]


class ConfigModel(BaseModel):
    """A mapping read from a file: unknown fields are mistakes (a typo would otherwise be ignored)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _message(error: dict) -> str:
    if error["type"] == "missing":
        return "missing field"
    if error["type"] == "extra_forbidden":
        return "unknown field"
    if error["type"] in ("model_type", "dict_type"):
        return f"must be a mapping of fields, not {error['input']!r}"
    if error["type"] == "too_short":
        return f"must have at least {error['ctx']['min_length']} item(s), not {error['ctx']['actual_length']}"
    own = error.get("ctx", {}).get("error")
    if isinstance(own, ValueError):
        return str(own)
    message = error["msg"]
    return f"{message[0].lower()}{message[1:]}, not {error['input']!r}"


def problems(exc: ValidationError) -> list[tuple[Location, str]]:
    """(location, message) per mistake, in the order pydantic found them; the fields a
    FieldProblems blames are located within the model that raised it."""
    found = []
    for error in exc.errors():
        location = tuple(error["loc"])
        own = error.get("ctx", {}).get("error")
        if isinstance(own, FieldProblems):
            found += [(location + within, message) for within, message in own.found]
        else:
            found.append((location, _message(error)))
    return found


def dotted(location: Sequence[str | int]) -> str:
    """schedule.cron, query.columns[2].key: list positions counted from 1."""
    text = ""
    for part in location:
        text += f"[{part + 1}]" if isinstance(part, int) else f".{part}"
    return text.lstrip(".")


def keyed_field(raw: dict, location: Sequence[str | int], listed: str) -> str:
    """A field as a person finds it in the file: an entry of the list `listed` by its position and
    key, e.g. sections[3] (bookings) query.limit; any other field dotted."""
    if len(location) >= 2 and location[0] == listed and isinstance(location[1], int):
        entry = raw[listed][location[1]]
        key = entry.get("key") if isinstance(entry, dict) else None
        named = f"{listed}[{location[1] + 1}]" + (f" ({key})" if isinstance(key, str) else "")
        return f"{named} {dotted(location[2:])}".rstrip()
    return dotted(location)


def require_distinct_keys(listed: str, what: str, keys: Sequence[str]) -> None:
    """A FieldProblem on `listed` naming the keys that repeat, e.g. "section keys repeat: bookings"."""
    if len(set(keys)) != len(keys):
        repeated = ", ".join(sorted({k for k in keys if keys.count(k) > 1}))
        raise FieldProblem(listed, f"{what} keys repeat: {repeated}")


Model = TypeVar("Model", bound=BaseModel)


def checked_yaml(
    text: str, where: str, model: type[Model], shape: str, error: type[Exception], listed: str = ""
) -> tuple[dict, Model]:
    """`text`, YAML, checked as `model`: the mapping read and the model. A mistake raises `error`
    naming `where` and the field (an entry of the list `listed` by its position and key), e.g.
    "rules.yaml: rules[2] (late) deadline: ..."; `shape` says what the file must be."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise error(f"{where}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise error(f"{where}: {shape}")
    try:
        return raw, model.model_validate(raw)
    except ValidationError as exc:
        found = problems(exc)
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        location, message = found[0]
        raise error(f"{where}: {keyed_field(raw, location, listed)}: {message}{more}") from None
