"""Request validation (bodies, query parameters, headers) and response serialisation."""

from __future__ import annotations

import datetime
import itertools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from werkzeug.datastructures import MultiDict

from .errors import MAX_ERRORS, validation_error
from .models import Project, Task, User
from .routing import MAX_ID

# Integer text longer than this is refused before it is converted (body.py's JSON numbers): 20 digits hold
# every 64-bit integer, and every range of the spec is far inside that.
MAX_INTEGER_DIGITS = 20

# The WHATWG HTML "valid e-mail address", exactly the pattern of spec/openapi.yaml.
EMAIL_RE = re.compile(
    r"[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*"
)
DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
LIMIT_RE = re.compile(r"[0-9]{1,3}")
VISIBLE_ASCII_RE = re.compile(r"[\x21-\x7e]+")
EVENT_ID_RE = re.compile(r"0|[1-9][0-9]{0,15}")  # the EventId schema: decimal, no sign or leading zeros
PRIORITIES = ("low", "normal", "high")

ErrorItem = dict[str, str]
Check = Callable[[Any], str | None]  # returns the problem's detail, or None when the value is valid


def pointer(name: str) -> str:
    """The JSON Pointer (RFC 6901) of a top-level member."""
    return "/" + name.replace("~", "~0").replace("/", "~1")


def string(min_length: int, max_length: int, pattern: re.Pattern[str] | None = None) -> Check:
    """A JSON string of min..max code points, without U+0000, optionally matching a pattern."""

    def check(value: Any) -> str | None:
        if not isinstance(value, str):
            return "must be a string"
        if not min_length <= len(value) <= max_length:
            return f"must be {min_length} to {max_length} characters"
        if "\x00" in value:
            return "must not contain U+0000"
        if pattern is not None and not pattern.fullmatch(value):
            return "has not the required format"
        return None

    return check


def identifier(value: Any) -> str | None:
    """An id: a JSON integer (no fraction, no exponent, not a boolean) from 1 to 2^53-1."""
    if type(value) is not int:  # bool is a subclass of int; 1.0 and 1e0 parse as float
        return "must be an integer"
    if not 1 <= value <= MAX_ID:
        return f"must be from 1 to {MAX_ID}"
    return None


def boolean(value: Any) -> str | None:
    """true or false, nothing else."""
    return None if isinstance(value, bool) else "must be a boolean"


def priority(value: Any) -> str | None:
    """One of low, normal, high."""
    return None if isinstance(value, str) and value in PRIORITIES else "must be one of low, normal, high"


def optional_date(value: Any) -> str | None:
    """A calendar date written YYYY-MM-DD (year 0001 to 9999), or null."""
    if value is None:
        return None
    if not isinstance(value, str) or not DATE_RE.fullmatch(value):
        return "must be a date written YYYY-MM-DD, or null"
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        return "must be a calendar date"
    return None


@dataclass(frozen=True)
class Member:
    """One member of a request body."""

    check: Check
    required: bool = False
    nullable: bool = False  # only due_on: null then passes to its check


EMAIL = string(3, 254, EMAIL_RE)
PASSWORD = string(8, 128)
USER_CREATE = {
    "email": Member(EMAIL, True),
    "password": Member(PASSWORD, True),
    "name": Member(string(1, 100), True),
}
TOKEN_CREATE = {"email": Member(EMAIL, True), "password": Member(PASSWORD, True)}
PROJECT_CREATE = {"name": Member(string(1, 100), True), "description": Member(string(0, 2000))}
PROJECT_PATCH = {"name": Member(string(1, 100)), "description": Member(string(0, 2000))}
TASK_CREATE = {
    "title": Member(string(1, 200), True),
    "notes": Member(string(0, 10000)),
    "done": Member(boolean),
    "priority": Member(priority),
    "due_on": Member(optional_date, nullable=True),
}
TASK_REPLACE = {
    "project_id": Member(identifier, True),
    **{name: Member(f.check, True, f.nullable) for name, f in TASK_CREATE.items()},
}
TASK_PATCH = {name: Member(f.check, False, f.nullable) for name, f in TASK_REPLACE.items()}


# concordance: validation
def body_errors(body: Any, fields: Mapping[str, Member], limit: int = MAX_ERRORS) -> list[ErrorItem]:
    """The problems of a body against its members (additionalProperties: false), at most `limit`: the
    check stops there, so 100,000 unknown members cost no more than 20."""
    if not isinstance(body, dict):
        return [{"pointer": "", "detail": "must be a JSON object"}]
    errors: list[ErrorItem] = []
    for name, field in fields.items():
        if name not in body:
            if field.required:
                errors.append({"pointer": pointer(name), "detail": "is required"})
            continue
        value = body[name]
        if value is None and not field.nullable:
            errors.append({"pointer": pointer(name), "detail": "must not be null"})
            continue
        detail = field.check(value)
        if detail is not None:
            errors.append({"pointer": pointer(name), "detail": detail})
    # Any name is a member like any other (user, __proto__, 10,000 characters, non-ASCII): it is only ever
    # a dict key here, never an attribute or a keyword argument.
    unknown = (name for name in body if name not in fields)
    errors.extend(
        {"pointer": pointer(name), "detail": "is not a known member"}
        for name in itertools.islice(unknown, max(limit - len(errors), 0))
    )
    return errors


def validate(body: Any, fields: Mapping[str, Member], extra: list[ErrorItem] | None = None) -> dict[str, Any]:
    """The body when it is valid, else a 422 with the header/parameter problems and the body's, at most
    MAX_ERRORS in all."""
    errors = list(extra or [])
    errors += body_errors(body, fields, MAX_ERRORS - len(errors))
    if errors:
        raise validation_error(errors)
    return dict(body)


# end concordance


def idempotency_key_errors(key: str | None) -> list[ErrorItem]:
    """The Idempotency-Key header: absent, or 1 to 255 visible ASCII characters."""
    if key is None or (len(key) <= 255 and VISIBLE_ASCII_RE.fullmatch(key)):
        return []
    return [{"header": "Idempotency-Key", "detail": "must be 1 to 255 visible ASCII characters"}]


@dataclass(frozen=True)
class ListParams:
    """The validated query parameters of a list operation."""

    limit: int | None = None  # None: not given (the page size is then 20, and Link leaves it out)
    cursor: str | None = None
    done: bool | None = None
    priority: str | None = None

    @property
    def page_size(self) -> int:
        """The page size: limit, default 20."""
        return self.limit if self.limit is not None else 20

    def link_params(self) -> list[tuple[str, str]]:
        """limit, done and priority as the request gave them (those present, in that order)."""
        pairs = [("limit", str(self.limit))] if self.limit is not None else []
        if self.done is not None:
            pairs.append(("done", "true" if self.done else "false"))
        if self.priority is not None:
            pairs.append(("priority", self.priority))
        return pairs


def list_params(args: MultiDict[str, str], *, filters: bool) -> ListParams:
    """limit, cursor (and done, priority for tasks); a repeated parameter is 422, unknown ones are ignored."""
    errors: list[ErrorItem] = []
    values: dict[str, Any] = {}
    names = ("limit", "cursor", "done", "priority") if filters else ("limit", "cursor")
    for name in names:
        given = args.getlist(name)
        if not given:
            continue
        if len(given) > 1:
            errors.append({"parameter": name, "detail": "must be given at most once"})
            continue
        value = given[0]
        if name == "limit":
            if LIMIT_RE.fullmatch(value) and 1 <= int(value) <= 100:
                values["limit"] = int(value)
            else:
                errors.append({"parameter": name, "detail": "must be an integer from 1 to 100"})
        elif name == "cursor":
            if 1 <= len(value) <= 512:
                values["cursor"] = value
            else:
                errors.append({"parameter": name, "detail": "must be 1 to 512 characters"})
        elif name == "done":
            if value in ("true", "false"):
                values["done"] = value == "true"
            else:
                errors.append({"parameter": name, "detail": "must be true or false"})
        elif value in PRIORITIES:
            values["priority"] = value
        else:
            errors.append({"parameter": name, "detail": "must be one of low, normal, high"})
    if errors:
        raise validation_error(errors)
    return ListParams(**values)


def resume_after(headers: Mapping[str, str], args: MultiDict[str, str]) -> int | None:
    """The event id a stream resumes after: Last-Event-ID, else ?last_event_id (None without either).

    The header wins, because an EventSource that reconnects sends it with the URL it first used; both are
    validated all the same, and every problem is reported at once (422).
    """
    errors: list[ErrorItem] = []
    detail = "must be an event id: 0 or a decimal integer without sign or leading zeros"
    header = headers.get("Last-Event-ID")
    if header is not None and not EVENT_ID_RE.fullmatch(header):
        errors.append({"header": "Last-Event-ID", "detail": detail})
    given = args.getlist("last_event_id")
    if len(given) > 1:
        errors.append({"parameter": "last_event_id", "detail": "must be given at most once"})
    elif given and not EVENT_ID_RE.fullmatch(given[0]):
        errors.append({"parameter": "last_event_id", "detail": detail})
    if errors:
        raise validation_error(errors)
    value = header if header is not None else (given[0] if given else None)
    return int(value) if value is not None else None


def user_json(user: User) -> dict[str, Any]:
    """The User resource."""
    return {"id": user.id, "email": user.email, "name": user.name, "created_at": user.created_at}


def project_json(project: Project) -> dict[str, Any]:
    """The Project resource."""
    return {
        "id": project.id,
        "name": project.name,
        "description": project.description,
        "created_at": project.created_at,
        "updated_at": project.updated_at,
        "version": project.version,
    }


def task_json(task: Task) -> dict[str, Any]:
    """The Task resource."""
    return {
        "id": task.id,
        "project_id": task.project_id,
        "title": task.title,
        "notes": task.notes,
        "done": bool(task.done),
        "priority": task.priority,
        "due_on": task.due_on.isoformat() if task.due_on is not None else None,
        "created_at": task.created_at,
        "updated_at": task.updated_at,
        "version": task.version,
    }
