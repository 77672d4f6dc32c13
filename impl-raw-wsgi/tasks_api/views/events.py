"""Tag events: GET /events by hand, the start point and the Server-Sent Events body the server pulls."""

from __future__ import annotations

import logging
import re
import select
import socket
import time
from collections.abc import Generator
from typing import Any

from sqlalchemy import Row, func
from sqlalchemy import select as sql_select
from sqlalchemy.exc import SQLAlchemyError

from tasks_api.config import Settings
from tasks_api.db import Database
from tasks_api.errors import ErrorItem, require_valid
from tasks_api.http import Request, Response
from tasks_api.models import events
from tasks_api.security import authenticate
from tasks_api.wakeups import Wakeups

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/event-stream"
# no-store: a stream is never cached. X-Accel-Buffering: no: nginx passes each block on at once.
HEADERS = [("Cache-Control", "no-store"), ("X-Accel-Buffering", "no")]
# The framing of spec/README.md, byte for byte. `retry: 1000` asks the client to come back after 1 s.
OPEN = b": open\nretry: 1000\n\n"
HEARTBEAT = b": heartbeat\n\n"
END = b": end\nretry: 1000\n\n"
BATCH = 100  # events per read of the table; a longer backlog is read in several rounds, without waiting
EVENT_ID_RE = re.compile(r"0|[1-9][0-9]{0,15}")  # openapi.yaml's EventId
EVENT_ID_DETAIL = "must be an event id: a decimal integer without sign or leading zeros, at most 16 digits"


def stream_events(request: Request) -> Response:
    """Stream the current user's changes (Server-Sent Events)"""
    # concordance: event-stream
    caller = authenticate(request)
    after, errors = resume_after(request)
    require_valid(errors)
    if after is None:  # fixed now, before the first byte: every later change is in this stream
        after = latest_event_id(request.db, caller.user_id)
    body = event_stream(
        request.db,
        request.wakeups,
        request.settings,
        caller.user_id,
        after,
        request.environ.get("gunicorn.socket"),  # to notice a client that left (None elsewhere)
    )
    return Response.streaming(body, CONTENT_TYPE, HEADERS)
    # end concordance


def resume_after(request: Request) -> tuple[int | None, list[ErrorItem]]:
    """The id to resume after (Last-Event-ID, else last_event_id), None for "from now"; or 422 items.

    Both are validated, so a bad query parameter is reported even when the header wins.
    """
    errors: list[ErrorItem] = []
    header = request.header("Last-Event-ID")
    if header is not None and not EVENT_ID_RE.fullmatch(header):
        errors.append({"header": "Last-Event-ID", "detail": EVENT_ID_DETAIL})
    values = [value for name, value in request.query if name == "last_event_id"]
    if len(values) > 1:
        errors.append({"parameter": "last_event_id", "detail": "must be given at most once"})
    elif values and not EVENT_ID_RE.fullmatch(values[0]):
        errors.append({"parameter": "last_event_id", "detail": EVENT_ID_DETAIL})
    if errors:
        return None, errors
    # The header wins: an EventSource that reconnects sends it with the URL it first used.
    given = header if header is not None else next(iter(values), None)
    return (int(given) if given is not None else None), []


def latest_event_id(database: Database, user_id: int) -> int:
    """The user's largest event id now (0 for none): a stream without Last-Event-ID starts after it.

    The user's own largest id, not the table's: ids are in commit order only per user, so another
    user's larger id may already be visible while one of this user's smaller ids is about to commit.
    """
    with database.read() as connection:
        latest = connection.execute(sql_select(func.max(events.c.id)).where(events.c.user_id == user_id))
        return latest.scalar_one() or 0


# concordance: event-stream
def event_stream(
    database: Database,
    wakeups: Wakeups,
    settings: Settings,
    user_id: int,
    after: int,
    client: socket.socket | None,
) -> Generator[bytes, None, None]:
    """The body of GET /events: yields each block as it is due; the server writes it out at once.

    `after` was fixed before the response started. Between reads of the table the generator waits,
    holding this worker thread but no database connection. The server calls close() when the body
    ends or a write fails (the client left): `finally` then releases the Redis subscription.
    """
    end_at = time.monotonic() + settings.events_stream_seconds
    yield OPEN
    last_write = time.monotonic()
    subscription = wakeups.subscribe(user_id)  # subscribed before the first read: no wake-up is lost
    try:
        while True:
            try:
                rows = events_after(database, user_id, after)
            except SQLAlchemyError as exc:  # the database went away: end, the client comes back later
                log.warning("events stream ends, the database failed: %s", exc.__class__.__name__)
                break
            if rows:
                yield b"".join(frame(row) for row in rows)
                after, last_write = rows[-1].id, time.monotonic()
                if len(rows) == BATCH:
                    continue  # more are waiting: read on before any wait
            now = time.monotonic()
            if now >= end_at:
                break
            if now - last_write >= settings.events_heartbeat_seconds:
                yield HEARTBEAT  # keeps proxies from timing out, and fails once the client has gone
                last_write = now
            if client_left(client):
                return  # no one to send the end to; the server closes the connection
            # Sleep until the next poll, heartbeat or end, whichever comes first; Redis may wake us sooner.
            wake_at = min(now + settings.events_poll_seconds, last_write + settings.events_heartbeat_seconds)
            subscription.wait(min(wake_at, end_at) - time.monotonic())
        yield END
    finally:
        subscription.close()


# end concordance


def events_after(database: Database, user_id: int, after: int) -> list[Row[Any]]:
    """The user's next events after `after`, in id order; a short read transaction, then no connection."""
    with database.read() as connection:
        return list(
            connection.execute(
                sql_select(events.c.id, events.c.type, events.c.data)
                .where(events.c.user_id == user_id, events.c.id > after)
                .order_by(events.c.id)
                .limit(BATCH)
            ).all()
        )


def frame(row: Row[Any]) -> bytes:
    """One event block; `data` is sent exactly as stored (compact JSON has no line break)."""
    return f"id: {row.id}\nevent: {row.type}\ndata: {row.data}\n\n".encode()


def client_left(client: socket.socket | None) -> bool:
    """Whether the client closed its connection (gunicorn hands its socket over in the environ).

    During a stream the client sends nothing, so a readable socket means end of file or a reset:
    peek without consuming. Without the socket (another server), a failing write tells instead.
    """
    if client is None:
        return False
    try:
        readable, _, _ = select.select([client], [], [], 0)
        return bool(readable) and client.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):  # reset by the peer, or already closed (fileno -1)
        return True
