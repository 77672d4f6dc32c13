"""GET /events: the caller's changes as Server-Sent Events, read from the outbox table, woken by Redis."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import redis
from sqlalchemy import Row, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from .models import Event
from .outbox import channel

log = logging.getLogger("tasks_api.events")

OPEN = b": open\nretry: 1000\n\n"
HEARTBEAT = b": heartbeat\n\n"
END = b": end\nretry: 1000\n\n"
BATCH = 500  # events per read; a longer backlog is read in several, without waiting in between
# content_type, not mimetype: Werkzeug would add "; charset=utf-8" to a text/* mimetype by itself.
CONTENT_TYPE = "text/event-stream"
HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}


@dataclass(frozen=True)
class StreamSettings:
    """What a stream needs from the app, taken before the response leaves the app context."""

    poll: float
    heartbeat: float
    duration: float
    redis: redis.Redis | None

    @classmethod
    def from_config(cls, config: Mapping[str, Any], client: redis.Redis | None) -> StreamSettings:
        """The EVENTS_* settings and the app's Redis client (None without REDIS_URL)."""
        return cls(
            poll=config["EVENTS_POLL_SECONDS"],
            heartbeat=config["EVENTS_HEARTBEAT_SECONDS"],
            duration=config["EVENTS_STREAM_SECONDS"],
            redis=client,
        )


def latest_event_id(session: Session, user_id: int) -> int:
    """The user's largest event id now (0 when none): a stream without Last-Event-ID starts after it."""
    return session.scalar(select(func.coalesce(func.max(Event.id), 0)).where(Event.user_id == user_id)) or 0


def events_after(
    sessions: sessionmaker[Session], user_id: int, after: int
) -> list[Row[tuple[int, str, str]]]:
    """The user's next events after an id, in id order, in a short session of its own (closed at once)."""
    with sessions() as session:
        rows = session.execute(
            select(Event.id, Event.type, Event.data)
            .where(Event.user_id == user_id, Event.id > after)
            .order_by(Event.id)
            .limit(BATCH)
        )
        return list(rows)


def frame(event_id: int, type_: str, data: str) -> bytes:
    """One event block, byte for byte as the spec frames it (`data` is compact JSON: one line)."""
    return f"id: {event_id}\nevent: {type_}\ndata: {data}\n\n".encode()


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


# concordance: event-stream
def event_stream(
    sessions: sessionmaker[Session], user_id: int, after: int, settings: StreamSettings
) -> Iterator[bytes]:
    """The body of one stream: it holds this worker thread for its whole life, but a database connection
    only while it reads the table. WSGI closes the generator when the client leaves (a write fails) or the
    response ends; the finally block then gives the Redis connection back."""
    wakeup = Wakeup(
        settings.redis, channel(user_id), settings.poll
    )  # subscribed before the first read: no signal is lost
    try:
        started = last_write = time.monotonic()
        deadline = started + settings.duration
        yield OPEN
        while True:
            try:
                rows = events_after(sessions, user_id, after)
            except SQLAlchemyError as exc:
                # The database is away: end cleanly; the client comes back with Last-Event-ID.
                log.warning(
                    "live events: reading the events of user %s failed: %s", user_id, type(exc).__name__
                )
                break
            if rows:
                yield b"".join(frame(*row) for row in rows)
                after, last_write = rows[-1][0], time.monotonic()
                if len(rows) == BATCH:
                    continue  # a backlog: read on at once
            now = time.monotonic()
            if now >= deadline:
                break
            if now - last_write >= settings.heartbeat:
                yield HEARTBEAT  # also how a gone client is noticed: this write fails
                last_write = now
            # Sleep until the next poll, heartbeat or end, whichever is first; a Redis message cuts it short.
            wakeup.wait(min(settings.poll, deadline - now, last_write + settings.heartbeat - now))
        yield END
    finally:
        wakeup.close()


# end concordance
