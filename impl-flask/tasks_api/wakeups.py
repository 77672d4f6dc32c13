"""Redis as the wake-up signal of live events: publish after commit; wait for one, or poll."""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from typing import Any

import redis
from flask import Flask
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger("tasks_api.events")
# Event ids a session has written and not yet committed: published by its after_commit hook.
PENDING = "tasks_api.pending_events"
REDIS = "tasks_api.redis"


def channel(user_id: int) -> str:
    """The Redis channel that wakes one user's streams (the same name in every port)."""
    return f"tasks-api:events:{user_id}"


# concordance: event-outbox
def publish_after_commit(session: Session, user_id: int, event_id: int) -> None:
    """Queue an event id on the session; its after_commit hook publishes it (a rollback forgets it)."""
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
    app.extensions[REDIS] = client
    for factory in app.extensions["tasks_api.sessions"].values():
        event.listen(factory, "after_commit", functools.partial(_publish_pending, client))
        event.listen(factory, "after_rollback", _forget_pending)


class Wakeup:
    """Wait until a Redis message on the user's channel or a timeout; without Redis, just sleep.

    Redis is a signal, never the source of truth: while it fails the stream polls, and it tries to
    subscribe again every poll interval, so once Redis is back the stream is woken again instead of
    polling for the rest of its life.
    """

    def __init__(self, client: redis.Redis | None, name: str, retry_every: float) -> None:
        self._client = client
        self._name = name
        self._retry_every = retry_every
        self._pubsub: Any = None
        self._retry_at = 0.0
        self._subscribe()

    def _subscribe(self) -> None:
        if self._client is None:
            return
        pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.subscribe(self._name)
        except (redis.RedisError, OSError) as exc:
            log.warning("live events: subscribing to %s failed, polling: %s", self._name, type(exc).__name__)
            pubsub.close()
            self._retry_at = time.monotonic() + self._retry_every
            return
        self._pubsub = pubsub

    def wait(self, timeout: float) -> None:
        """Return when a message arrives or after timeout seconds, whichever comes first."""
        deadline = time.monotonic() + timeout
        if self._pubsub is None and self._client is not None and time.monotonic() >= self._retry_at:
            self._subscribe()  # at most once per poll interval, and each attempt is bounded by 0.5 s
        while self._pubsub is not None and (remaining := deadline - time.monotonic()) > 0:
            try:
                # None also comes early for the (ignored) subscribe confirmation: then wait on.
                if self._pubsub.get_message(timeout=remaining) is not None:
                    while self._pubsub.get_message(timeout=0.0) is not None:
                        pass  # a burst of writes: one read of the table serves them all
                    return
            except (redis.RedisError, OSError) as exc:
                log.warning("live events: Redis subscription lost, polling: %s", type(exc).__name__)
                self.close()
                self._retry_at = time.monotonic() + self._retry_every
        time.sleep(max(deadline - time.monotonic(), 0.0))

    def close(self) -> None:
        """Unsubscribe and give the connection back to the pool."""
        if self._pubsub is not None:
            pubsub, self._pubsub = self._pubsub, None
            with contextlib.suppress(redis.RedisError, OSError):  # the connection may be gone already
                pubsub.close()
