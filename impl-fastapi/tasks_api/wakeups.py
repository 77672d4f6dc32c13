"""Redis wake-ups for live-event streams: one subscription per worker process, fanned out to its streams."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Iterator

import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from tasks_api.config import get_settings

log = logging.getLogger("tasks_api")

# Every user's channel (outbox.channel): tasks-api:events:<user_id>.
CHANNEL_PATTERN = "tasks-api:events:*"
_PREFIX = b"tasks-api:events:"
_instances: weakref.WeakSet[Wakeups] = weakref.WeakSet()


def end_all_streams() -> None:
    """The server is shutting down (worker.py): every stream of this process ends now, with `: end`,
    instead of being cut off after the graceful timeout; its client reconnects with Last-Event-ID."""
    for wakeups in list(_instances):
        wakeups.close()


class Wakeups:
    """Wakes the streams of a user when a writer (any port, any replica) publishes to their channel.

    One Redis connection per worker process, pattern-subscribed to every user's channel, instead of
    one subscription per stream: thousands of idle streams cost thousands of asyncio.Events, not
    thousands of Redis connections. The price is that each worker receives every user's wake-ups (a
    few bytes per write) and drops those of users it has no stream for. Without REDIS_URL nothing is
    ever set, and streams simply poll.
    """

    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url
        self._waiters: dict[int, set[asyncio.Event]] = {}
        self._task: asyncio.Task[None] | None = None
        self.closing = False  # set once at shutdown: streams send `: end` and finish
        _instances.add(self)

    def start(self) -> None:
        """Begin listening (in the worker's event loop, from the lifespan)."""
        if self.redis_url and self._task is None:
            self._task = asyncio.create_task(self._listen(), name="tasks-api wake-ups")

    async def stop(self) -> None:
        """Stop listening and close the connection."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    @contextlib.contextmanager
    def waiter(self, user_id: int) -> Iterator[asyncio.Event]:
        """An event set whenever one of the user's changes is announced, for the life of one stream."""
        event = asyncio.Event()
        self._waiters.setdefault(user_id, set()).add(event)
        try:
            yield event
        finally:
            waiters = self._waiters.get(user_id, set())
            waiters.discard(event)
            if not waiters:
                self._waiters.pop(user_id, None)

    def close(self) -> None:
        """Wake every stream for the last time (they see `closing` and end)."""
        self.closing = True
        for waiters in self._waiters.values():
            for event in waiters:
                event.set()

    def wake(self, user_id: int) -> None:
        """Wake every stream of the user in this process."""
        for event in self._waiters.get(user_id, ()):
            event.set()

    # concordance: event-stream
    async def _listen(self) -> None:
        # Resubscribes every EVENTS_POLL_SECONDS while it fails: Redis is a signal, never the source of
        # truth, so while it is away streams poll and nothing is lost, and once it is back they are
        # woken again. Logged once per outage, not per attempt. Connecting and subscribing are bounded by
        # 0.5 s, without retry; the subscription's read itself has no timeout (it waits for messages).
        failing = False
        while True:
            try:
                client = redis.asyncio.Redis.from_url(
                    self.redis_url, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0)
                )
                async with client, client.pubsub() as pubsub:
                    async with asyncio.timeout(0.5):
                        await pubsub.psubscribe(CHANNEL_PATTERN)
                    if failing:
                        log.info("live events: Redis subscription restored")
                        failing = False
                    async for message in pubsub.listen():
                        if message["type"] == "pmessage" and message["channel"].startswith(_PREFIX):
                            suffix = message["channel"][len(_PREFIX) :]
                            if suffix.isdigit():
                                self.wake(int(suffix))
            except Exception as exc:  # any failure (even a bad REDIS_URL): poll meanwhile
                if not failing:
                    log.warning(
                        "live events: no Redis subscription (%s); streams poll meanwhile", type(exc).__name__
                    )
                    failing = True
            await asyncio.sleep(get_settings().events_poll_seconds)


# end concordance
