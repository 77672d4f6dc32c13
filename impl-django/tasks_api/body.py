"""The request body: the 1 MiB limit (413), the media type (415), strict JSON (400), in that order."""

import json
from typing import Any

from django.http import HttpRequest, UnreadablePostError

from .errors import CLOSE, ApiError
from .schemas import JSON_CONTENT_TYPE, MAX_INTEGER_DIGITS

MAX_BODY_BYTES = 1_048_576
# Arrays and objects nested deeper than this are 400 malformed-json (RFC 8259 section 9 allows a limit).
MAX_DEPTH = 32
MERGE_PATCH_CONTENT_TYPE = "application/merge-patch+json"


def _read_chunked(stream: Any) -> bytes:
    """The next piece of a chunked body; 400 when the chunks are malformed.

    A bad size, a missing terminator, a last chunk cut short: each server raises its own parser error
    (gunicorn's InvalidChunkSize, ChunkMissingTerminator, NoMoreData...), so any failure is the client's.
    """
    try:
        return stream.read(65536)
    except Exception:
        raise ApiError("bad-request", "The chunked body is malformed.", headers=CLOSE) from None


def _within_limit(declared: str) -> bool:
    """Whether a declared Content-Length is a number of at most MAX_BODY_BYTES.

    Text of more than MAX_INTEGER_DIGITS digits (leading zeros aside) is over it without being converted.
    """
    if not (declared.isascii() and declared.isdigit()):
        return False
    return len(declared.lstrip("0")) <= MAX_INTEGER_DIGITS and int(declared) <= MAX_BODY_BYTES


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
    if not _within_limit(declared):
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
    """The Content-Type's media type, lower-cased, without parameters."""
    return request.META.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _parse_int(digits: str) -> int:
    # A number longer than MAX_INTEGER_DIGITS is valid JSON, only out of every range here: it is not
    # converted (Python refuses int() of 4300+ digits, which json would report as a syntax error) but
    # stands in as one past every range, keeping its sign, so validation refuses it with a 422.
    if len(digits.lstrip("-")) > MAX_INTEGER_DIGITS:
        return -(10**MAX_INTEGER_DIGITS) if digits.startswith("-") else 10**MAX_INTEGER_DIGITS
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
        if _within_limit(declared):
            # The declared length rules the 413 out: refuse unread, so a client that sent
            # Expect: 100-continue gets its 415 at once instead of sending a body for nothing.
            raise unsupported
        read_body(request)  # a 413 (or a broken body) comes first
        raise unsupported
    body = read_body(request)
    return parse_json(body), body


# end concordance
