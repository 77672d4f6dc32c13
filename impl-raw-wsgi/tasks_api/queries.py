"""Hot-path statements, built once: the bearer token joined to the resource, answered in one round trip.

A module-level statement keeps its SQLAlchemy cache key, so executing it only binds its parameters.
Each lookup returns the row or None and raises nothing: the handler decides 401 or 404 from it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, Select, bindparam, insert, select

from tasks_api.clock import now
from tasks_api.models import projects, tasks, tokens, users


def live_token() -> ColumnElement[bool]:
    """The WHERE clause of a token lookup: this digest, not expired (binds `digest` and `now`)."""
    return (tokens.c.token_hash == bindparam("digest")) & (tokens.c.expires_at > bindparam("now"))


# concordance: bearer-auth
# The caller of a protected operation: the user of a live token.
USER_BY_TOKEN = (
    select(users.c.id, users.c.email, users.c.name, users.c.created_at)
    .join(tokens, tokens.c.user_id == users.c.id)
    .where(live_token())
)


def user_by_token(connection: Connection, digest: str) -> Row[Any] | None:
    """The token's user (id, email, name, created_at), or None when the token is not live."""
    return connection.execute(USER_BY_TOKEN, {"digest": digest, "now": now()}).one_or_none()


# end concordance


# Hot path: the token and the owned project in one statement (no row: 401; a row without project: 404).
PROJECT_BY_TOKEN = (
    select(tokens.c.user_id, projects.c.id)
    .select_from(
        tokens.outerjoin(
            projects, (projects.c.id == bindparam("project_id")) & (projects.c.owner_id == tokens.c.user_id)
        )
    )
    .where(live_token())
)


def project_by_token(connection: Connection, digest: str, project_id: int) -> Row[Any] | None:
    """(user_id, id): None when the token is not live; `id` is None when the project is not the user's."""
    parameters = {"digest": digest, "now": now(), "project_id": project_id}
    return connection.execute(PROJECT_BY_TOKEN, parameters).first()


# Hot path: the token and the owned task in ONE statement. No row: the token is unknown or expired
# (401); a row whose task has no owned project: not the caller's, or no such task (404); else the task.
TASK_BY_TOKEN = (
    select(tokens.c.user_id, projects.c.owner_id, tasks)
    .select_from(
        tokens.outerjoin(tasks, tasks.c.id == bindparam("task_id")).outerjoin(
            projects, (projects.c.id == tasks.c.project_id) & (projects.c.owner_id == tokens.c.user_id)
        )
    )
    .where(live_token())
)


def task_by_token(connection: Connection, digest: str, task_id: int) -> Row[Any] | None:
    """(user_id, owner_id, the task's columns): None when the token is not live; owner_id None: 404."""
    parameters = {"digest": digest, "now": now(), "task_id": task_id}
    return connection.execute(TASK_BY_TOKEN, parameters).first()


# The create's INSERT, built once; its values come as parameters.
INSERT_TASK = insert(tasks).returning(*tasks.c)


def task_page(by_done: bool, by_priority: bool) -> Select[Any]:
    """The page query with the filters asked for: one of four statements, each built once (below)."""
    return _TASK_PAGES[by_done, by_priority]


def _task_page(by_done: bool, by_priority: bool) -> Select[Any]:
    statement = select(tasks).where(
        tasks.c.project_id == bindparam("project_id"), tasks.c.id > bindparam("after")
    )
    if by_done:
        statement = statement.where(tasks.c.done == bindparam("done"))
    if by_priority:
        statement = statement.where(tasks.c.priority == bindparam("priority"))
    return statement.order_by(tasks.c.id).limit(bindparam("size"))  # one more row than the page: a next?


_TASK_PAGES = {
    (done, priority): _task_page(done, priority) for done in (False, True) for priority in (False, True)
}
