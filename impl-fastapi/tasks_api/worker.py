"""The gunicorn worker class: uvicorn (uvicorn-worker) with every setting that matters stated explicitly."""

from __future__ import annotations

import asyncio
import http
import sys
import uuid
from typing import Any, ClassVar

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn_worker import UvicornWorker

from tasks_api import clock
from tasks_api.errors import ApiError, problem_body
from tasks_api.wakeups import end_all_streams

# How long a connection closed while the client may still send is read and dropped before it closes; and
# how long an idle connection stays open into a graceful shutdown (gunicorn's gthread lingers 2 s too).
LINGER_SECONDS = 2.0


class StrictH11Connection(h11.Connection):
    """h11, plus the framing rules of RFC 9112 that h11 leaves to the server: Content-Length together
    with Transfer-Encoding (6.1: the request may be smuggled; h11 lets chunked win and keeps the
    connection) and Transfer-Encoding on HTTP/1.0 (6.1: cannot be trusted) are refused, and the
    connection closes. (h11 already refuses a missing or duplicate Host, differing or non-decimal
    Content-Length, and transfer codings other than chunked, the latter with a 501 hint; it reads equal
    Content-Length values as one, which RFC 9110 8.6 allows.)"""

    def next_event(self) -> Any:
        event = super().next_event()
        if isinstance(event, h11.Request):
            names = {name for name, _value in event.headers}  # h11 lower-cases the names
            if b"transfer-encoding" in names and (b"content-length" in names or event.http_version == b"1.0"):
                raise h11.RemoteProtocolError("Transfer-Encoding with Content-Length or on HTTP/1.0.")
        return event


class LingeringTransport:
    """The connection's transport, except that closing it while the client may still be sending (a
    body not read, a request refused) lingers: our side is shut (FIN, after the response), the client's
    bytes are read and dropped for a moment, then the socket closes. A plain close with unread bytes in
    the kernel's buffer sends a reset, which can destroy the response before the client has read it;
    and a dropped byte is never read as a request. Everything else is the transport's own."""

    def __init__(self, transport: asyncio.Transport, protocol: ProblemH11Protocol) -> None:
        self._transport = transport
        self._protocol = protocol
        self.lingering = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)

    def is_closing(self) -> bool:
        return self.lingering or self._transport.is_closing()

    def close(self) -> None:
        conn = self._protocol.conn
        quiet = (
            conn.their_state in (h11.IDLE, h11.DONE, h11.MUST_CLOSE, h11.CLOSED) and not conn.trailing_data[0]
        )
        if self.lingering or self._transport.is_closing() or quiet:
            self._transport.close()
            return
        self.lingering = True
        self._transport.write_eof()
        self._transport.resume_reading()
        self._protocol.loop.call_later(LINGER_SECONDS, self._transport.close)


class ProblemH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol (h11), with what the spec's framing table needs and uvicorn lacks:
    its own 400/501 answers are problem+json with a Date; CL+TE and TE on HTTP/1.0 are refused; a
    client's half-close after a complete request still gets the response; a close never resets a
    response away (LingeringTransport); a shutdown answers what arrives with `Connection: close`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.conn = StrictH11Connection(h11.SERVER, self.config.h11_max_incomplete_event_size or 16 * 1024)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        super().connection_made(LingeringTransport(transport, self))  # type: ignore[arg-type]

    def data_received(self, data: bytes) -> None:
        if self.transport.is_closing():
            return  # lingering: the rest of a refused request, read and dropped, never parsed
        super().data_received(data)

    def eof_received(self) -> bool | None:
        # The client shut its sending half. uvicorn's default closes the transport, and the response of a
        # request it has already received is lost (RFC 9112 9.6: a half-close does not end interest in
        # the response). Keep our half open until that response is sent, then close.
        cycle = self.cycle
        if self.transport.is_closing() or cycle is None or cycle.response_complete:
            return None  # nothing to answer: close
        if self.conn.their_state is h11.DONE:
            cycle.keep_alive = False  # uvicorn closes once the response is complete
            return True
        # The body ended early: the request never ended, so it is no request (the app sees a disconnect
        # and creates nothing). If no answer has started, the answer is 400.
        cycle.disconnected = True
        cycle.message_event.set()
        if not cycle.response_started:
            self._send_problem(400, "The request ended before its body did.")
        return None

    def send_400_response(self, msg: str) -> None:
        # Called by uvicorn while it handles h11's RemoteProtocolError: h11's hint says 400, 431 (head
        # too large) or 501 (a transfer coding it does not implement). 431 has no problem type: 400.
        error = sys.exception()
        status = 501 if getattr(error, "error_status_hint", 400) == 501 else 400
        self._send_problem(status, str(error) if isinstance(error, h11.RemoteProtocolError) else msg)
        self.transport.close()  # lingers: the client may still be sending the rest of its request

    def _send_problem(self, status: int, detail: str) -> None:
        body = problem_body(ApiError("not-implemented" if status == 501 else "bad-request", detail))
        headers = [
            (b"date", clock.http_date().encode()),  # RFC 9110 6.6.1, on the server's own answers too
            (b"content-type", b"application/problem+json"),
            (b"content-length", str(len(body)).encode()),
            (b"x-request-id", str(uuid.uuid4()).encode()),
            (b"connection", b"close"),
        ]
        for event in (
            h11.Response(status_code=status, headers=headers, reason=http.HTTPStatus(status).phrase.encode()),
            h11.Data(data=body),
            h11.EndOfMessage(),
        ):
            self.transport.write(self.conn.send(event))

    def shutdown(self) -> None:
        # uvicorn calls this on every connection when the graceful shutdown begins. A live-event stream
        # would otherwise run until timeout_graceful_shutdown and be cut off mid-response: end them all
        # now, cleanly, so the worker exits at once and clients reconnect (to another replica).
        end_all_streams()
        # Every response from now on says `Connection: close` (h11 adds it once keep-alive is off), and
        # uvicorn closes after it. h11 has no public switch for this; it is what a request's own
        # `Connection: close` sets.
        self.conn._cstate.process_keep_alive_disabled()
        if self.cycle is None or self.cycle.response_complete:
            # An idle kept-alive connection: a request may be on its way already. uvicorn would close at
            # once, and that request would be lost; linger instead, answer it, and close.
            self.loop.call_later(LINGER_SECONDS, self._close_if_idle)
        else:
            self.cycle.keep_alive = False

    def _close_if_idle(self) -> None:
        if (self.cycle is None or self.cycle.response_complete) and self.conn.their_state is h11.IDLE:
            self.transport.close()


class Worker(UvicornWorker):
    """gunicorn supervises the processes; uvicorn parses HTTP and runs the ASGI app in each of them.

    gunicorn's limit_request_* settings apply to its own HTTP parser only, which these workers do
    not use: uvicorn's equivalents are set here.
    """

    # concordance: server-config
    CONFIG_KWARGS: ClassVar[dict[str, Any]] = {
        "loop": "asyncio",  # the standard loop (uvloop is not a dependency)
        "http": ProblemH11Protocol,  # h11, the pure-Python HTTP/1.1 parser (httptools is not a dependency)
        "lifespan": "on",  # run the app's lifespan (threadpool size, pool disposal); fail if it fails
        "access_log": False,  # the app writes its own JSON access line (middleware.py)
        "server_header": False,  # do not advertise the server software
        # uvicorn's Date is a cache refreshed by its main loop about once a second and taken when the
        # request starts: seconds stale after a slow login on a busy machine. The app dates each answer
        # as it sends it (middleware.py), and this protocol its own 400/501.
        "date_header": False,
        "proxy_headers": False,  # no trusted proxy in front by default: X-Forwarded-* are not believed
        # Request line plus headers may not exceed 16 KiB (what gunicorn's limit_request_line and
        # limit_request_field_size bound); a larger head is a 400 from ProblemH11Protocol.
        "h11_max_incomplete_event_size": 16 * 1024,
        # SIGTERM: stop accepting, let in-flight requests finish for at most this long, then exit.
        # Below gunicorn's graceful_timeout, so the worker exits by itself instead of being killed.
        "timeout_graceful_shutdown": 8,
    }
    # end concordance
