"""The transactional outbox of live events: each change writes its `events` row in its own transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select

from tasks_api.clock import now
from tasks_api.errors import ApiError
from tasks_api.http import json_bytes
from tasks_api.models import events, projects, users

# concordance: event-outbox


# Built once (module level): each write only binds them.
_OWNER = select(users.c.id).where(users.c.id == bindparam("user_id")).with_for_update()
_OWNER_AND_PROJECT = (
    select(users.c.id, projects.c.id.label("project_id"))
    .select_from(
        users.outerjoin(
            projects, (projects.c.id == bindparam("project_id")) & (projects.c.owner_id == users.c.id)
        )
    )
    .where(users.c.id == bindparam("user_id"))
    .with_for_update(of=users)
)
_PRUNE = delete(events).where(
    events.c.user_id == bindparam("user_id"), events.c.created_at < bindparam("before")
)
_INSERT = insert(events).returning(events.c.id)


def lock_owner(connection: Connection, user_id: int, project_id: int | None = None) -> bool:
    """First statement of a write that will carry an event: take the owner's users row FOR UPDATE.

    One user's event ids must become visible in increasing order (a stream remembers the last id it
    sent), so one user's writes take their ids and commit one at a time; other users are not blocked.
    PostgreSQL needs the row lock; SQLite ignores FOR UPDATE, its BEGIN IMMEDIATE already serialises
    writers. Taken before the change, not just before the insert, so that the change's own row locks
    never wait behind it (DELETE /users/me locks the users row first, then the rows it cascades to).

    With a `project_id`, the same statement tells whether the user owns that project (the return value).
    """
    if project_id is None:
        row = connection.execute(_OWNER, {"user_id": user_id}).first()
    else:
        row = connection.execute(_OWNER_AND_PROJECT, {"user_id": user_id, "project_id": project_id}).first()
    if row is None:  # the account was deleted since the token was checked
        raise ApiError("invalid-token", "The token's user no longer exists.")
    return project_id is None or row.project_id is not None


def record_event(
    connection: Connection, user_id: int, kind: str, data: dict[str, Any], retention_seconds: int
) -> int:
    """Insert the event of a change in the change's transaction; returns its id, to publish after commit.

    The event exists exactly when the change does. `data` is stored as the compact JSON that every
    stream sends as is. The same transaction prunes this user's events older than the retention.
    """
    connection.execute(_PRUNE, {"user_id": user_id, "before": now(-retention_seconds)})
    values = {"user_id": user_id, "type": kind, "data": json_bytes(data).decode("utf-8"), "created_at": now()}
    return connection.execute(_INSERT, values).scalar_one()


# end concordance


def changed(resource: dict[str, Any]) -> dict[str, Any]:
    """The data of `*.created` and `*.updated`: the id, the version and the resource as GET returns it."""
    return {"id": resource["id"], "version": resource["version"], "resource": resource}


def deleted(ident: int, version: int, project_id: int | None = None) -> dict[str, Any]:
    """The data of `*.deleted`: the id and the last version, and for a task its project."""
    data = {"id": ident, "version": version}
    if project_id is not None:
        data["project_id"] = project_id
    return data
