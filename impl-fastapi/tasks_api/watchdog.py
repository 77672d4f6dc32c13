"""The database watchdog: a connection held past DATABASE_TIMEOUT_SECONDS has its socket shut from outside."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time

log = logging.getLogger("tasks_api")

# Past the budget, so that the server's own statement_timeout and lock_timeout (a clean error) fire first;
# the watchdog is for a database that answers nothing at all (frozen, or a network dropping packets).
GRACE_SECONDS = 0.5


# concordance: bad-weather
class Watchdog:
    """One thread per process and a dict of deadlines, so the hot path costs a dict insert and a pop.

    Server-side timeouts never fire when the server itself hangs, and a thread blocked in the driver
    cannot be interrupted from Python. Shutting the connection's socket down from this thread makes
    the blocked read fail at once: the driver raises OperationalError (503 for the request), and
    SQLAlchemy discards the connection. The socket is a duplicate of the driver's descriptor, so the
    driver's own descriptor stays valid (and is closed by the driver, never reused under it).
    """

    def __init__(self) -> None:
        self._deadlines: dict[int, tuple[float, int]] = {}  # key -> (deadline, file descriptor)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.cut: set[int] = set()  # keys whose socket was shut: their error is a timeout, not a disconnect
        # A fork (gunicorn forks after the master applied the schema) copies neither the thread nor a
        # lock that another thread held: start afresh in the child.
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._deadlines, self._lock, self._thread, self.cut = {}, threading.Lock(), None, set()

    def arm(self, key: int, fileno: int, budget: float) -> None:
        """Watch the connection `key` (its socket `fileno`) for `budget` seconds from now."""
        with self._lock:
            self._deadlines[key] = (time.monotonic() + budget + GRACE_SECONDS, fileno)
            self.cut.discard(key)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="db-watchdog", daemon=True)
                self._thread.start()

    def disarm(self, key: int) -> bool:
        """Stop watching `key`; True when the watchdog had shut its socket."""
        with self._lock:
            self._deadlines.pop(key, None)
            if key in self.cut:
                self.cut.discard(key)
                return True
            return False

    def _run(self) -> None:
        while True:
            time.sleep(0.1)
            now = time.monotonic()
            with self._lock:  # held while shutting: disarm (before the driver closes the fd) waits for it
                for key, (deadline, fileno) in list(self._deadlines.items()):
                    if deadline <= now:
                        del self._deadlines[key]
                        self.cut.add(key)
                        _shut(fileno)


def _shut(fileno: int) -> None:
    try:
        with socket.socket(fileno=os.dup(fileno)) as duplicate:
            duplicate.shutdown(socket.SHUT_RDWR)
        log.warning("database: a connection waited past DATABASE_TIMEOUT_SECONDS; the watchdog closed it")
    except OSError as exc:  # already closed by its owner meanwhile: nothing to cut
        log.info("database watchdog: nothing to close (%s)", type(exc).__name__)


WATCHDOG = Watchdog()
# end concordance
