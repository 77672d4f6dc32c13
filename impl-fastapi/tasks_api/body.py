"""The request body: the 1 MiB limit, the media type, strict JSON (UTF-8, depth, no NaN, long integers)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.requests import ClientDisconnect
from starlette.types import Receive, Scope

from tasks_api.deps import bearer
from tasks_api.errors import BODY_PROBLEM, MAX_ERRORS, ApiError
from tasks_api.routing import ACCEPT_PATCH
from tasks_api.schemas import parse_integer
from tasks_api.security import authenticate_header

MAX_BODY_BYTES = 1024 * 1024  # spec "Validation": a larger body is 413, declared or chunked
# A client that stops sending its body is cut off after this long (the body never becomes a request).
BODY_TIMEOUT_SECONDS = 10.0
MAX_DEPTH = 32  # JSON nested deeper is malformed-json (RFC 8259 section 9 lets a parser limit nesting)
# An answer given before the body was read closes the connection: the client may not send the body at all
# (it waits for 100 Continue), or send it; either way its next bytes must never be read as a request.
CLOSE = {"Connection": "close"}


class JudgedRequest(Request):
    """A request whose body BodyRoute already read, size-checked and parsed (FastAPI gets these)."""

    def __init__(self, scope: Scope, receive: Receive, body: bytes, parsed: Any = ...) -> None:
        super().__init__(scope, receive)
        self._body = body
        if parsed is not ...:
            self._json = parsed


class BodyRoute(APIRoute):
    """An APIRoute that reads and judges the body itself, before FastAPI parses it.

    FastAPI would read the whole body, parse it with json.loads (which takes NaN and lone
    surrogates), parse bodies of any application/*+json type and answer anything wrong with a 422.
    The spec wants 413 (declared or streamed size), 415 (content type) and 400 (not strict UTF-8
    JSON), and ranks 401 above them. So the body is judged here; a refused body reaches FastAPI as
    an empty one, its dependencies (authentication) run first, and the missing body then makes
    FastAPI raise RequestValidationError, whose handler answers with the problem recorded here.
    What the headers already refuse (declared size, media type) is refused without reading the body,
    and a client that waits for `100 Continue` is authenticated first, so that a 401 comes at once.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler
        media_types = {"application/json"}
        if "PATCH" in self.methods:
            media_types.add("application/merge-patch+json")
        authenticated = _depends_on(self.dependant, bearer)
        model = self.body_field.field_info.annotation
        members = (
            frozenset(model.model_fields)
            if isinstance(model, type) and issubclass(model, BaseModel)
            else None
        )

        async def judge_then_handle(request: Request) -> Response:
            if authenticated and request.headers.get("expect", "").lower() == "100-continue":
                try:
                    await run_in_threadpool(authenticate_header, request.headers.get("authorization"))
                except ApiError as problem:
                    problem.headers.update(CLOSE)
                    raise
            try:
                _check_declared_size(request)
                _check_media_type(request, media_types)
                body = await read_body(request)
                parsed = parse_json(body)
            except ApiError as problem:
                request.scope[BODY_PROBLEM] = problem
                return await handler(JudgedRequest(request.scope, request.receive, b""))
            parsed = bounded_members(parsed, members)
            return await handler(JudgedRequest(request.scope, request.receive, body, parsed))

        return judge_then_handle


def _depends_on(dependant: Dependant, call: Callable[..., Any]) -> bool:
    return any(dep.call is call or _depends_on(dep, call) for dep in dependant.dependencies)


# concordance: validation
def bounded_members(parsed: Any, members: frozenset[str] | None) -> Any:
    """The body with at most 20 unknown members (the first ones): each is one 422 item, and Pydantic
    would build an error object for every one of 100,000 before the 422 could be capped."""
    if members is None or not isinstance(parsed, dict) or len(parsed) <= len(members) + MAX_ERRORS:
        return parsed
    kept: dict[str, Any] = {}
    unknown = 0
    for name, value in parsed.items():
        if name in members:
            kept[name] = value
        elif unknown < MAX_ERRORS:
            kept[name] = value
            unknown += 1
    return kept


# end concordance


# concordance: body-limits
async def read_body(request: Request) -> bytes:
    """The body, at most 1 MiB: a declared Content-Length over it is refused unread, a chunked body as
    soon as it passes it. A client that stops sending gets 400 bad-request (nothing is created)."""
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(BODY_TIMEOUT_SECONDS):
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    raise _too_large(MAX_BODY_BYTES)
                chunks.append(chunk)
    except (ClientDisconnect, TimeoutError):
        raise ApiError(
            "bad-request", "The body ended before its Content-Length.", headers={"Connection": "close"}
        ) from None
    return b"".join(chunks)


def _check_declared_size(request: Request) -> None:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _too_large(MAX_BODY_BYTES)


def _too_large(limit: int) -> ApiError:
    # The connection closes after a 413 (spec "HTTP/1.1 framing"): the rest of the body is never read as
    # a request. The server lingers before closing (worker.py), so that the 413 is read, not reset.
    return ApiError("payload-too-large", f"The body is over {limit} bytes.", headers=CLOSE)


def _check_media_type(request: Request, allowed: set[str]) -> None:
    content_type = request.headers.get("content-type")
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type not in allowed:
        # Judged from the header, before the body is read: the connection closes after the answer.
        headers = (
            {**CLOSE, "Accept-Patch": ACCEPT_PATCH} if "application/merge-patch+json" in allowed else CLOSE
        )
        raise ApiError(
            "unsupported-media-type", f"Send the body as {' or '.join(sorted(allowed))}.", headers=headers
        )


# end concordance


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# concordance: body-limits
def parse_json(body: bytes) -> Any:
    """RFC 8259 JSON text in UTF-8, strictly: 400 malformed-json for anything else."""
    try:
        value = json.loads(body.decode("utf-8"), parse_constant=_reject_constant, parse_int=parse_integer)
    except UnicodeDecodeError:
        raise ApiError("malformed-json", "The body is not valid UTF-8.") from None
    except RecursionError:
        # The C parser counts its own depth and gives up cleanly (no stack overflow) on 1 MiB of "[[[[".
        raise ApiError("malformed-json", f"The body nests deeper than {MAX_DEPTH} levels.") from None
    except ValueError as exc:  # JSONDecodeError, and NaN/Infinity
        raise ApiError("malformed-json", f"The body is not JSON: {exc}.") from None
    _check_depth_and_surrogates(value)
    return value


def _check_depth_and_surrogates(value: Any) -> None:
    # One walk without recursion. json.loads joins escaped pairs into one code point; any surrogate left
    # is unpaired, and not UTF-8.
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise ApiError("malformed-json", "The body holds an unpaired surrogate escape.") from None
        elif isinstance(item, dict | list):
            if depth == MAX_DEPTH:
                raise ApiError("malformed-json", f"The body nests deeper than {MAX_DEPTH} levels.")
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)


# end concordance
