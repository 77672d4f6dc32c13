"""The transactional outbox of live events: each change writes its `events` row in its own transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, insert, select

from tasks_api.errors import HTTPError
from tasks_api.http import json_bytes
from tasks_api.models import events, now, users

# concordance: event-outbox


def lock_owner(connection: Connection, user_id: int) -> None:
    """First statement of a write that will carry an event: take the owner's users row FOR UPDATE.

    One user's event ids must become visible in increasing order (a stream remembers the last id it
    sent), so one user's writes take their ids and commit one at a time; other users are not blocked.
    PostgreSQL needs the row lock; SQLite ignores FOR UPDATE, its BEGIN IMMEDIATE already serialises
    writers. Taken before the change, not just before the insert, so that the change's own row locks
    never wait behind it (DELETE /users/me locks the users row first, then the rows it cascades to).
    """
    owner = connection.execute(select(users.c.id).where(users.c.id == user_id).with_for_update())
    if owner.scalar_one_or_none() is None:  # the account was deleted since the token was checked
        raise HTTPError("invalid-token", "The token's user no longer exists.")


def record(
    connection: Connection, user_id: int, kind: str, data: dict[str, Any], retention_seconds: int
) -> int:
    """Insert the event of a change in the change's transaction; returns its id, to publish after commit.

    The event exists exactly when the change does. `data` is stored as the compact JSON that every
    stream sends as is. The same transaction prunes this user's events older than the retention.
    """
    connection.execute(
        delete(events).where(events.c.user_id == user_id, events.c.created_at < now(-retention_seconds))
    )
    return connection.execute(
        insert(events)
        .values(user_id=user_id, type=kind, data=json_bytes(data).decode("utf-8"), created_at=now())
        .returning(events.c.id)
    ).scalar_one()


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
