"""What FastAPI's router does not do the spec's way: path ids (1..MAX_ID), 405 + Allow, OPTIONS, HEAD."""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from fastapi import APIRouter, Response
from fastapi.routing import APIRoute
from starlette.convertors import Convertor, register_url_convertor

MAX_ID = 2**53 - 1  # ids fit in 53 bits so that every JSON client reads them exactly
METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
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
    """`{project_id:id}`: an integer from 1 to MAX_ID (2^53-1), as the spec writes ids."""

    regex = _id_regex(MAX_ID)

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
