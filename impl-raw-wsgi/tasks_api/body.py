"""Request bodies: the 1 MiB limit, Content-Length or chunked input, the media type, strict JSON."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, NamedTuple

from tasks_api.errors import ApiError
from tasks_api.http import ACCEPT_PATCH, BODY_READ_KEY, JSON, MERGE_PATCH, Request
from tasks_api.schemas import MAX_INTEGER_DIGITS

MAX_BODY_BYTES = 1024 * 1024
MAX_DEPTH = 32  # arrays and objects inside each other
READ_SIZE = 64 * 1024
BODY_IDLE_TIMEOUT_SECONDS = 10
_DIGITS = re.compile(r"[0-9]+")
_SURROGATE = re.compile("[\ud800-\udfff]")


class JsonBody(NamedTuple):
    """A request body both as received (for idempotency fingerprints) and as parsed."""

    raw: bytes
    value: object


# concordance: body-limits
def read_json(request: Request, media_types: tuple[str, ...] = (JSON,)) -> JsonBody:
    """Read and parse the body in the order of spec/README.md: 413, then 415, then 400 malformed-json."""
    length = declared_length(request)  # 413 for a declared length over the limit, before reading
    media_type = (request.header("Content-Type") or "").split(";")[0].strip().lower()
    if media_type not in media_types and not _chunked(request):
        # Refused before the body is read (with a declared length, 413 is already ruled out): a client
        # that sent `Expect: 100-continue` gets its 415 at once instead of sending the body first.
        raise _unsupported(media_types)
    raw = read_body(request, length)
    if media_type not in media_types:  # chunked: read first, a body over the limit is 413 before 415
        raise _unsupported(media_types)
    return JsonBody(raw, parse_json(raw))


def declared_length(request: Request) -> int | None:
    """The Content-Length, None without one; 413 when it is over the limit, before reading a byte."""
    declared = request.environ.get("CONTENT_LENGTH", "")
    if not declared:
        return None
    if not _DIGITS.fullmatch(declared):
        raise ApiError("bad-request", "Content-Length is not a number.")
    # Longer than MAX_INTEGER_DIGITS is over the limit too: refused before int() spends time on it.
    if len(declared) > MAX_INTEGER_DIGITS or (length := int(declared)) > MAX_BODY_BYTES:
        raise ApiError("payload-too-large", f"The body is over {MAX_BODY_BYTES} bytes.")
    return length


def read_body(request: Request, length: int | None) -> bytes:
    """The whole body, exactly as declared: never a prefix of it (a short body is not a request)."""
    if length is not None:
        body = _read(request, length)
        if len(body) < length:
            raise ApiError("bad-request", f"The body ended after {len(body)} of {length} bytes.")
    elif _chunked(request):
        body = _read(request, MAX_BODY_BYTES + 1)  # one byte more than allowed tells "too large" apart
        if len(body) > MAX_BODY_BYTES:
            raise ApiError("payload-too-large", f"The body is over {MAX_BODY_BYTES} bytes.")
    else:
        body = b""
    request.environ[BODY_READ_KEY] = True  # the connection can carry the next request
    return body


def _chunked(request: Request) -> bool:
    # Without Content-Length, PEP 3333 allows reading only when the server promises an end of file
    # (`wsgi.input_terminated`, set by gunicorn, mod_wsgi and granian for chunked requests); otherwise
    # there is no body, and reading would wait forever on a kept-alive connection.
    return bool(request.environ.get("wsgi.input_terminated")) and not request.environ.get("CONTENT_LENGTH")


def _unsupported(media_types: tuple[str, ...]) -> ApiError:
    headers = [("Accept-Patch", ACCEPT_PATCH)] if MERGE_PATCH in media_types else []
    return ApiError(
        "unsupported-media-type", f"Send the body as {' or '.join(media_types)}.", headers=headers
    )


# end concordance


def _read(request: Request, limit: int) -> bytes:
    """Read up to `limit` bytes, stopping early at end of file (the client stopped sending)."""
    stream: IO[bytes] = request.environ["wsgi.input"]
    chunks: list[bytes] = []
    remaining = limit
    with _idle_timeout(request.environ.get("gunicorn.socket")):
        while remaining > 0:
            try:
                chunk = stream.read(min(READ_SIZE, remaining))  # always a size: PEP 3333 has no read-all
            except Exception as exc:  # a timeout, a reset socket, or the server's error for a broken chunk
                raise ApiError("bad-request", "The body could not be read.") from exc
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
    return b"".join(chunks)


@contextmanager
def _idle_timeout(sock: socket.socket | None) -> Iterator[None]:
    # A client that stops sending in the middle of a body would hold this thread for as long as it
    # keeps the connection open: gunicorn has no body timeout (nginx's client_body_timeout). gunicorn
    # puts its socket in the environ, so bound each wait for more body bytes, then restore it.
    if sock is None:
        yield
        return
    previous = sock.gettimeout()
    sock.settimeout(BODY_IDLE_TIMEOUT_SECONDS)
    try:
        yield
    finally:
        sock.settimeout(previous)


def parse_json(raw: bytes) -> object:
    """RFC 8259 JSON text in UTF-8, stricter than the json module: no NaN/Infinity, no lone surrogates,
    at most 32 levels of nesting."""
    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant, parse_int=_parse_int)
    except (UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError is a ValueError
        raise ApiError("malformed-json", f"The body is not JSON text in UTF-8: {exc}.") from None
    except RecursionError:  # json's C parser stops at the recursion limit (about 1000 levels): a 400
        raise ApiError("malformed-json", f"The body is nested deeper than {MAX_DEPTH} levels.") from None
    problem = _structure_problem(value)
    if problem:
        raise ApiError("malformed-json", problem)
    return value


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _parse_int(digits: str) -> int:
    # Python refuses to convert integers of more than 4300 digits (a denial-of-service guard) and json
    # would report that as a syntax error; converting a long one costs time besides. Such a number is
    # valid JSON, merely out of every range here: past MAX_INTEGER_DIGITS it is not converted but
    # clamped to a value that validation refuses with a 422.
    if len(digits.lstrip("-")) > MAX_INTEGER_DIGITS:
        return -(10**MAX_INTEGER_DIGITS) if digits.startswith("-") else 10**MAX_INTEGER_DIGITS
    return int(digits)


def _structure_problem(value: object) -> str | None:
    """Nesting deeper than 32 (RFC 8259 section 9 lets a parser limit it), or an unpaired surrogate.

    A loop over (item, depth), not recursion. json.loads joins a valid escaped pair ("\ud83d\ude00")
    into one code point, so any surrogate left in a string, key or value, was unpaired.
    """
    pending: list[tuple[object, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return "The body holds an unpaired surrogate escape such as \\ud800."
            continue
        if isinstance(item, list | dict):
            if depth == MAX_DEPTH:
                return f"The body is nested deeper than {MAX_DEPTH} levels."
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in children)
    return None
