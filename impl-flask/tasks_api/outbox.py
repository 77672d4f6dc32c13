"""The live-events outbox: record_event() in the change's transaction (after lock_owner), pruning."""

from __future__ import annotations

import datetime
import json
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.orm import Session

from .clock import now, timestamp
from .errors import ApiError
from .models import Event, User
from .wakeups import publish_after_commit


def compact(payload: dict[str, Any]) -> str:
    """The `data` text: compact JSON in UTF-8, as GET renders the resource (the schema's member order)."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def changed(resource: dict[str, Any]) -> str:
    """`data` of *.created and *.updated: the id, the version and the resource as GET returns it."""
    return compact({"id": resource["id"], "version": resource["version"], "resource": resource})


def project_deleted(project_id: int, version: int) -> str:
    """`data` of project.deleted: the id and the last version."""
    return compact({"id": project_id, "version": version})


def task_deleted(task_id: int, version: int, project_id: int) -> str:
    """`data` of task.deleted: the id, the last version and the project it was in."""
    return compact({"id": task_id, "version": version, "project_id": project_id})


# Hot path (every write): built once, Core statements on the mapped tables, run by the request's session.
# Nothing here needs an ORM instance: the event row is written once and never read back in this request.
LOCK_OWNER = select(User.__table__.c.id).where(User.__table__.c.id == bindparam("user_id")).with_for_update()
_events = Event.__table__
# A bulk prune: Core, so no loaded Event is kept in sync (there is none).
PRUNE_EVENTS = delete(_events).where(
    _events.c.user_id == bindparam("user_id"), _events.c.created_at < bindparam("before")
)
INSERT_EVENT = insert(_events).returning(_events.c.id)


# concordance: event-outbox
def lock_owner(session: Session, user_id: int) -> None:
    """Lock the owner's users row FOR UPDATE, first in the transaction (before the change's own rows).

    One user's event-writing transactions then take their event ids and commit one at a time, so a
    stream never sees id N+1 before id N. SQLAlchemy leaves FOR UPDATE out on SQLite, where the
    request's BEGIN IMMEDIATE already serialises writers. Locking before the change keeps one lock order
    (user, then rows) in every writer, so two writers cannot deadlock.
    """
    if session.scalar(LOCK_OWNER, {"user_id": user_id}) is None:
        # The user (and with it the token) was deleted after the token was checked.
        raise ApiError("invalid-token", "The token is unknown, expired or revoked.")


def record_event(session: Session, user_id: int, type_: str, data: str) -> None:
    """Insert the event in the change's transaction (after lock_owner) and prune the user's old events.

    The id is queued for the publish that follows the commit (wakeups.py); a rollback forgets it.
    """
    moment = now()
    retention = datetime.timedelta(seconds=current_app.config["EVENTS_RETENTION_SECONDS"])
    session.execute(PRUNE_EVENTS, {"user_id": user_id, "before": timestamp(moment - retention)})
    values = {"user_id": user_id, "type": type_, "data": data, "created_at": timestamp(moment)}
    event_id = session.execute(INSERT_EVENT, values).scalar_one()  # the id, for the Redis message
    publish_after_commit(session, user_id, event_id)


# end concordance
