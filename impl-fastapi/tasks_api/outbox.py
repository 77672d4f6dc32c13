"""The live-events outbox: each change writes its event in its own transaction; Redis hears after commit."""

from __future__ import annotations

import logging
from functools import cache

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tasks_api import clock
from tasks_api.config import get_settings
from tasks_api.db import after_commit
from tasks_api.models import Event, User
from tasks_api.security import invalid_token

log = logging.getLogger("tasks_api")


def channel(user_id: int) -> str:
    """The Redis channel that wakes one user's streams (the same name in every port)."""
    return f"tasks-api:events:{user_id}"


def changed(resource_id: int, version: int, resource: bytes) -> str:
    """`data` of *.created / *.updated: the resource exactly as GET renders it, inside compact JSON."""
    return f'{{"id":{resource_id},"version":{version},"resource":{resource.decode()}}}'


def project_deleted(project_id: int, version: int) -> str:
    """`data` of project.deleted: the id and the last version."""
    return f'{{"id":{project_id},"version":{version}}}'


def task_deleted(task_id: int, version: int, project_id: int) -> str:
    """`data` of task.deleted: the id, the last version and the project it was in."""
    return f'{{"id":{task_id},"version":{version},"project_id":{project_id}}}'


# concordance: event-outbox
def lock_owner(db: Session, user_id: int) -> None:
    """Take the owner's users row FOR UPDATE (PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises
    writers and SQLAlchemy leaves the clause out there). One user's event-writing transactions then take
    their event ids and commit one at a time, so a stream never sees id N+1 before id N. Called first in
    the transaction, before the change, so every such transaction locks in one order: user, then rows."""
    if db.scalar(select(User.id).where(User.id == user_id).with_for_update()) is None:
        raise invalid_token()  # the user was deleted (with the token) since the token was checked


def record_event(db: Session, user_id: int, type_: str, data: str) -> None:
    """Insert the event in the change's transaction (after lock_owner), prune that user's events older
    than the retention, and publish the id once the transaction has committed."""
    cutoff = clock.now(-get_settings().events_retention_seconds)
    db.execute(delete(Event).where(Event.user_id == user_id, Event.created_at < cutoff))
    event = Event(user_id=user_id, type=type_, data=data, created_at=clock.now())
    db.add(event)
    db.flush()  # the id, for the Redis message
    event_id = event.id
    after_commit(db, lambda: publish(user_id, event_id))


def publish(user_id: int, event_id: int) -> None:
    """Wake the user's streams on every replica. A signal, never the source of truth: a failure is logged
    and ignored (the change has committed; streams still find the event at their next poll)."""
    url = get_settings().redis_url
    if not url:
        return
    try:
        _publisher(url).publish(channel(user_id), str(event_id))
    except Exception as exc:  # whatever went wrong (even a bad REDIS_URL), the write stands
        log.warning("live events: publishing event %s to Redis failed: %s", event_id, type(exc).__name__)


# end concordance


@cache
def _publisher(url: str) -> redis.Redis:
    # A synchronous client: the writers are sync endpoints in the threadpool, and redis-py's pool is
    # thread-safe. 0.5 s timeouts and no retry (redis-py retries 3 times with backoff by default), so a
    # hung or unreachable Redis adds at most 0.5 s to a write (spec "Live events").
    return redis.Redis.from_url(
        url, socket_connect_timeout=0.5, socket_timeout=0.5, retry=Retry(NoBackoff(), 0)
    )
