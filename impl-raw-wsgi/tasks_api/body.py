"""Request bodies: the 1 MiB limit, Content-Length or chunked input, the media type, strict JSON."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, NamedTuple

from tasks_api.errors import HTTPError
from tasks_api.http import Request

MAX_BODY_BYTES = 1024 * 1024
READ_SIZE = 64 * 1024
BODY_IDLE_TIMEOUT_SECONDS = 10
JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"
_DIGITS = re.compile(r"[0-9]+")
_SURROGATE = re.compile("[\ud800-\udfff]")


class JsonBody(NamedTuple):
    """A request body both as received (for idempotency fingerprints) and as parsed."""

    raw: bytes
    value: object


# concordance: body-limits
def read_json(request: Request, media_types: tuple[str, ...] = (JSON,)) -> JsonBody:
    """Read and parse the body in the order of spec/README.md: 413, then 415, then 400 malformed-json."""
    raw = read_body(request)
    media_type = (request.header("Content-Type") or "").split(";")[0].strip().lower()
    if media_type not in media_types:
        raise HTTPError("unsupported-media-type", f"Send the body as {' or '.join(media_types)}.")
    return JsonBody(raw, parse_json(raw))


def read_body(request: Request) -> bytes:
    """The whole body, exactly as declared: never a prefix of it (a short body is not a request)."""
    declared = request.environ.get("CONTENT_LENGTH", "")
    if declared:
        if not _DIGITS.fullmatch(declared):
            raise HTTPError("bad-request", "Content-Length is not a number.")
        length = int(declared)
        if length > MAX_BODY_BYTES:  # refused before reading a single byte
            raise HTTPError("payload-too-large", f"The body is over {MAX_BODY_BYTES} bytes.")
        body = _read(request, length)
        if len(body) < length:
            raise HTTPError("bad-request", f"The body ended after {len(body)} of {length} bytes.")
        return body
    # Without Content-Length, PEP 3333 allows reading only when the server promises an end of file
    # (`wsgi.input_terminated`, set by gunicorn and mod_wsgi for chunked requests); otherwise there is
    # no body, and reading would wait forever on a kept-alive connection.
    if not request.environ.get("wsgi.input_terminated"):
        return b""
    body = _read(request, MAX_BODY_BYTES + 1)  # one byte more than allowed tells "too large" apart
    if len(body) > MAX_BODY_BYTES:
        raise HTTPError("payload-too-large", f"The body is over {MAX_BODY_BYTES} bytes.")
    return body


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
                raise HTTPError("bad-request", "The body could not be read.") from exc
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
    """RFC 8259 JSON text in UTF-8, stricter than the json module: no NaN/Infinity, no lone surrogates."""
    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant, parse_int=_parse_int)
    except (UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError is a ValueError
        raise HTTPError("malformed-json", f"The body is not JSON text in UTF-8: {exc}.") from None
    except RecursionError:  # RFC 8259 lets a parser limit nesting; without this it would be a 500
        raise HTTPError("malformed-json", "The body is nested too deeply.") from None
    if _has_lone_surrogate(value):
        raise HTTPError("malformed-json", "The body holds an unpaired surrogate escape such as \\ud800.")
    return value


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _parse_int(digits: str) -> int:
    # Python refuses to convert integers of more than 4300 digits (a denial-of-service guard) and json
    # would report that as a syntax error. Such a number is valid JSON, merely out of every range here,
    # so clamp it to a value that validation will refuse with a 422.
    if len(digits) > 100:
        return -(10**100) if digits.startswith("-") else 10**100
    return int(digits)


def _has_lone_surrogate(value: object) -> bool:
    # json.loads joins a valid escaped pair ("\ud83d\ude00") into one code point, so any surrogate
    # left in a string, key or value, was unpaired. A loop, not recursion: nesting can be deep.
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str) and _SURROGATE.search(item):
            return True
        if isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
    return False
