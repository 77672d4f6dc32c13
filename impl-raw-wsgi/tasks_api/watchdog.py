"""The database watchdog: one thread per process shuts the socket of a connection held past its deadline."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time

log = logging.getLogger(__name__)


# concordance: bad-weather
class Watchdog:
    """Deadlines of the connections checked out of the pool, and one thread that enforces them.

    A database that stops answering (a frozen server, a network that drops packets) never fires
    statement_timeout, which runs on the server, and TCP keeps the connection open: the thread that
    waits would wait forever, and with it every thread behind it. So each checkout gets a deadline,
    and when it passes this thread shuts the connection's socket down from outside: the waiting
    driver call fails at once (an OperationalError, answered 503), and the pool discards the
    connection. The hot path is one dict insert and one delete under a lock; no thread or timer per
    statement.
    """

    def __init__(self, budget_seconds: float) -> None:
        self.budget_seconds = budget_seconds
        self._reset()
        # A worker forked from a process that had started the thread has neither the thread nor a
        # usable lock: start afresh in the child.
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._deadlines: dict[int, tuple[float, int]] = {}  # id(pool record) -> (deadline, socket fd)
        self._thread: threading.Thread | None = None

    def watch(self, key: int, fd: int) -> None:
        """Start the clock of a checked-out connection (`fd` is its socket), keyed by its pool record."""
        with self._lock:
            self._deadlines[key] = (time.monotonic() + self.budget_seconds, fd)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="db-watchdog", daemon=True)
                self._thread.start()

    def release(self, key: int) -> None:
        """The connection went back to the pool (or was discarded) in time: nothing to do for it."""
        with self._lock:
            self._deadlines.pop(key, None)

    def _run(self) -> None:
        while True:
            now = time.monotonic()
            with self._lock:
                overdue = [key for key, (deadline, _fd) in self._deadlines.items() if deadline <= now]
                for key in overdue:
                    # Under the lock: a connection released a moment ago (and maybe checked out again
                    # by another request) is never shut by mistake.
                    _deadline, fd = self._deadlines.pop(key)
                    _shut(fd)
                upcoming = min((deadline for deadline, _fd in self._deadlines.values()), default=None)
            if overdue:
                log.warning(
                    "database watchdog: closed %d connection(s) held over %.1f s",
                    len(overdue),
                    self.budget_seconds,
                )
            # Every new deadline is now + budget, never earlier than those known: sleeping until the
            # earliest known one, or one budget when there is none, is never late.
            time.sleep(max(0.05, (upcoming - now) if upcoming is not None else self.budget_seconds))


def _shut(fd: int) -> None:
    # A duplicate of the driver's descriptor: shutdown() acts on the connection they share, and closing
    # the duplicate leaves the driver's own descriptor for the driver to close.
    try:
        with socket.socket(fileno=os.dup(fd)) as duplicate:
            duplicate.shutdown(socket.SHUT_RDWR)
    except OSError:  # already closed by its owner: nothing left to stop
        pass


# end concordance
