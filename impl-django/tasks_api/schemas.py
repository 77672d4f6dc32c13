"""Request bodies and query parameters checked against spec/openapi.yaml, and resources as JSON."""

import json
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.http import HttpRequest, HttpResponse, UnreadablePostError

from .errors import CLOSE, MAX_ERRORS, ApiError, ErrorItem
from .models import Project, Task, User

MAX_BODY_BYTES = 1_048_576
# Arrays and objects nested deeper than this are 400 malformed-json (RFC 8259 section 9 allows a limit).
MAX_DEPTH = 32
MAX_ID = 2**53 - 1
PRIORITIES = ("low", "normal", "high")
JSON_CONTENT_TYPE = "application/json"
MERGE_PATCH_CONTENT_TYPE = "application/merge-patch+json"

# The WHATWG HTML "valid e-mail address", exactly the pattern in openapi.yaml (ASCII only).
EMAIL_RE = re.compile(
    r"[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*"
)
DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
LIMIT_RE = re.compile(r"[0-9]{1,3}")


# --- the request body: 413, then 415, then 400 (spec/README.md "Order of checks", step 3) ---


def _read_chunked(stream: Any) -> bytes:
    """The next piece of a chunked body; 400 when the chunks are malformed (a bad size, a missing
    terminator, a last chunk cut short). Each server raises its own parser error (gunicorn's
    InvalidChunkSize, ChunkMissingTerminator, NoMoreData...), so any failure here is the client's."""
    try:
        return stream.read(65536)
    except Exception:
        raise ApiError("bad-request", "The chunked body is malformed.", headers=CLOSE) from None


# concordance: body-limits
def read_body(request: HttpRequest) -> bytes:
    """The raw body, at most 1 MiB: a declared length over it is refused before reading anything."""
    if "CONTENT_LENGTH" not in request.META:
        # A chunked body has no Content-Length, and Django sizes request.body by it (it would read
        # nothing). PEP 3333's wsgi.input_terminated (gunicorn sets it) promises an end of file, so read
        # the server's decoded stream ourselves, and stop as soon as it passes 1 MiB.
        if not request.META.get("wsgi.input_terminated"):
            return b""
        stream = request.META["wsgi.input"]
        body = bytearray()
        while piece := _read_chunked(stream):
            body += piece
            if len(body) > MAX_BODY_BYTES:
                raise ApiError(
                    "payload-too-large", f"The body is over {MAX_BODY_BYTES} bytes.", headers=CLOSE
                )
        return bytes(body)
    declared = request.META["CONTENT_LENGTH"]
    if not declared.isdigit() or not declared.isascii():
        raise ApiError("bad-request", "Content-Length is not a number.")
    if int(declared) > MAX_BODY_BYTES:
        # Refused unread: the bytes that follow cannot be framed, so the connection must close.
        raise ApiError("payload-too-large", f"The body is over {MAX_BODY_BYTES} bytes.", headers=CLOSE)
    try:
        body = request.body  # Django reads exactly CONTENT_LENGTH bytes, or fewer if the client stops
    except UnreadablePostError:
        raise ApiError("bad-request", "The body could not be read.") from None
    if len(body) < int(declared):
        # The client stopped sending: never treat a truncated body as a request.
        raise ApiError("bad-request", f"The body ended after {len(body)} of {declared} bytes.")
    return body


# end concordance


def media_type(request: HttpRequest) -> str:
    return request.META.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _parse_int(digits: str) -> int:
    # Python refuses int() of more than 4300 digits (a denial-of-service guard), which json would report
    # as a syntax error; the number is valid JSON, only out of every range here: clamp it, so it is a 422.
    if len(digits) > 100:
        return -(10**100) if digits.startswith("-") else 10**100
    return int(digits)


def _shape_problem(document: Any) -> str | None:
    """Nesting deeper than MAX_DEPTH, or a string with an unpaired surrogate escape; None if neither.

    An explicit stack, not recursion: a deeply nested document must not exhaust Python's stack.
    """
    stack: list[tuple[Any, int]] = [(document, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return "The body holds an unpaired surrogate escape."
        elif isinstance(item, dict | list):
            if depth == MAX_DEPTH:
                return f"The body nests arrays and objects deeper than {MAX_DEPTH}."
            members = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((member, depth + 1) for member in members)
    return None


def parse_json(body: bytes) -> Any:
    """RFC 8259 JSON text in UTF-8, at most 32 levels deep, or 400 malformed-json."""
    try:
        # Decode first: json.loads(bytes) would also accept UTF-16 and UTF-32.
        text = body.decode("utf-8")
        # json's C scanner recurses per level and stops at Python's recursion limit (RecursionError,
        # caught below); a 1 MiB "[[[[..." is refused there, well before it could cost the stack.
        document = json.loads(text, parse_constant=_reject_constant, parse_int=_parse_int)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ApiError("malformed-json", f"The body is not JSON text in UTF-8: {exc}") from None
    problem = _shape_problem(document)
    if problem:
        raise ApiError("malformed-json", problem)
    return document


# concordance: body-limits
def read_json(request: HttpRequest, *, merge_patch: bool = False) -> tuple[Any, bytes]:
    """The parsed body and its raw bytes, after the 413, 415 and 400 checks in that order."""
    accepted = (JSON_CONTENT_TYPE, MERGE_PATCH_CONTENT_TYPE) if merge_patch else (JSON_CONTENT_TYPE,)
    # A PATCH's 415 names the patch formats (RFC 5789 3.1), as the path's OPTIONS does.
    unsupported = ApiError(
        "unsupported-media-type",
        f"Send the body as {' or '.join(accepted)}.",
        headers={"Accept-Patch": ", ".join(accepted)} if merge_patch else None,
    )
    declared = request.META.get("CONTENT_LENGTH", "")
    if media_type(request) not in accepted:
        if declared.isascii() and declared.isdigit() and int(declared) <= MAX_BODY_BYTES:
            # The declared length rules the 413 out: refuse unread, so a client that sent
            # Expect: 100-continue gets its 415 at once instead of sending a body for nothing.
            raise unsupported
        read_body(request)  # a 413 (or a broken body) comes first
        raise unsupported
    body = read_body(request)
    return parse_json(body), body


# end concordance


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
    # Compact UTF-8 (spec/README.md, "Media types"): the same state is the same bytes in every port.
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> HttpResponse:
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
