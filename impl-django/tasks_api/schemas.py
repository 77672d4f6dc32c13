"""Request members and query parameters checked against spec/openapi.yaml, and resources as JSON."""

import json
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.http import HttpRequest, HttpResponse

from .errors import MAX_ERRORS, ErrorItem
from .models import Project, Task, User
from .routing import MAX_ID

# Integer text longer than this is refused before it is converted: 20 digits hold every id (16) and
# limit (3) of the spec, and int() of a long digit string costs time quadratic in its length.
MAX_INTEGER_DIGITS = 20
PRIORITIES = ("low", "normal", "high")
JSON_CONTENT_TYPE = "application/json"

# The WHATWG HTML "valid e-mail address", exactly the pattern in openapi.yaml (ASCII only).
EMAIL_RE = re.compile(
    r"[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*"
)
DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
LIMIT_RE = re.compile(r"[0-9]{1,3}")


# --- body members ---


@dataclass(frozen=True)
class Member:
    """One documented member of a request body."""

    kind: str  # "string", "email", "id", "boolean", "priority" or "date"
    required: bool = False
    nullable: bool = False
    min_length: int = 0
    max_length: int = 0


def _pointer(name: str) -> str:
    return "/" + name.replace("~", "~0").replace("/", "~1")


# concordance: validation
def _check(member: Member, value: Any) -> tuple[Any, str | None]:
    """(the stored value, None) or (None, what is wrong)."""
    if value is None:
        return (None, None) if member.nullable else (None, "must not be null")
    if member.kind in ("string", "email"):
        if not isinstance(value, str):
            return None, "must be a string"
        if not member.min_length <= len(value) <= member.max_length:
            return None, f"must be {member.min_length} to {member.max_length} characters"
        if "\x00" in value:
            return None, "must not contain U+0000"
        if member.kind == "email":
            if not EMAIL_RE.fullmatch(value):
                return None, "must be a valid email address"
            return value.lower(), None
        return value, None
    if member.kind == "id":
        # bool is an int in Python, but true is not an integer in JSON.
        if type(value) is not int or not 1 <= value <= MAX_ID:
            return None, f"must be an integer from 1 to {MAX_ID}"
        return value, None
    if member.kind == "boolean":
        return (value, None) if isinstance(value, bool) else (None, "must be true or false")
    if member.kind == "priority":
        return (
            (value, None)
            if value in PRIORITIES and isinstance(value, str)
            else (None, "must be one of low, normal, high")
        )
    if member.kind == "date":
        if isinstance(value, str) and DATE_RE.fullmatch(value):
            try:
                return date.fromisoformat(value), None
            except ValueError:
                pass
        return None, "must be a calendar date YYYY-MM-DD"
    raise AssertionError(member.kind)


def validate(document: Any, members: dict[str, Member]) -> tuple[dict[str, Any], list[ErrorItem]]:
    """The body's members checked against the schema: (clean values, the first 20 problems found).

    Member names are data, never keyword arguments: "user", "self" or "__proto__" is an unknown member
    like any other. Validation stops at 20 problems, so 100,000 unknown members cost 20 error items.
    """
    if not isinstance(document, dict):
        return {}, [{"pointer": "", "detail": "must be a JSON object"}]
    values: dict[str, Any] = {}
    errors: list[ErrorItem] = []
    for name, member in members.items():
        if name not in document:
            if member.required:
                errors.append({"pointer": _pointer(name), "detail": "is required"})
            continue
        value, problem = _check(member, document[name])
        if problem:
            errors.append({"pointer": _pointer(name), "detail": problem})
        else:
            values[name] = value
    for name in document:
        if len(errors) >= MAX_ERRORS:
            break
        if name not in members:
            errors.append({"pointer": _pointer(name), "detail": "is not a member of this body"})
    return values, errors


# end concordance


EMAIL = Member("email", required=True, min_length=3, max_length=254)
PASSWORD = Member("string", required=True, min_length=8, max_length=128)
USER_CREATE = {
    "email": EMAIL,
    "password": PASSWORD,
    "name": Member("string", True, min_length=1, max_length=100),
}
TOKEN_CREATE = {"email": EMAIL, "password": PASSWORD}
PROJECT_CREATE = {
    "name": Member("string", True, min_length=1, max_length=100),
    "description": Member("string", max_length=2000),
}
PROJECT_PATCH = {
    name: Member(m.kind, False, m.nullable, m.min_length, m.max_length) for name, m in PROJECT_CREATE.items()
}
TASK_CREATE = {
    "title": Member("string", True, min_length=1, max_length=200),
    "notes": Member("string", max_length=10000),
    "done": Member("boolean"),
    "priority": Member("priority"),
    "due_on": Member("date", nullable=True),
}
TASK_REPLACE = {
    "project_id": Member("id", True),
    **{name: Member(m.kind, True, m.nullable, m.min_length, m.max_length) for name, m in TASK_CREATE.items()},
}
TASK_PATCH = {
    name: Member(m.kind, False, m.nullable, m.min_length, m.max_length) for name, m in TASK_REPLACE.items()
}


# --- query parameters ---


def _single(request: HttpRequest, name: str, errors: list[ErrorItem]) -> str | None:
    values = request.GET.getlist(name)
    if len(values) > 1:
        errors.append({"parameter": name, "detail": "must be given at most once"})
        return None
    return values[0] if values else None


@dataclass(frozen=True)
class ListParams:
    """A list operation's query: limit, cursor and (tasks only) the filters."""

    limit: int
    cursor: str | None
    done: bool | None
    priority: str | None


def list_params(request: HttpRequest, *, filters: bool) -> tuple[ListParams, list[ErrorItem]]:
    errors: list[ErrorItem] = []
    limit, done, priority = 20, None, None
    raw_limit = _single(request, "limit", errors)
    if raw_limit is not None:
        if LIMIT_RE.fullmatch(raw_limit) and 1 <= int(raw_limit) <= 100:
            limit = int(raw_limit)
        else:
            errors.append({"parameter": "limit", "detail": "must be an integer from 1 to 100"})
    cursor = _single(request, "cursor", errors)
    if cursor is not None and not 1 <= len(cursor) <= 512:
        errors.append({"parameter": "cursor", "detail": "must be 1 to 512 characters"})
    if filters:
        raw_done = _single(request, "done", errors)
        if raw_done is not None:
            if raw_done in ("true", "false"):
                done = raw_done == "true"
            else:
                errors.append({"parameter": "done", "detail": "must be true or false"})
        priority = _single(request, "priority", errors)
        if priority is not None and priority not in PRIORITIES:
            errors.append({"parameter": "priority", "detail": "must be one of low, normal, high"})
    return ListParams(limit, cursor, done, priority), errors


# --- responses ---


def to_json(data: Any) -> bytes:
    """The body of a JSON response."""
    # Compact UTF-8 (spec/README.md, "Media types"): the same state is the same bytes in every port.
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def no_content() -> HttpResponse:
    """204: done, nothing to say (FramingMiddleware drops the Content-Type Django gives it)."""
    return HttpResponse(status=204)


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> HttpResponse:
    """A JSON response with the given status and headers."""
    # Exactly "application/json": JSON is UTF-8 by definition, so no charset parameter.
    response = HttpResponse(to_json(data), status=status, content_type=JSON_CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def user_json(user: User) -> dict[str, Any]:
    return {"id": user.id, "email": user.email, "name": user.name, "created_at": user.created_at}


def project_json(project: Project) -> dict[str, Any]:
    return {
        "id": project.id,
        "name": project.name,
        "description": project.description,
        "created_at": project.created_at,
        "updated_at": project.updated_at,
        "version": project.version,
    }


def task_json(task: Task) -> dict[str, Any]:
    return {
        "id": task.id,
        "project_id": task.project_id,
        "title": task.title,
        "notes": task.notes,
        "done": task.done,
        "priority": task.priority,
        "due_on": task.due_on.isoformat() if task.due_on else None,
        "created_at": task.created_at,
        "updated_at": task.updated_at,
        "version": task.version,
    }
