"""The problem types of spec/README.md, ApiError, not_found(), problem+json and every exception handler."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from itertools import islice
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from tasks_api.db import is_unavailable

PROBLEM_BASE = "https://tasks-api.example/problems/"
# Where body.BodyRoute records a refused body for handle_request_validation (a request scope key).
BODY_PROBLEM = "tasks_api.body_problem"
# Where deps.bearer leaves the request's Credentials (a request scope key).
BEARER = "tasks_api.bearer"
# Statuses that can be decided before an endpoint checks the token in the database: 401 ranks above them.
_BEFORE_THE_TOKEN = frozenset({400, 413, 415, 422})
# A 422 lists the first 20 problems found: never much larger than its request (spec "Validation").
MAX_ERRORS = 20
# "Try again in a second": the answer of every 503 (spec "Bad weather").
RETRY_SOON = {"Retry-After": "1"}

log = logging.getLogger("tasks_api")

# slug -> (status, title): the fixed table of spec/README.md, identical in every port.
PROBLEMS: dict[str, tuple[int, str]] = {
    "malformed-json": (400, "Malformed JSON"),
    "bad-request": (400, "Bad request"),
    "invalid-cursor": (400, "Invalid cursor"),
    "authentication-required": (401, "Authentication required"),
    "invalid-token": (401, "Invalid token"),
    "invalid-credentials": (401, "Invalid credentials"),
    "not-found": (404, "Not found"),
    "method-not-allowed": (405, "Method not allowed"),
    "email-taken": (409, "Email already registered"),
    "idempotency-in-flight": (409, "Request in flight"),
    "precondition-failed": (412, "Precondition failed"),
    "payload-too-large": (413, "Payload too large"),
    "unsupported-media-type": (415, "Unsupported media type"),
    "validation-error": (422, "Validation failed"),
    "idempotency-key-reused": (422, "Idempotency key reused"),
    "login-throttled": (429, "Too many login attempts"),
    "internal-error": (500, "Internal server error"),
    "not-implemented": (501, "Not implemented"),
    "service-unavailable": (503, "Service unavailable"),
}

# The slug for an error Starlette or FastAPI raise by themselves (routing, the server's own limits).
_SLUG_BY_STATUS = {
    400: "bad-request",
    404: "not-found",
    405: "method-not-allowed",
    413: "payload-too-large",
    415: "unsupported-media-type",
    501: "not-implemented",
    503: "service-unavailable",
}


class ApiError(Exception):
    """An error answer: raised anywhere below a handler, rendered by the handler registered below."""

    def __init__(
        self,
        slug: str,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
        errors: Sequence[Mapping[str, str]] | None = None,
    ) -> None:
        super().__init__(detail)
        self.slug = slug
        self.status, self.title = PROBLEMS[slug]
        self.detail = detail
        self.headers = dict(headers or {})
        self.errors = list(errors) if errors is not None else None


def validation_error(errors: Iterable[Mapping[str, str]]) -> ApiError:
    """A 422 validation-error listing the problems found (one item each, the first 20: spec "Validation")."""
    items = list(islice(errors, MAX_ERRORS))
    return ApiError("validation-error", f"The request has {len(items)} invalid part(s).", errors=items)


def not_found(what: str, ident: int) -> ApiError:
    """The same 404 for a missing resource and another user's: existence must not leak."""
    return ApiError("not-found", f"No {what} with id {ident}.")


# concordance: problem-details
def problem_body(problem: ApiError) -> bytes:
    """The application/problem+json document of a problem (RFC 9457)."""
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + problem.slug,
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
    }
    if problem.errors is not None:
        body["errors"] = problem.errors
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def problem_response(problem: ApiError) -> Response:
    """Render a problem as an application/problem+json response."""
    return Response(
        problem_body(problem),
        status_code=problem.status,
        media_type="application/problem+json",
        headers=problem.headers,
    )


# end concordance


def internal_error_response() -> Response:
    """The 500 answer: never a traceback (that goes to the log)."""
    return problem_response(ApiError("internal-error", "The server failed to answer this request."))


def _json_pointer(path: Sequence[str | int]) -> str:
    # RFC 6901: "~" and "/" inside a member name are escaped.
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


def error_item(loc: Sequence[str | int], detail: str) -> dict[str, str]:
    """One `errors` item from a Pydantic/FastAPI location: ("body", "title") -> {"pointer": "/title"}."""
    where, rest = loc[0], loc[1:]
    if where == "body":
        return {"pointer": _json_pointer(rest), "detail": detail}  # the locator first (spec "Validation")
    if where == "header":
        return {"header": str(rest[0]), "detail": detail}
    return {"parameter": str(rest[0]) if rest else str(where), "detail": detail}


def _detail_of(error: Mapping[str, Any]) -> str:
    if error.get("type") == "missing":
        return "This member is required."
    if error.get("type") == "extra_forbidden":
        return "This member is not allowed."
    # Pydantic prefixes the message of a ValueError raised by a validator of ours.
    return str(error.get("msg", "Invalid value.")).removeprefix("Value error, ")


async def handle_problem(request: Request, exc: Exception) -> Response:
    """Our own problems, raised by dependencies and handlers."""
    assert isinstance(exc, ApiError)
    return await token_first(request, problem_response(exc))


# concordance: bearer-auth
async def token_first(request: Request, response: Response) -> Response:
    """`response`, unless the request's bearer token was never checked and is invalid: then the 401.

    The endpoints check the token in their own first statement (one threadpool hop per request), so an
    answer decided before them (a refused body, a bad query) has not seen the database yet; the spec
    ranks 401 above it. Only such error answers pay this extra check."""
    credentials = request.scope.get(BEARER)
    if response.status_code not in _BEFORE_THE_TOKEN or credentials is None or credentials.checked:
        return response
    try:
        await run_in_threadpool(request.app.state.check_token, credentials)  # security.check_token
    except ApiError as problem:
        if "connection" in response.headers:  # a body left unread still closes the connection
            problem.headers["Connection"] = response.headers["connection"]
        return problem_response(problem)
    return response


# end concordance


# concordance: validation
async def handle_request_validation(request: Request, exc: Exception) -> Response:
    """FastAPI's 422 ({"detail": [...]}) becomes the spec's validation-error with pointers."""
    assert isinstance(exc, RequestValidationError)
    # The body was read and judged before FastAPI validated it (body.BodyRoute); dependencies
    # (authentication) ran in between, so a body that was refused only surfaces now, as a missing
    # body. The spec ranks 413/415/400 above 422: answer with that problem instead.
    body_problem = request.scope.get(BODY_PROBLEM)
    if body_problem is not None:
        return await token_first(request, problem_response(body_problem))
    errors = exc.errors()
    if any(error.get("type") == "json_invalid" for error in errors):
        return await token_first(
            request, problem_response(ApiError("malformed-json", "The body is not valid JSON."))
        )
    problem = validation_error(error_item(e["loc"], _detail_of(e)) for e in errors)
    return await token_first(request, problem_response(problem))


# end concordance


# concordance: bad-weather
async def handle_database_error(request: Request, exc: Exception) -> Response:
    """The database's bad weather is 503 with Retry-After and one log line naming the error; any other
    database error is a bug, re-raised to the last-resort 500 (middleware.py), which logs its traceback."""
    assert isinstance(exc, SQLAlchemyError)
    if not is_unavailable(exc):
        raise exc
    # The class and SQLSTATE only: a driver's message may quote values, and bind parameters never reach a log.
    cause = exc.orig if isinstance(exc, DBAPIError) else exc
    log.warning(
        "database unavailable: %s %s: %s (sqlstate %s) -> 503",
        request.method,
        request.url.path,
        f"{type(cause).__module__}.{type(cause).__name__}",
        getattr(cause, "sqlstate", None),
    )
    return problem_response(
        ApiError("service-unavailable", "The database is unavailable; retry shortly.", headers=RETRY_SOON)
    )


# end concordance


# concordance: problem-details
async def handle_http_exception(request: Request, exc: Exception) -> Response:
    """Starlette's own 404 (no route) and 405 (route, not this method) become problem+json."""
    assert isinstance(exc, StarletteHTTPException)
    slug = _SLUG_BY_STATUS.get(exc.status_code, "internal-error")
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        # Starlette's Allow names the methods of the one route it tried; the spec wants the path's.
        headers["Allow"] = request.app.state.route_table.allow_header(request.url.path)
        detail = f"{request.method} is not served here; see Allow."
    elif exc.status_code == 404:
        detail = "No resource lives at this path."
    else:
        detail = str(exc.detail)
    return problem_response(ApiError(slug, detail, headers=headers))


def install_exception_handlers(app: FastAPI) -> None:
    """Register every exception handler of the port (FastAPI's defaults answer {"detail": ...})."""
    app.add_exception_handler(ApiError, handle_problem)
    app.add_exception_handler(RequestValidationError, handle_request_validation)
    app.add_exception_handler(StarletteHTTPException, handle_http_exception)
    app.add_exception_handler(SQLAlchemyError, handle_database_error)


# end concordance
