"""FastAPI's dependencies in one list: what endpoints declare (the caller, the session, headers, queries)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session

from tasks_api.db import new_session
from tasks_api.errors import BEARER
from tasks_api.pagination import ListParams, list_params
from tasks_api.schemas import last_event_id
from tasks_api.security import Caller, Credentials, authenticate_header, bearer_token, token_hash

# One threadpool hop per request (README, "Sync or async"): every dependency below is `async def`
# without I/O, or a plain parameter, so that only the endpoint itself runs in the threadpool. The one
# exception is stream_caller, for GET /events, whose endpoint is `async def` itself.

AuthorizationHeader = Annotated[str | None, Header(alias="Authorization", include_in_schema=False)]
# The spec's header schema: 1 to 255 visible ASCII characters, else a 422 pointing at the header.
IdempotencyKeyHeader = Annotated[
    str | None, Header(alias="Idempotency-Key", min_length=1, max_length=255, pattern=r"^[\x21-\x7E]+$")
]
# Not validated (no 422): the operations that take these headers document no 422 for them (GET,
# DELETE). A value that is not a list of our entity tags simply matches nothing (conditional.py).
IfMatch = Annotated[str | None, Header(alias="If-Match")]
IfNoneMatch = Annotated[str | None, Header(alias="If-None-Match")]


async def bearer(request: Request, authorization: AuthorizationHeader = None) -> Credentials:
    """The bearer token's hash, or the 401 a missing or malformed header gets.

    No database here on purpose: the token is checked in the endpoint's own thread, folded into its
    first statement (security.authenticate and the hot paths of queries.py)."""
    credentials = Credentials(token_hash(bearer_token(authorization)))
    request.scope[BEARER] = credentials  # errors.token_first: 401 before an answer decided early
    return credentials


Bearer = Annotated[Credentials, Depends(bearer)]


def stream_caller(authorization: AuthorizationHeader = None) -> Caller:
    """The Caller of a long response (GET /events), checked with a session of its own, closed at once.
    A request's session (get_db) would be closed only when the response ends, and FastAPI runs that
    clean-up in a thread outside the threadpool's limit: a thousand streams ending together would start
    a thousand threads."""
    return authenticate_header(authorization)


StreamCaller = Annotated[Caller, Depends(stream_caller)]


async def get_db() -> AsyncIterator[Session]:
    """One session per request, closed at the end.

    `async def` on purpose: creating and closing this session does no I/O (autobegin=False: every
    statement runs in an explicit transaction of db.py, which has given its connection back to the pool
    before the endpoint returns), so it costs no threadpool hop (a sync generator costs two)."""
    with new_session() as session:
        yield session


Db = Annotated[Session, Depends(get_db)]


async def raw_body(request: Request) -> bytes:
    """The body exactly as received (body.BodyRoute already read it): the idempotency fingerprint's."""
    return await request.body()


RawBody = Annotated[bytes, Depends(raw_body)]


async def project_list_params(request: Request) -> ListParams:
    """The query of listProjects."""
    return list_params(request, ("limit", "cursor"))


async def task_list_params(request: Request) -> ListParams:
    """The query of listTasks."""
    return list_params(request, ("limit", "cursor", "done", "priority"))


ProjectListParams = Annotated[ListParams, Depends(project_list_params)]
TaskListParams = Annotated[ListParams, Depends(task_list_params)]


async def resume_after(request: Request) -> int | None:
    """Where GET /events resumes (declared after the caller, so that 401 comes before its 422)."""
    return last_event_id(request.headers.get("last-event-id"), request.query_params.getlist("last_event_id"))


ResumeAfter = Annotated[int | None, Depends(resume_after)]
