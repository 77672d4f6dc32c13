"""GET /events (streamEvents): the caller's changes as Server-Sent Events, read from the outbox table."""

import logging
import re
import time
from collections.abc import Iterator

from django.conf import settings
from django.db import Error as DatabaseError
from django.db.models import Max
from django.http import HttpRequest, StreamingHttpResponse

from ..errors import ErrorItem, ValidationFailed
from ..models import Event
from ..security import authenticate
from ..wakeups import Wakeup

log = logging.getLogger("tasks_api.events")

EVENT_ID_RE = re.compile(r"0|[1-9][0-9]{0,15}")  # the spec's EventId: no sign, no leading zeros
EVENT_ID_DETAIL = "must be an event id: 0 or a decimal without sign or leading zeros"
OPEN = b": open\nretry: 1000\n\n"
HEARTBEAT = b": heartbeat\n\n"
END = b": end\nretry: 1000\n\n"
BATCH = 500  # events per read; a longer backlog is read in several


def resume_after(request: HttpRequest) -> int | None:
    """The id to resume after: Last-Event-ID, else ?last_event_id; None without either; 422 if invalid.

    The header wins: an EventSource that reconnects sends it with the URL it first used.
    """
    errors: list[ErrorItem] = []
    header = request.META.get("HTTP_LAST_EVENT_ID")
    if header is not None and not EVENT_ID_RE.fullmatch(header):
        errors.append({"header": "Last-Event-ID", "detail": EVENT_ID_DETAIL})
    queries = request.GET.getlist("last_event_id")
    if len(queries) > 1:
        errors.append({"parameter": "last_event_id", "detail": "must be given at most once"})
    elif queries and not EVENT_ID_RE.fullmatch(queries[0]):
        errors.append({"parameter": "last_event_id", "detail": EVENT_ID_DETAIL})
    if errors:
        raise ValidationFailed(errors)
    given = header if header is not None else (queries[0] if queries else None)
    return int(given) if given is not None else None


def frame(event_id: int, type_: str, data: str) -> bytes:
    """One event, byte for byte as the spec frames it (`data` is compact JSON: no line breaks)."""
    return f"id: {event_id}\nevent: {type_}\ndata: {data}\n\n".encode()


# concordance: event-stream
def event_stream(user_id: int, after: int) -> Iterator[bytes]:
    """The body of one stream: open, the events as they commit, heartbeats, end.

    It holds this gthread worker thread (and its database connection) for its whole life; gunicorn
    notices a client that left when a write fails (at the latest at the next heartbeat) and then closes
    this generator, which runs the finally below.
    """
    poll, beat = settings.EVENTS_POLL_SECONDS, settings.EVENTS_HEARTBEAT_SECONDS
    limit = settings.EVENTS_STREAM_SECONDS
    started = last_write = time.monotonic()
    wakeup = Wakeup(user_id)  # subscribed before the first read: no wake-up can be missed
    try:
        yield OPEN
        while True:
            try:
                rows = list(
                    Event.objects.filter(user_id=user_id, id__gt=after)
                    .order_by("id")
                    .values_list("id", "type", "data")[:BATCH]
                )
            except DatabaseError as exc:
                # The database is away: end cleanly; the client comes back with Last-Event-ID.
                log.warning("live events: reading the events of user %s failed: %s", user_id, exc)
                break
            now = time.monotonic()
            if rows:
                yield b"".join(frame(*row) for row in rows)
                after, last_write = rows[-1][0], now
                if len(rows) == BATCH:
                    continue  # a backlog: read on without waiting
            if now - started >= limit:
                break
            if now - last_write >= beat:
                yield HEARTBEAT
                last_write = now
            wakeup.wait(max(0.0, min(poll, started + limit - now, last_write + beat - now)))
        yield END
    finally:
        wakeup.close()


def stream_events(request: HttpRequest) -> StreamingHttpResponse:
    """Stream the current user's changes (Server-Sent Events)"""
    caller = authenticate(request)
    after = resume_after(request)
    if request.method == "HEAD":
        # The stream's headers at once, never the stream: the route maps HEAD to this GET handler.
        return _stream_response(iter(()))
    if after is None:
        # The start point is fixed before the first byte: every change committed after the client has
        # the headers is in its stream. A user's ids commit in order (outbox.lock_owner).
        after = Event.objects.filter(user_id=caller.user_id).aggregate(last=Max("id"))["last"] or 0
    return _stream_response(event_stream(caller.user_id, after))


# end concordance


def _stream_response(content: Iterator[bytes]) -> StreamingHttpResponse:
    """The stream's response around its body: the media type and the headers that keep it unbuffered."""
    # Exactly text/event-stream (an explicit content_type gets no charset from Django).
    response = StreamingHttpResponse(content, content_type="text/event-stream")
    response["Cache-Control"] = "no-store"
    response["X-Accel-Buffering"] = "no"  # a buffering proxy (nginx) passes each event on at once
    return response
