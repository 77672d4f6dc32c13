"""Pydantic models: requests validated strictly (spec "Validation"), responses rendered once to bytes."""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

from fastapi import Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainValidator, StringConstraints

from tasks_api.errors import validation_error
from tasks_api.routing import MAX_ID

# Integer text longer than this is refused before it is converted (Python's int() of a 1 MiB number
# costs seconds, and refuses 4,300 digits); MAX_ID has 16 digits, so no valid value comes near it.
MAX_INTEGER_DIGITS = 20
JSON = "application/json"  # exactly this value: JSON is UTF-8 by definition, no charset parameter
_EVENT_ID = re.compile(r"0|[1-9][0-9]{0,15}")  # the EventId schema, without sign or leading zeros
EMAIL_PATTERN = (
    r"^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$"
)
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


# concordance: validation
def _no_nul(value: str) -> str:
    # PostgreSQL cannot store U+0000 in TEXT, so no port accepts it anywhere.
    if "\x00" in value:
        raise ValueError("must not contain U+0000")
    return value


def _text(min_length: int, max_length: int) -> Any:
    # Pydantic counts str length in code points, as the spec does.
    return Annotated[
        str, StringConstraints(min_length=min_length, max_length=max_length), AfterValidator(_no_nul)
    ]


def _due_on(value: Any) -> datetime.date | None:
    # One validator for the whole "date or null" so an error points at /due_on itself, and so the
    # format is exactly YYYY-MM-DD (date.fromisoformat alone would also take "20261128").
    if value is None:
        return None
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise ValueError("must be a date written YYYY-MM-DD, or null")
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise ValueError("must be a calendar date from 0001-01-01 to 9999-12-31") from None


def parse_integer(digits: str) -> int:
    """A JSON integer's text (body.parse_json): beyond MAX_INTEGER_DIGITS it stays out of range, with
    its sign, so that validation says "out of range" without converting it."""
    if len(digits.lstrip("-")) > MAX_INTEGER_DIGITS:
        return -(10**MAX_INTEGER_DIGITS) if digits.startswith("-") else 10**MAX_INTEGER_DIGITS
    return int(digits)


# end concordance


Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Email = Annotated[
    str, StringConstraints(min_length=3, max_length=254, pattern=EMAIL_PATTERN), AfterValidator(str.lower)
]
Password = _text(8, 128)
UserName = _text(1, 100)
ProjectName = _text(1, 100)
ProjectDescription = _text(0, 2000)
TaskTitle = _text(1, 200)
TaskNotes = _text(0, 10000)
Priority = Literal["low", "normal", "high"]
DueOn = Annotated[datetime.date | None, PlainValidator(_due_on)]


# concordance: validation
class Body(BaseModel):
    """A request body: exactly the documented members, JSON types taken strictly (`true` is no integer)."""

    model_config = ConfigDict(extra="forbid", strict=True)


# end concordance


class UserCreate(Body):
    email: Email
    password: Password
    name: UserName


class TokenCreate(Body):
    email: Email
    password: Password


class ProjectCreate(Body):
    name: ProjectName
    description: ProjectDescription = ""


# In the patch models a member's default (None) means "absent" and is never validated, while an
# explicit null is validated against the member's type and so rejected: only due_on admits null.
# The handler updates exactly model_fields_set.


class ProjectPatch(Body):
    name: ProjectName = None
    description: ProjectDescription = None


class TaskCreate(Body):
    title: TaskTitle
    notes: TaskNotes = ""
    done: bool = False
    priority: Priority = "normal"
    due_on: DueOn = None


class TaskReplace(Body):
    project_id: Id
    title: TaskTitle
    notes: TaskNotes
    done: bool
    priority: Priority
    due_on: DueOn


class TaskPatch(Body):
    project_id: Id = None  # type: ignore[assignment]
    title: TaskTitle = None
    notes: TaskNotes = None
    done: bool = None  # type: ignore[assignment]
    priority: Priority = None  # type: ignore[assignment]
    due_on: DueOn = None


class Out(BaseModel):
    """A response body, read from an ORM row; rendered once to bytes (idempotency stores those bytes)."""

    model_config = ConfigDict(from_attributes=True)


class UserOut(Out):
    id: int
    email: str
    name: str
    created_at: str


class TokenOut(Out):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_at: str


class ProjectOut(Out):
    id: int
    name: str
    description: str
    created_at: str
    updated_at: str
    version: int


class TaskOut(Out):
    id: int
    project_id: int
    title: str
    notes: str
    done: bool
    priority: str
    due_on: datetime.date | None
    created_at: str
    updated_at: str
    version: int


class ProjectPage(Out):
    items: list[ProjectOut]
    next_cursor: str | None


class TaskPage(Out):
    items: list[TaskOut]
    next_cursor: str | None


class Health(Out):
    status: Literal["ok"] = "ok"


class Readiness(Out):
    status: Literal["ok"] = "ok"
    checks: dict[str, Literal["ok"]] = Field(default_factory=lambda: {"database": "ok"})


def last_event_id(header: str | None, queries: Sequence[str]) -> int | None:
    """Where GET /events resumes: Last-Event-ID, else ?last_event_id (an EventSource that reconnects sends
    the header with the URL it first used, so the header wins); None without either. 422 otherwise."""
    errors = []
    if header is not None and not _EVENT_ID.fullmatch(header):
        errors.append(
            {"header": "Last-Event-ID", "detail": "must be an event id: 0 or a decimal without sign"}
        )
    if len(queries) > 1:
        errors.append({"parameter": "last_event_id", "detail": "must be given at most once"})
    elif queries and not _EVENT_ID.fullmatch(queries[0]):
        errors.append(
            {"parameter": "last_event_id", "detail": "must be an event id: 0 or a decimal without sign"}
        )
    if errors:
        raise validation_error(errors)
    given = header if header is not None else (queries[0] if queries else None)
    return int(given) if given is not None else None


def render(model: BaseModel) -> bytes:
    """Compact UTF-8 JSON of a response model: the bytes sent are the bytes an idempotency record keeps."""
    return model.model_dump_json().encode()


def json_response(body: bytes, status_code: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """An application/json response of already-rendered bytes."""
    return Response(body, status_code=status_code, media_type=JSON, headers=dict(headers or {}))


def no_content() -> Response:
    """204, no body (deletes)."""
    return Response(status_code=204)
