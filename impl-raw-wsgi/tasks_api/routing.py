"""The route table: path templates to a handler per method, giving 404, 405 + Allow, HEAD and OPTIONS."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from tasks_api.errors import ApiError
from tasks_api.http import ACCEPT_PATCH, Request, Response

Handler = Callable[..., Response]  # handler(request, **path_parameters) -> Response

MAX_ID = 2**53 - 1  # ids stay exact in every JSON client, JavaScript included
# An id segment: a decimal integer without sign or leading zero, at most 16 digits (MAX_ID has 16).
_ID_PATTERN = r"[1-9][0-9]{0,15}"
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


@dataclass(frozen=True)
class Route:
    """One path template (`/tasks/{task_id}`) and the handler of each method it serves."""

    template: str
    pattern: re.Pattern[str]
    handlers: dict[str, Handler]
    strings: frozenset[str] = frozenset()  # the parameters that are not ids

    @property
    def allow(self) -> str:
        """The Allow header: the methods served, HEAD wherever GET is, OPTIONS everywhere."""
        methods = set(self.handlers) | {"OPTIONS"}
        if "GET" in methods:
            methods.add("HEAD")
        return ", ".join(method for method in METHOD_ORDER if method in methods)


class Router:
    """Matches a request to a route and calls its handler; path parameters are ids unless told otherwise."""

    def __init__(self) -> None:
        self.routes: list[Route] = []
        # The routes by the first segment of their template ("tasks" for /tasks/{task_id}), built as
        # routes are added: a request tries only the few templates that can match, not every regex.
        self._by_segment: dict[str, list[Route]] = {}

    def add(self, template: str, *, patterns: dict[str, str] | None = None, **handlers: Handler) -> None:
        """Register `template` with one handler per method, e.g. add("/users/me", GET=..., DELETE=...).

        Every path parameter is an id, except those given a regex in `patterns`: they stay strings.
        """
        patterns = patterns or {}
        regex = "".join(
            f"(?P<{part}>{patterns.get(part, _ID_PATTERN)})" if index % 2 else re.escape(part)
            for index, part in enumerate(_PLACEHOLDER.split(template))
        )
        route = Route(template, re.compile(regex), handlers, frozenset(patterns))
        self.routes.append(route)
        self._by_segment.setdefault(_first_segment(template), []).append(route)

    def match(self, path: str) -> tuple[Route, dict[str, int | str]] | None:
        """The route of `path` and its parameters, or None: an id out of range matches nothing."""
        for route in self._by_segment.get(_first_segment(path), ()):
            found = route.pattern.fullmatch(path)  # fullmatch: `/projects/` is not `/projects`
            if found:
                parameters: dict[str, int | str] = {
                    name: value if name in route.strings else int(value)
                    for name, value in found.groupdict().items()
                }
                if all(not isinstance(value, int) or value <= MAX_ID for value in parameters.values()):
                    return route, parameters
        return None

    # concordance: routing
    def dispatch(self, request: Request) -> Response:
        """Routing comes first in the order of checks: 404 and 405 before authentication."""
        matched = self.match(request.path)
        if matched is None:
            raise ApiError("not-found", f"No resource at {request.path}.")
        route, parameters = matched
        if request.method == "OPTIONS":  # the route table is public: no authentication
            patch = [("Accept-Patch", ACCEPT_PATCH)] if "PATCH" in route.handlers else []
            return Response.empty(204, [("Allow", route.allow), *patch])
        # HEAD runs the GET handler; the application drops the body and keeps every header.
        method = "GET" if request.method == "HEAD" else request.method
        handler = route.handlers.get(method)
        if handler is None:
            raise ApiError(
                "method-not-allowed",
                f"{request.method} is not served at {route.template}.",
                headers=[("Allow", route.allow)],
            )
        return handler(request, **parameters)

    # end concordance


def _first_segment(path: str) -> str:
    """`tasks` for /tasks/7, `` for /: no template has a placeholder in its first segment."""
    return path[1:].partition("/")[0]
