"""What FastAPI's router does not do the spec's way: id path segments, Allow, OPTIONS, and reading bodies."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import ClientDisconnect
from starlette.types import Receive, Scope

from tasks_api.config import get_settings
from tasks_api.errors import BODY_PROBLEM, MAX_ERRORS, Problem
from tasks_api.security import authenticate, bearer

METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
MAX_DEPTH = 32  # JSON nested deeper is malformed-json (RFC 8259 section 9 lets a parser limit nesting)
# An answer given before the body was read closes the connection: the client may not send the body at all
# (it waits for 100 Continue), or send it; either way its next bytes must never be read as a request.
CLOSE = {"Connection": "close"}
# RFC 5789 3.1: where PATCH is served, on OPTIONS and on a 415 to a PATCH, so a client finds the formats.
ACCEPT_PATCH = "application/json, application/merge-patch+json"


def _id_regex(maximum: int) -> str:
    """A regex for the decimals 1..maximum without sign or leading zeros (a path segment that is
    anything else must match no route at all: 404, not FastAPI's 422)."""
    top = str(maximum)
    shorter = f"[1-9][0-9]{{0,{len(top) - 2}}}"
    same_length = [top]
    for i, digit in enumerate(top):
        if digit == "0" or (i == 0 and digit == "1"):
            continue
        low = "1" if i == 0 else "0"
        rest = len(top) - i - 1
        same_length.append(f"{top[:i]}[{low}-{int(digit) - 1}]" + (f"[0-9]{{{rest}}}" if rest else ""))
    return "(?:" + "|".join([*same_length, shorter]) + ")"


# concordance: routing
class IdConvertor(Convertor[int]):
    """`{project_id:id}`: an integer from 1 to 2^53-1, as the spec writes ids."""

    regex = _id_regex(2**53 - 1)

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(value)


register_url_convertor("id", IdConvertor())


class StaticNameConvertor(Convertor[str]):
    """`{name:static_name}`: a file name of web/static/ (no "/", no leading dot, at most 128 characters);
    any other segment matches no route (404 for every method), like a malformed id."""

    regex = "[A-Za-z0-9][A-Za-z0-9._-]{0,127}"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("static_name", StaticNameConvertor())
# end concordance


# concordance: routing
class RouteTable:
    """The methods each path serves, for `Allow` on 405 and OPTIONS (Starlette's 405 names only the
    methods of the one route it tried, and FastAPI has no OPTIONS answer at all)."""

    def __init__(self, routers: Iterable[APIRouter]) -> None:
        self.paths: dict[str, tuple[re.Pattern[str], set[str]]] = {}
        for router in routers:
            for route in router.routes:
                assert isinstance(route, APIRoute)
                _regex, methods = self.paths.setdefault(route.path, (route.path_regex, {"OPTIONS"}))
                methods.update(route.methods)

    def allow_header(self, path: str) -> str:
        """`Allow` for a concrete request path, in the canonical order."""
        methods: set[str] = set()
        for regex, path_methods in self.paths.values():
            if regex.match(path):
                methods |= path_methods
        return ", ".join(method for method in METHOD_ORDER if method in methods)

    def options_router(self) -> APIRouter:
        """One OPTIONS route per path: 204 with `Allow`, no authentication (CORS preflights land here)."""
        router = APIRouter()
        for path, (_regex, methods) in self.paths.items():
            headers = {"Allow": ", ".join(method for method in METHOD_ORDER if method in methods)}
            if "PATCH" in methods:
                headers["Accept-Patch"] = ACCEPT_PATCH
            router.add_api_route(
                path, _options_endpoint(headers), methods=["OPTIONS"], name=f"options {path}"
            )
        return router


def _options_endpoint(headers: dict[str, str]) -> Callable[[], Coroutine[Any, Any, Response]]:
    async def options() -> Response:
        return Response(status_code=204, headers=headers)

    return options


# end concordance


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
                    await run_in_threadpool(authenticate, request.headers.get("authorization"))
                except Problem as problem:
                    problem.headers.update(CLOSE)
                    raise
            try:
                _check_declared_size(request)
                _check_media_type(request, media_types)
                body = await read_body(request)
                parsed = parse_json(body)
            except Problem as problem:
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
    settings = get_settings()
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(settings.body_timeout_seconds):
            async for chunk in request.stream():
                size += len(chunk)
                if size > settings.max_body_bytes:
                    raise _too_large(settings.max_body_bytes)
                chunks.append(chunk)
    except (ClientDisconnect, TimeoutError):
        raise Problem(
            "bad-request", "The body ended before its Content-Length.", headers={"Connection": "close"}
        ) from None
    return b"".join(chunks)


def _check_declared_size(request: Request) -> None:
    limit = get_settings().max_body_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)


def _too_large(limit: int) -> Problem:
    # The connection closes after a 413 (spec "HTTP/1.1 framing"): the rest of the body is never read as
    # a request. The server lingers before closing (worker.py), so that the 413 is read, not reset.
    return Problem("payload-too-large", f"The body is over {limit} bytes.", headers=CLOSE)


def _check_media_type(request: Request, allowed: set[str]) -> None:
    content_type = request.headers.get("content-type")
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type not in allowed:
        # Judged from the header, before the body is read: the connection closes after the answer.
        headers = (
            {**CLOSE, "Accept-Patch": ACCEPT_PATCH} if "application/merge-patch+json" in allowed else CLOSE
        )
        raise Problem(
            "unsupported-media-type", f"Send the body as {' or '.join(sorted(allowed))}.", headers=headers
        )


# end concordance


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _parse_int(digits: str) -> int:
    # Beyond any id; keeps its sign so validation says "out of range" (int() refuses 4300+ digits).
    if len(digits.lstrip("-")) > 30:
        return -(10**30) if digits.startswith("-") else 10**30
    return int(digits)


# concordance: body-limits
def parse_json(body: bytes) -> Any:
    """RFC 8259 JSON text in UTF-8, strictly: 400 malformed-json for anything else."""
    try:
        value = json.loads(body.decode("utf-8"), parse_constant=_reject_constant, parse_int=_parse_int)
    except UnicodeDecodeError:
        raise Problem("malformed-json", "The body is not valid UTF-8.") from None
    except RecursionError:
        # The C parser counts its own depth and gives up cleanly (no stack overflow) on 1 MiB of "[[[[".
        raise Problem("malformed-json", f"The body nests deeper than {MAX_DEPTH} levels.") from None
    except ValueError as exc:  # JSONDecodeError, and NaN/Infinity
        raise Problem("malformed-json", f"The body is not JSON: {exc}.") from None
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
                raise Problem("malformed-json", "The body holds an unpaired surrogate escape.") from None
        elif isinstance(item, dict | list):
            if depth == MAX_DEPTH:
                raise Problem("malformed-json", f"The body nests deeper than {MAX_DEPTH} levels.")
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)


# end concordance
