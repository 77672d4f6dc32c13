"""Redis as the wake-up signal of live events: publish after commit; a stream waits for one, or polls."""

import contextlib
import functools
import logging
import time

import redis
from django.conf import settings
from redis.backoff import NoBackoff
from redis.retry import Retry

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


# concordance: event-outbox
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


class Wakeup:
    """A Redis subscription to one user's channel, or nothing (then a stream just polls the table).

    A subscription that fails (Redis down or hung) is tried again every EVENTS_POLL_SECONDS, so that
    once Redis is back the stream is woken again instead of polling for the rest of its life.
    """

    def __init__(self, user_id: int) -> None:
        self.user_id = user_id
        self.pubsub: redis.client.PubSub | None = None
        self.next_attempt = 0.0
        self.subscribe()

    def subscribe(self) -> bool:
        """Try to subscribe (at most once per poll interval); True when a new subscription was made."""
        client = redis_client()
        if client is None or self.pubsub is not None or time.monotonic() < self.next_attempt:
            return False
        self.next_attempt = time.monotonic() + settings.EVENTS_POLL_SECONDS
        try:
            self.pubsub = client.pubsub(ignore_subscribe_messages=True)
            self.pubsub.subscribe(channel(self.user_id))
        except (redis.RedisError, OSError) as exc:
            log.warning("live events: subscribing to Redis failed, polling: %s", type(exc).__name__)
            self.close()
            return False
        return True

    def wait(self, seconds: float) -> None:
        """Return on a message (a new event was committed somewhere) or after `seconds`."""
        if self.subscribe():
            # Subscribed just now: an event committed while there was no subscription woke nobody,
            # so return at once and let the stream read the table.
            return
        if self.pubsub is not None:
            try:
                self.pubsub.get_message(timeout=seconds)
                return
            except (redis.RedisError, OSError) as exc:
                log.warning("live events: Redis went away, polling until it is back: %s", type(exc).__name__)
                self.close()
        time.sleep(seconds)

    def close(self) -> None:
        """Drop the subscription, if any (Redis errors on the way out do not matter)."""
        if self.pubsub is not None:
            pubsub, self.pubsub = self.pubsub, None
            with contextlib.suppress(redis.RedisError, OSError):
                pubsub.close()
