"""A per-process watchdog: a database connection that waits past its deadline has its socket shut."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from typing import Any, Protocol

log = logging.getLogger("tasks_api.watchdog")


class HasFileno(Protocol):
    """A DBAPI connection with a socket (psycopg's Connection.fileno())."""

    def fileno(self) -> int: ...


# concordance: bad-weather
class Watchdog:
    """One thread per process and a dict of deadlines, one per thread that waits on the database.

    Server-side timeouts (statement_timeout, lock_timeout) never fire when the database or the network
    stops answering altogether: the waiting thread would sit in recv() for as long as the kernel keeps the
    TCP connection. The watchdog shuts that connection's socket from outside, so the wait ends with an
    error (answered 503) and the pool discards the connection. Arming is a dict write under a lock: no
    thread or timer per statement.
    """

    def __init__(self) -> None:
        self._reset()
        # gunicorn forks workers from a master that may have used the database (the schema): a child
        # starts with fresh locks, no deadlines and no thread, whatever state the fork copied.
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        # thread id -> (deadline on the monotonic clock, the connection that thread waits on)
        self._deadlines: dict[int, tuple[float, HasFileno]] = {}
        self._running = False  # the thread starts at the first arm, in the process that needs it

    def arm(self, connection: HasFileno, seconds: float) -> None:
        """The calling thread is about to wait on connection for at most `seconds`."""
        deadline = time.monotonic() + seconds
        with self._lock:
            if not self._running:
                self._running = True
                threading.Thread(target=self._run, name="database-watchdog", daemon=True).start()
            wake = not self._deadlines or deadline < min(d for d, _ in self._deadlines.values())
            self._deadlines[threading.get_ident()] = (deadline, connection)
            if wake:
                self._changed.notify()

    def disarm(self) -> None:
        """The calling thread's wait is over (answered, failed or never started)."""
        if self._deadlines:  # the hot path without the lock: nothing armed in this process
            with self._lock:
                self._deadlines.pop(threading.get_ident(), None)

    def _run(self) -> None:
        with self._lock:
            while True:
                now = time.monotonic()
                for ident, (deadline, connection) in list(self._deadlines.items()):
                    if deadline <= now:
                        del self._deadlines[ident]
                        shut(connection)  # under the lock: the owner cannot disarm and reuse it meanwhile
                earliest = min((d for d, _ in self._deadlines.values()), default=None)
                self._changed.wait(None if earliest is None else max(earliest - now, 0.01))


def shut(connection: Any) -> None:
    """Shut the connection's socket both ways: the thread blocked on it gets EOF and raises at once."""
    try:
        fd = connection.fileno()  # asked now, not at arm time: a closed connection's number may be reused
        # A duplicate of the descriptor, so that closing our socket object leaves the driver's own intact;
        # shutdown() acts on the connection itself, which both descriptors share.
        with socket.socket(fileno=os.dup(fd)) as sock:
            sock.shutdown(socket.SHUT_RDWR)
        log.warning("database watchdog: a connection waited past its deadline and was shut")
    except Exception as exc:  # already closed: nothing is waiting on it any more
        log.warning("database watchdog: could not shut a connection: %s", type(exc).__name__)


# end concordance

WATCHDOG = Watchdog()
