"""The live-events outbox: the event row in the change's transaction, pruning, the publish on commit."""

import functools
import json
import logging
from datetime import timedelta
from typing import Any

import redis
from django.conf import settings
from django.db import transaction
from redis.backoff import NoBackoff
from redis.retry import Retry

from .models import Event, User
from .security import invalid_token, timestamp, utc_now

log = logging.getLogger("tasks_api.events")


def channel(user_id: int) -> str:
    """The Redis channel that wakes one user's streams (the same name in every port)."""
    return f"tasks-api:events:{user_id}"


@functools.cache
def redis_client() -> redis.Redis | None:
    """One client per process (redis-py's pool is thread-safe); None without REDIS_URL.

    0.5 s connect and socket timeouts and no retry: a hung or unreachable Redis delays a write (or a
    stream's start) by half a second at most. redis-py 6+ retries three times with backoff by default,
    which would turn one hung call into seconds: Retry(NoBackoff(), 0) overrides it, visibly.
    """
    if not settings.REDIS_URL:
        return None
    return redis.Redis.from_url(
        settings.REDIS_URL, socket_connect_timeout=0.5, socket_timeout=0.5, retry=Retry(NoBackoff(), 0)
    )


def compact(payload: dict[str, Any]) -> str:
    """The `data` text: compact JSON, members in the resource's order."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def changed(resource: dict[str, Any]) -> str:
    """`data` of *.created and *.updated: the id, the version and the resource as GET returns it."""
    return compact({"id": resource["id"], "version": resource["version"], "resource": resource})


def deleted(resource_id: int, version: int, project_id: int | None = None) -> str:
    """`data` of *.deleted: the id and the last version (and, for a task, its project)."""
    data: dict[str, Any] = {"id": resource_id, "version": version}
    if project_id is not None:
        data["project_id"] = project_id
    return compact(data)


# concordance: event-outbox
def lock_owner(user_id: int) -> None:
    """Lock the owner's users row first in the transaction (SELECT ... FOR UPDATE on PostgreSQL).

    One user's event-writing transactions then take their event ids and commit one at a time, so a
    stream never sees id N+1 before id N. select_for_update() is a no-op on SQLite, whose BEGIN
    IMMEDIATE already serialises writers. Locking before the change's own rows keeps one lock order.
    """
    if not list(User.objects.select_for_update().filter(id=user_id).values_list("id", flat=True)):
        raise invalid_token()  # the user (and the token with it) was deleted a moment ago


def record_event(user_id: int, type_: str, data: str) -> None:
    """Insert the event in the caller's transaction, prune the user's old events, publish on commit."""
    now = utc_now()
    cutoff = timestamp(now - timedelta(seconds=settings.EVENTS_RETENTION_SECONDS))
    Event.objects.filter(user_id=user_id, created_at__lt=cutoff).delete()
    event = Event.objects.create(user_id=user_id, type=type_, data=data, created_at=timestamp(now))
    # on_commit: a stream woken now finds the row; a rollback forgets the callback, so nothing is announced.
    transaction.on_commit(functools.partial(publish, user_id, event.id))


def publish(user_id: int, event_id: int) -> None:
    """Wake the user's streams on every replica. Redis is only a signal: a failure is logged, not raised."""
    client = redis_client()
    if client is None:
        return
    try:
        client.publish(channel(user_id), str(event_id))
    except (redis.RedisError, OSError) as exc:
        log.warning("live events: publishing event %s to Redis failed: %s", event_id, type(exc).__name__)


# end concordance
