"""Tag events: GET /events, the caller's changes as Server-Sent Events from the outbox, woken by Redis."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import redis
from flask import Blueprint, Response, current_app, g, request
from sqlalchemy import Row, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from ..db import get_session, session_factory
from ..models import Event
from ..schemas import resume_after
from ..security import login_required
from ..wakeups import REDIS, Wakeup, channel

log = logging.getLogger("tasks_api.events")
bp = Blueprint("events", __name__)

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


# HEAD listed explicitly: Flask would run the whole GET view (start point, stream) for HEAD; see below.
@bp.route("/events", methods=["GET", "HEAD"])
@login_required
def stream_events() -> Response:
    """Stream the current user's changes (Server-Sent Events)"""
    after = resume_after(request.headers, request.args)  # 422 after the 401 of login_required
    if request.method == "HEAD":
        # The stream's headers at once, no body. An empty iterator, not b"": Werkzeug would add
        # Content-Length: 0, which GET (a stream) never sends.
        return Response(iter(()), headers=HEADERS, content_type=CONTENT_TYPE)
    user_id = g.caller.user_id
    if after is None:
        # The start point is fixed before the first byte: every change committed after the client has the
        # headers is in its stream.
        after = latest_event_id(get_session(), user_id)
    # No stream_with_context: it would keep the request and app contexts alive for the whole stream, and
    # with them g.db_session and its pooled connection. The generator gets plain values instead; Flask's
    # teardown closes the request's session as soon as this view has returned the response.
    settings = StreamSettings.from_config(current_app.config, current_app.extensions[REDIS])
    stream = event_stream(session_factory(), user_id, after, settings)
    return Response(stream, headers=HEADERS, content_type=CONTENT_TYPE)


# end concordance
