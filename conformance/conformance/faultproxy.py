"""A TCP fault proxy in a thread: pass, down (reset and refuse) or freeze (hold every byte), switched live."""

from __future__ import annotations

# Why a proxy: the faults layer must make PostgreSQL or Redis fail for ONE server under test, while the
# shared PostgreSQL and Redis keep serving everyone else (they are never stopped or frozen). netem
# (`tc qdisc ... netem loss 100%`) is not in this kernel and needs root; SIGSTOP of a private database
# instance needs one per column. A proxy between the port and its database (or Redis) works the same
# on any machine, as an ordinary user, and can tell its three faults apart exactly.
import asyncio
import contextlib
import enum
import socket
import struct
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

HOST = "127.0.0.1"
# Mode changes wait for the proxy's thread; on loopback that takes microseconds.
CONTROL_TIMEOUT = 5.0
# An upstream that does not accept within this is treated as down (the shared servers answer at once).
CONNECT_TIMEOUT = 5.0

T = TypeVar("T")


class Mode(enum.Enum):
    """What the proxy does with the bytes of its connections."""

    PASS = "pass"  # forward both ways: the port sees its database as usual
    DOWN = "down"  # reset every connection, and reset each new one at once: a stopped server
    FREEZE = "freeze"  # keep every connection open, forward nothing: a SIGSTOPped server, a black hole


class _Link:
    """One client connection, its upstream connection once made, and the task that serves both."""

    def __init__(self, client: asyncio.StreamWriter, task: asyncio.Task[None]) -> None:
        self.client = client
        self.upstream: asyncio.StreamWriter | None = None
        self.task = task

    def reset(self) -> None:
        """Drop both sides with a TCP reset, as a crashed server's kernel does, and stop serving them."""
        for writer in (self.client, self.upstream):
            if writer is not None:
                _reset(writer)
        self.task.cancel()


class FaultProxy:
    """Listens on 127.0.0.1:<free port> and relays every connection to `upstream` as the mode says."""

    def __init__(self, upstream_host: str, upstream_port: int, name: str = "fault-proxy") -> None:
        self.upstream = (upstream_host, upstream_port)
        self.mode = Mode.PASS
        self.connections = 0  # connections accepted, for the experiments' figures
        self._links: set[_Link] = set()
        self._loop = asyncio.new_event_loop()
        # The event loop runs in its own daemon thread so that tests, which block on HTTP calls, can
        # switch faults at any moment; every change is handed to the loop, never done from outside.
        self._thread = threading.Thread(target=self._loop.run_forever, name=name, daemon=True)
        self._thread.start()
        self._flowing = self._call(self._make_event())
        self._server = self._call(asyncio.start_server(self._serve, HOST, 0))
        self.port: int = self._server.sockets[0].getsockname()[1]

    # -- control, from any thread -------------------------------------------------------------------

    def set_mode(self, mode: Mode) -> None:
        """Switch to `mode`; returns once the proxy acts on it (DOWN: every connection already reset)."""
        self._call(self._switch(mode))

    def down(self) -> None:
        """Reset every connection and each new one: what a client sees of a stopped or crashed server."""
        self.set_mode(Mode.DOWN)

    def freeze(self) -> None:
        """Forward nothing either way and keep every connection open: a frozen server or a black hole."""
        self.set_mode(Mode.FREEZE)

    def restore(self) -> None:
        """Forward again; bytes held during a freeze go on, as after SIGCONT."""
        self.set_mode(Mode.PASS)

    def url(self, url: str) -> str:
        """`url` (postgresql://..., redis://...) with its host and port replaced by this proxy's."""
        parts = urlsplit(url)
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = f"{userinfo + '@' if userinfo else ''}{HOST}:{self.port}"
        return urlunsplit(parts._replace(netloc=netloc))

    def close(self) -> None:
        """Reset every connection, stop listening and end the thread."""
        if not self._loop.is_running():
            return
        with contextlib.suppress(Exception):
            self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(CONTROL_TIMEOUT)
        if not self._thread.is_alive():
            self._loop.close()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @classmethod
    def for_url(cls, url: str, name: str = "fault-proxy") -> FaultProxy:
        """A proxy in front of the server that `url` names (default port by scheme)."""
        parts = urlsplit(url)
        default = {"postgresql": 5432, "postgres": 5432, "redis": 6379}.get(parts.scheme, 0)
        return cls(parts.hostname or HOST, parts.port or default, name)

    # -- the loop's side ------------------------------------------------------------------------------

    def _call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(CONTROL_TIMEOUT)

    @staticmethod
    async def _make_event() -> asyncio.Event:
        event = asyncio.Event()  # made inside the loop, which it belongs to
        event.set()
        return event

    async def _switch(self, mode: Mode) -> None:
        self.mode = mode
        if mode is Mode.PASS:
            self._flowing.set()
            return
        self._flowing.clear()
        if mode is Mode.DOWN:
            for link in list(self._links):
                link.reset()

    async def _shutdown(self) -> None:
        self._server.close()
        links = list(self._links)
        for link in links:
            link.reset()
        # Let every cancelled connection finish before the loop stops, so none is left pending.
        await asyncio.gather(*(link.task for link in links), return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        if self.mode is Mode.DOWN:
            _reset(writer)  # accepted by the kernel already: a reset at once is the closest to a refusal
            return
        task = asyncio.current_task()
        assert task is not None
        link = _Link(writer, task)
        self._links.add(link)
        try:
            # Frozen: the connection stays accepted and silent (a stopped server's kernel still completes
            # the handshake), so the client waits for a greeting that comes only after restore().
            await self._flowing.wait()
            upstream_reader, link.upstream = await asyncio.wait_for(
                asyncio.open_connection(*self.upstream), CONNECT_TIMEOUT
            )
            pipes = [
                asyncio.create_task(self._pipe(reader, link.upstream, link)),
                asyncio.create_task(self._pipe(upstream_reader, writer, link)),
            ]
            try:
                await asyncio.wait(pipes)  # until both directions have ended (end of stream or reset)
            finally:
                for pipe in pipes:
                    pipe.cancel()
                await asyncio.gather(*pipes, return_exceptions=True)
        except OSError:  # TimeoutError included: the upstream did not accept in time
            link.reset()
        except asyncio.CancelledError:
            pass  # reset by down() or close(); nothing more to do for this connection
        finally:
            self._links.discard(link)
            for side in (writer, link.upstream):
                if side is not None:
                    side.close()

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, link: _Link) -> None:
        """Copy one direction while the proxy passes; hold what was read when it freezes."""
        try:
            while True:
                await self._flowing.wait()
                data = await source.read(65536)
                if not data:
                    break
                # Read just before a freeze: hold it, a frozen server neither receives nor sends.
                await self._flowing.wait()
                sink.write(data)
                await sink.drain()
        except OSError:
            link.reset()
            return
        # End of stream from one side: pass the half-close on, as a direct connection would.
        with contextlib.suppress(OSError):
            if sink.can_write_eof():
                sink.write_eof()


def _reset(writer: asyncio.StreamWriter) -> None:
    # SO_LINGER with a zero timeout makes close() send a RST instead of a FIN: the peer's next read or
    # write fails at once ("connection reset"), as when the server's process dies.
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
