"""Hot-path statements, built once: the bearer token joined to the resource, one round trip each."""

from __future__ import annotations

from sqlalchemy import Select, and_, bindparam, select

from tasks_api.models import Project, Task, Token, User

# Why these exist (issue 15): checking the token in a statement of its own and then reading the resource
# costs two round trips (and, on SQLite, two BEGIN/COMMIT pairs). The spec's order of checks (401, then
# 404) survives one statement: the token row LEFT JOIN the caller's resource; no row -> 401, a row
# without the resource -> 404. Core tables rather than ORM entities: rows, not tracked objects, since
# nothing is written back. Bound parameters: every statement is compiled once per process (SQLAlchemy's
# statement cache keys them by structure).
_USERS = User.__table__
_TOKENS = Token.__table__
_PROJECTS = Project.__table__
_TASKS = Task.__table__
_VALID_TOKEN = and_(_TOKENS.c.token_hash == bindparam("digest"), _TOKENS.c.expires_at > bindparam("now"))

# Every authenticated endpoint without a statement of its own below: the token's user, unexpired. The
# users join is not needed: the token row goes with its user (ON DELETE CASCADE).
USER_BY_TOKEN = select(_TOKENS.c.user_id).where(_VALID_TOKEN)

# GET /users/me: the token joined to its user; no row is 401 (a user deleted since goes with its tokens).
CURRENT_USER = (
    select(_USERS.c.id, _USERS.c.email, _USERS.c.name, _USERS.c.created_at)
    .select_from(_TOKENS.join(_USERS, _USERS.c.id == _TOKENS.c.user_id))
    .where(_VALID_TOKEN)
)

# GET /tasks/{id}: user_id, then the task's columns (all NULL when it is missing or someone else's).
TASK_BY_TOKEN = (
    select(_TOKENS.c.user_id, *_TASKS.c)
    .select_from(
        _TOKENS.outerjoin(
            _TASKS.join(_PROJECTS, _PROJECTS.c.id == _TASKS.c.project_id),
            and_(_TASKS.c.id == bindparam("task_id"), _PROJECTS.c.owner_id == _TOKENS.c.user_id),
        )
    )
    .where(_VALID_TOKEN)
)

# POST /projects/{id}/tasks (before the write): user_id and the owned project's id (NULL: 404).
PROJECT_BY_TOKEN = (
    select(_TOKENS.c.user_id, _PROJECTS.c.id.label("found_project"))
    .select_from(
        _TOKENS.outerjoin(
            _PROJECTS,
            and_(_PROJECTS.c.id == bindparam("project_id"), _PROJECTS.c.owner_id == _TOKENS.c.user_id),
        )
    )
    .where(_VALID_TOKEN)
)

# POST /projects/{id}/tasks, first in the write transaction: the owner's users row FOR UPDATE (as
# outbox.lock_owner; PostgreSQL only, SQLite's BEGIN IMMEDIATE already serialises writers) and whether
# the project is still theirs, in one statement instead of two.
LOCK_OWNER_AND_PROJECT = (
    select(_USERS.c.id, _PROJECTS.c.id.label("found_project"))
    .select_from(
        _USERS.outerjoin(
            _PROJECTS,
            and_(_PROJECTS.c.id == bindparam("project_id"), _PROJECTS.c.owner_id == _USERS.c.id),
        )
    )
    .where(_USERS.c.id == bindparam("user_id"))
    .with_for_update(of=_USERS)
)


def _task_page(done: bool, priority: bool) -> Select:
    # One more row than the page tells whether another page exists; a project without (matching)
    # tasks still gives one row, its task columns NULL.
    tasks_on = [_TASKS.c.project_id == _PROJECTS.c.id, _TASKS.c.id > bindparam("after")]
    if done:
        tasks_on.append(_TASKS.c.done == bindparam("done"))
    if priority:
        tasks_on.append(_TASKS.c.priority == bindparam("priority"))
    return (
        select(_TOKENS.c.user_id, _PROJECTS.c.id.label("found_project"), *_TASKS.c)
        .select_from(
            _TOKENS.outerjoin(
                _PROJECTS,
                and_(_PROJECTS.c.id == bindparam("project_id"), _PROJECTS.c.owner_id == _TOKENS.c.user_id),
            ).outerjoin(_TASKS, and_(*tasks_on))
        )
        .where(_VALID_TOKEN)
        .order_by(_TASKS.c.id)
        .limit(bindparam("limit"))
    )


# GET /projects/{id}/tasks: keyed by (done filter given, priority filter given).
TASK_PAGE = {
    (done, priority): _task_page(done, priority) for done in (False, True) for priority in (False, True)
}
