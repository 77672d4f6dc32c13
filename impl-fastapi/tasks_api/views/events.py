"""events: the caller's changes as Server-Sent Events, read from the outbox table (spec "Live events")."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from sqlalchemy import Row, func, select
from sqlalchemy.exc import SQLAlchemyError

from tasks_api.config import Settings, get_settings
from tasks_api.db import new_session, read_transaction
from tasks_api.deps import ResumeAfter, StreamCaller
from tasks_api.models import Event
from tasks_api.wakeups import Wakeups

router = APIRouter(tags=["events"])
log = logging.getLogger("tasks_api")

BATCH = 500  # events per read; a longer backlog is read in several
OPEN = b": open\nretry: 1000\n\n"
HEARTBEAT = b": heartbeat\n\n"
END = b": end\nretry: 1000\n\n"
# text/event-stream exactly: Starlette would add "; charset=utf-8" to a text/* media type by itself.
HEADERS = {"Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no"}


def latest_event_id(user_id: int) -> int:
    """The user's largest event id now (0 when none): a fresh stream starts after it. Blocking: threadpool."""
    with new_session() as db, read_transaction(db):
        return db.scalar(select(func.coalesce(func.max(Event.id), 0)).where(Event.user_id == user_id)) or 0


def events_after(user_id: int, after: int) -> Sequence[Row[tuple[int, str, str]]]:
    """The user's next events after an id, in id order. Blocking: called in the threadpool."""
    with new_session() as db, read_transaction(db):
        return db.execute(
            select(Event.id, Event.type, Event.data)
            .where(Event.user_id == user_id, Event.id > after)
            .order_by(Event.id)
            .limit(BATCH)
        ).all()


def frame(event_id: int, type_: str, data: str) -> bytes:
    """One event, byte for byte as the spec frames it; `data` is compact JSON (no line breaks)."""
    return f"id: {event_id}\nevent: {type_}\ndata: {data}\n\n".encode()


# concordance: event-stream
async def event_stream(
    user_id: int, after: int, wakeups: Wakeups, settings: Settings
) -> AsyncIterator[bytes]:
    """The body of one stream: a coroutine, not a thread. It holds a threadpool thread (and a pooled
    connection) only while it reads the table; in between it waits on an asyncio.Event that a Redis
    message sets, or just times out at the next poll. Starlette cancels it when the client leaves
    (it listens for http.disconnect beside the stream), which ends the wait at once; a server that shuts
    down ends it with `: end` (wakeups.end_all_streams)."""
    loop = asyncio.get_running_loop()
    started = last_write = loop.time()
    yield OPEN
    with wakeups.waiter(user_id) as woken:  # registered before the first read: no wake-up is missed
        while True:
            woken.clear()  # before the read: a message that arrives during it wakes the next wait
            try:
                rows = await run_in_threadpool(events_after, user_id, after)
            except SQLAlchemyError as exc:
                # The database is away: end cleanly; the client comes back with Last-Event-ID.
                log.warning("live events: reading the events of user %s failed: %s", user_id, exc)
                break
            if rows:
                yield b"".join(frame(*row) for row in rows)
                after, last_write = rows[-1][0], loop.time()
                if len(rows) == BATCH:
                    continue  # a backlog: read on without waiting
            now = loop.time()
            if now - started >= settings.events_stream_seconds or wakeups.closing:
                break
            if now - last_write >= settings.events_heartbeat_seconds:
                yield HEARTBEAT
                last_write = now
            timeout = min(
                settings.events_poll_seconds,
                started + settings.events_stream_seconds - now,
                last_write + settings.events_heartbeat_seconds - now,
            )
            try:
                async with asyncio.timeout(max(timeout, 0)):
                    await woken.wait()  # Redis says there is something new; else the poll interval
            except TimeoutError:
                pass
    yield END


# end concordance


# concordance: event-stream
@router.api_route("/events", methods=["GET", "HEAD"])
async def stream_events(request: Request, caller: StreamCaller, after: ResumeAfter) -> Response:
    """Stream the current user's changes (Server-Sent Events)"""
    if request.method == "HEAD":
        # The stream's headers at once, and never the stream itself. A StreamingResponse of nothing, so
        # that no Content-Length is sent (GET sends none either).
        return StreamingResponse(_nothing(), headers=HEADERS)
    if after is None:
        # The start point is fixed before the first byte: every change committed after the client
        # has the headers is in its stream.
        after = await run_in_threadpool(latest_event_id, caller.user_id)
    stream = event_stream(caller.user_id, after, request.app.state.wakeups, get_settings())
    return StreamingResponse(stream, headers=HEADERS)


# end concordance


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield  # an async generator that yields nothing
