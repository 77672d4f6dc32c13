"""The gunicorn worker class: uvicorn (uvicorn-worker) with every setting that matters stated explicitly."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn_worker import UvicornWorker

from tasks_api.errors import Problem, problem_body
from tasks_api.wakeups import end_all_streams


class ProblemH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol, except that a request it cannot parse (bad request line, head
    over the size limit) is refused with problem+json instead of text/plain: every error of the
    API has the one shape, even those the server makes before the app sees a request."""

    refused = False

    def shutdown(self) -> None:
        # uvicorn calls this on every connection when the graceful shutdown begins. A live-event stream
        # would otherwise run until timeout_graceful_shutdown and be cut off mid-response: end them all
        # now, cleanly, so the worker exits at once and clients reconnect (to another replica).
        end_all_streams()
        super().shutdown()

    def data_received(self, data: bytes) -> None:
        if self.refused:
            return  # the rest of a refused request: read and dropped (see send_400_response)
        super().data_received(data)

    def send_400_response(self, msg: str) -> None:
        body = problem_body(Problem("bad-request", msg))
        headers = [
            (b"content-type", b"application/problem+json"),
            (b"content-length", str(len(body)).encode()),
            (b"x-request-id", str(uuid.uuid4()).encode()),
            (b"connection", b"close"),
        ]
        for event in (
            h11.Response(status_code=400, headers=headers, reason=b"Bad Request"),
            h11.Data(data=body),
        ):
            self.transport.write(self.conn.send(event))
        self.transport.write(self.conn.send(h11.EndOfMessage()))
        # A lingering close: closing while the client is still sending (a huge head) makes the kernel
        # reset the connection, and a reset can destroy the 400 before the client has read it. So end
        # our side, keep reading (and dropping) for a moment, then close.
        self.refused = True
        self.transport.write_eof()
        self.loop.call_later(2.0, self.transport.close)


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
        "proxy_headers": False,  # no trusted proxy in front by default: X-Forwarded-* are not believed
        # Request line plus headers may not exceed 16 KiB (what gunicorn's limit_request_line and
        # limit_request_field_size bound); a larger head is a 400 from ProblemH11Protocol.
        "h11_max_incomplete_event_size": 16 * 1024,
        # SIGTERM: stop accepting, let in-flight requests finish for at most this long, then exit.
        # Below gunicorn's graceful_timeout, so the worker exits by itself instead of being killed.
        "timeout_graceful_shutdown": 8,
    }
    # end concordance
