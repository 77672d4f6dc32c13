"""Request validation (bodies and list parameters, every problem at once) and response serialisation."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import Row

from tasks_api.errors import MAX_ERRORS, ErrorItem
from tasks_api.routing import MAX_ID

if TYPE_CHECKING:
    from tasks_api.security import Caller

Check = Callable[[Any], str | None]  # a value's problem, in words, or None when it is valid

# The WHATWG HTML "valid e-mail address" (ASCII only), the `pattern` of openapi.yaml.
EMAIL_RE = re.compile(
    r"[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*"
)
DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # [0-9], not \d: \d also matches other scripts' digits
PRIORITIES = ("low", "normal", "high")
# Integer text longer than this is refused before it is converted (a JSON number in body.py, `limit`
# here): it is out of every range of the API anyway, and int() of a long text costs time.
MAX_INTEGER_DIGITS = 20
_DIGITS = re.compile(f"[0-9]{{1,{MAX_INTEGER_DIGITS}}}")


# --- checks for one JSON value --------------------------------------------------------------------


def is_integer(value: object) -> bool:
    """A JSON integer: bool is an int subclass in Python, and 1.0 arrives as a float."""
    return isinstance(value, int) and not isinstance(value, bool)


def string(min_length: int, max_length: int) -> Check:
    """A string of min to max code points without U+0000 (PostgreSQL cannot store it)."""

    def check(value: Any) -> str | None:
        if not isinstance(value, str):
            return "must be a string"
        if not min_length <= len(value) <= max_length:
            return f"must be {min_length} to {max_length} characters"
        if "\x00" in value:
            return "must not contain U+0000"
        return None

    return check


def email(value: Any) -> str | None:
    if not isinstance(value, str):
        return "must be a string"
    if len(value) > 254 or not EMAIL_RE.fullmatch(value):  # fullmatch: `$` would accept a final newline
        return "must be a valid email address of at most 254 characters"
    return None


def boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


def priority(value: Any) -> str | None:
    return None if isinstance(value, str) and value in PRIORITIES else "must be low, normal or high"


def identifier(value: Any) -> str | None:
    return None if is_integer(value) and 1 <= value <= MAX_ID else f"must be an integer from 1 to {MAX_ID}"


def optional_date(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and DATE_RE.fullmatch(value):
        try:
            date.fromisoformat(value)  # refuses 2026-02-30 and year 0000
            return None
        except ValueError:
            pass
    return "must be a date YYYY-MM-DD or null"


# --- object schemas -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    """One member of a body: how to check it, whether it is required, how to convert it once valid."""

    check: Check
    required: bool = False
    convert: Callable[[Any], Any] = lambda value: value


def _lower(value: str) -> str:
    return value.lower()  # emails are stored and compared lower-cased: uniqueness ignores case


def _to_date(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


USER_CREATE = {
    "email": Member(email, required=True, convert=_lower),
    "password": Member(string(8, 128), required=True),
    "name": Member(string(1, 100), required=True),
}
TOKEN_CREATE = {
    "email": Member(email, required=True, convert=_lower),
    "password": Member(string(8, 128), required=True),
}
PROJECT_CREATE = {
    "name": Member(string(1, 100), required=True),
    "description": Member(string(0, 2000)),
}
PROJECT_PATCH = {name: Member(member.check) for name, member in PROJECT_CREATE.items()}
TASK_CREATE = {
    "title": Member(string(1, 200), required=True),
    "notes": Member(string(0, 10000)),
    "done": Member(boolean),
    "priority": Member(priority),
    "due_on": Member(optional_date, convert=_to_date),
}
TASK_REPLACE = {
    "project_id": Member(identifier, required=True),
    **{
        name: Member(member.check, required=True, convert=member.convert)
        for name, member in TASK_CREATE.items()
    },
}
# A merge patch names the members to change: all optional; null only where null is a value (due_on).
TASK_PATCH = {name: Member(member.check, convert=member.convert) for name, member in TASK_REPLACE.items()}


# concordance: validation
def parse_object(document: object, members: dict[str, Member]) -> tuple[dict[str, Any], list[ErrorItem]]:
    """The converted values of a JSON object body and every problem with it (additionalProperties: false)."""
    if not isinstance(document, dict):
        return {}, [{"pointer": "", "detail": "must be a JSON object"}]
    errors: list[ErrorItem] = []
    for name in document:  # a name is only ever a dict key here: `user`, `self`, `__proto__` are data
        if name not in members:
            errors.append({"pointer": pointer(name), "detail": "is not a member of this object"})
            if len(errors) == MAX_ERRORS:  # 100,000 unknown members cost 20 items, not 100,000
                return {}, errors
    values: dict[str, Any] = {}
    for name, member in members.items():
        if name not in document:
            if member.required:
                errors.append({"pointer": pointer(name), "detail": "is required"})
            continue
        problem = member.check(document[name])
        if problem:
            errors.append({"pointer": pointer(name), "detail": problem})
        else:
            values[name] = member.convert(document[name])
    return values, errors[:MAX_ERRORS]


# end concordance


def pointer(name: str) -> str:
    """The JSON Pointer (RFC 6901) of a top-level member: `~` and `/` are escaped."""
    return "/" + name.replace("~", "~0").replace("/", "~1")


# --- list parameters ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListParams:
    """The parameters of a list operation; None means "not given"."""

    limit: int | None = None
    cursor: str | None = None
    done: bool | None = None
    priority: str | None = None

    DEFAULT_LIMIT = 20

    @property
    def page_size(self) -> int:
        return self.limit or self.DEFAULT_LIMIT


def list_params(pairs: list[tuple[str, str]], *, filters: bool) -> tuple[ListParams, list[ErrorItem]]:
    """limit, cursor (and for tasks done, priority); unknown parameters are ignored, repeats refused."""
    names = ("limit", "cursor", "done", "priority") if filters else ("limit", "cursor")
    given: dict[str, list[str]] = {}
    for name, value in pairs:
        if name in names:
            given.setdefault(name, []).append(value)
    errors: list[ErrorItem] = []
    values: dict[str, Any] = {}
    for name, raw_values in given.items():
        if len(raw_values) > 1:
            errors.append({"parameter": name, "detail": "must be given at most once"})
            continue
        value, problem = _QUERY_PARSERS[name](raw_values[0])
        if problem:
            errors.append({"parameter": name, "detail": problem})
        else:
            values[name] = value
    return ListParams(**values), errors


def _limit(raw: str) -> tuple[int | None, str | None]:
    # At most MAX_INTEGER_DIGITS digits before int(): anything longer is out of range anyway.
    if _DIGITS.fullmatch(raw) and 1 <= int(raw) <= 100:
        return int(raw), None
    return None, "must be an integer from 1 to 100"


def _cursor(raw: str) -> tuple[str | None, str | None]:
    return (raw, None) if 1 <= len(raw) <= 512 else (None, "must be 1 to 512 characters")


def _done(raw: str) -> tuple[bool | None, str | None]:
    return (
        ({"true": True, "false": False}[raw], None)
        if raw in ("true", "false")
        else (None, "must be true or false")
    )


def _priority(raw: str) -> tuple[str | None, str | None]:
    return (raw, None) if raw in PRIORITIES else (None, "must be low, normal or high")


_QUERY_PARSERS: dict[str, Callable[[str], tuple[Any, str | None]]] = {
    "limit": _limit,
    "cursor": _cursor,
    "done": _done,
    "priority": _priority,
}


# --- responses ------------------------------------------------------------------------------------


def user_json(user: Row[Any] | Caller) -> dict[str, Any]:
    user_id = user.id if isinstance(user, Row) else user.user_id  # a users row, or the Caller carrying one
    return {"id": user_id, "email": user.email, "name": user.name, "created_at": user.created_at}


def project_json(row: Row[Any]) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "description": row.description,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "version": row.version,
    }


def task_json(row: Row[Any]) -> dict[str, Any]:
    return {
        "id": row.id,
        "project_id": row.project_id,
        "title": row.title,
        "notes": row.notes,
        "done": row.done,
        "priority": row.priority,
        "due_on": row.due_on.isoformat() if row.due_on else None,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "version": row.version,
    }
