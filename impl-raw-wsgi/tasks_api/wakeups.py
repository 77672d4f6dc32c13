"""Redis as the wake-up signal of live events: publish an event id after commit; wait for one, or sleep."""

from __future__ import annotations

import contextlib
import logging
import time

import redis
from redis.backoff import NoBackoff
from redis.client import PubSub
from redis.retry import Retry

log = logging.getLogger(__name__)

CHANNEL_PREFIX = "tasks-api:events:"
# Redis is only a signal (the events table is the truth), so it must never slow a request down for long:
# 0.5 s to connect and to answer, and no retry (redis-py retries 3 times by default), so a hung Redis
# adds at most half a second to a write. A stale pooled connection after a restart costs one lost
# wake-up, which the next poll makes up for.
_CLIENT_OPTIONS = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5, "retry": Retry(NoBackoff(), 0)}
_REDIS_ERRORS = (redis.RedisError, OSError)


def channel(user_id: int) -> str:
    """The one channel of a user's events, the same in every port: `tasks-api:events:<user_id>`."""
    return f"{CHANNEL_PREFIX}{user_id}"


class Wakeups:
    """The process's Redis client (None without REDIS_URL); it connects lazily, on first use."""

    def __init__(self, redis_url: str) -> None:
        self.client = redis.Redis.from_url(redis_url, **_CLIENT_OPTIONS) if redis_url else None

    # concordance: event-outbox
    def publish(self, user_id: int, event_id: int) -> None:
        """Tell the user's streams that event `event_id` has committed; a failure only delays them."""
        if self.client is None:
            return
        try:
            self.client.publish(channel(user_id), str(event_id))
        except _REDIS_ERRORS as exc:
            # The change has committed and its event is in the table: streams find it at their next poll.
            log.warning("publishing event %s to Redis failed: %s", event_id, exc.__class__.__name__)

    # end concordance

    def subscribe(self, user_id: int) -> Subscription:
        """A subscription to the user's channel (a plain sleeper without Redis, or when Redis is down)."""
        return Subscription(self.client, channel(user_id))


class Subscription:
    """wait(seconds): sleep that long, or less when a message arrives on the channel. close() releases it.

    When Redis fails (or cannot be reached at first), the subscription sleeps instead and tries to
    subscribe again every EVENTS_POLL_SECONDS (each wait() is at most one poll interval), so that
    once Redis is back its stream is woken again instead of polling for the rest of its life.
    """

    def __init__(self, client: redis.Redis | None, name: str) -> None:
        self.client = client
        self.name = name
        self.pubsub: PubSub | None = None
        self._subscribe()

    def _subscribe(self) -> None:
        if self.client is None:
            return
        pubsub = self.client.pubsub()
        try:
            pubsub.subscribe(self.name)
        except _REDIS_ERRORS as exc:
            with contextlib.suppress(*_REDIS_ERRORS):
                pubsub.close()
            log.warning("subscribing to Redis failed, the stream polls: %s", exc.__class__.__name__)
            return
        self.pubsub = pubsub

    def wait(self, seconds: float) -> bool:
        """Block up to `seconds`; True when woken by a message, False when the time ran out."""
        deadline = time.monotonic() + seconds
        if self.pubsub is None:
            self._subscribe()  # again: Redis may be back (a no-op without REDIS_URL)
        while self.pubsub is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            try:
                message = self.pubsub.get_message(timeout=remaining)
            except _REDIS_ERRORS as exc:
                log.warning("lost Redis, the stream polls: %s", exc.__class__.__name__)
                self.close()
                break
            # get_message() also returns the subscribe confirmation, and None for nothing: only a
            # published message is a wake-up.
            if message is not None and message["type"] == "message":
                self._drain()  # a burst of writes needs one read of the table, not one per message
                return True
        time.sleep(max(0.0, deadline - time.monotonic()))
        return False

    def _drain(self) -> None:
        assert self.pubsub is not None
        # A lost connection is noticed by the next wait(), which then falls back to polling.
        with contextlib.suppress(*_REDIS_ERRORS):
            while self.pubsub.get_message(timeout=0) is not None:
                pass

    def close(self) -> None:
        """Unsubscribe and return the connection: called when the stream ends, however it ends."""
        if self.pubsub is not None:
            pubsub, self.pubsub = self.pubsub, None
            with contextlib.suppress(*_REDIS_ERRORS):  # the connection may be gone already
                pubsub.close()
