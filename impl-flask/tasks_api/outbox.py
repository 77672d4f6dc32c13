"""The live-events outbox: the event row in the change's transaction, pruning, the publish after commit."""

from __future__ import annotations

import datetime
import functools
import json
import logging
from typing import Any

import redis
from flask import Flask, current_app
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import bindparam, delete, event, insert, select
from sqlalchemy.orm import Session

from .errors import ApiProblem
from .models import Event, User
from .schemas import timestamp, utc_now

log = logging.getLogger("tasks_api.events")
# Event ids a session has written and not yet committed: published by its after_commit hook.
PENDING = "tasks_api.pending_events"


def channel(user_id: int) -> str:
    """The Redis channel that wakes one user's streams (the same name in every port)."""
    return f"tasks-api:events:{user_id}"


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
        raise ApiProblem("invalid-token", "The token is unknown, expired or revoked.")


def record_event(session: Session, user_id: int, type_: str, data: str) -> None:
    """Insert the event in the change's transaction (after lock_owner), prune the user's old events,
    and queue the id for the publish that follows the commit (a rollback forgets it)."""
    now = utc_now()
    retention = datetime.timedelta(seconds=current_app.config["EVENTS_RETENTION_SECONDS"])
    session.execute(PRUNE_EVENTS, {"user_id": user_id, "before": timestamp(now - retention)})
    values = {"user_id": user_id, "type": type_, "data": data, "created_at": timestamp(now)}
    event_id = session.execute(INSERT_EVENT, values).scalar_one()  # the id, for the Redis message
    session.info.setdefault(PENDING, []).append((user_id, event_id))


def _publish_pending(client: redis.Redis | None, session: Session) -> None:
    # after_commit: the change is durable, so a stream woken now finds the row. Redis is only a signal:
    # a failed publish is logged and ignored (streams still find the event at their next poll).
    pending = session.info.pop(PENDING, [])
    if client is None:
        return
    for user_id, event_id in pending:
        try:
            client.publish(channel(user_id), str(event_id))
        except (redis.RedisError, OSError) as exc:
            log.warning("live events: publishing event %s to Redis failed: %s", event_id, type(exc).__name__)


def _forget_pending(session: Session) -> None:
    # The transaction rolled back: its events never existed, so nothing is announced.
    session.info.pop(PENDING, None)


# end concordance


def init_app(app: Flask) -> None:
    """The Redis client (when REDIS_URL is set) and the publish-after-commit hooks on the session makers."""
    url = app.config["REDIS_URL"]
    # Short timeouts and no retry (redis-py retries three times with backoff by default): an unreachable
    # or hung Redis delays a write (or a stream's start) by half a second at most. from_url does not
    # connect; redis-py's pool is thread-safe and shared by the worker's threads.
    client = (
        redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5, retry=Retry(NoBackoff(), 0))
        if url
        else None
    )
    app.extensions["tasks_api.redis"] = client
    for factory in app.extensions["tasks_api.sessions"].values():
        event.listen(factory, "after_commit", functools.partial(_publish_pending, client))
        event.listen(factory, "after_rollback", _forget_pending)
