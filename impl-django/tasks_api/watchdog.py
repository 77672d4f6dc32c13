"""The database watchdog: a call still waiting on the database after its budget has its connection cut."""

import functools
import itertools
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import OperationalError

log = logging.getLogger("tasks_api.bad_weather")

# How often the thread looks at the deadlines: a cut comes at most this late.
TICK_SECONDS = 0.1
# The database's own timeouts (statement_timeout, lock_timeout, busy_timeout) fire at the budget with a
# clean error; the watchdog is for a database that does not answer at all, so it gives them a head start.
# A quarter second: a thread held by a frozen database is freed soon after the budget, since requests
# queued behind it for a free thread wait that long too.
GRACE_SECONDS = 0.25


# concordance: bad-weather
class Watchdog:
    """One thread per process and a dict of deadlines: arming and disarming cost a lock and a dict write.

    Server-side timeouts never fire when the database is frozen or the network drops packets: the
    waiting thread would sit in recv() until the kernel gives up (minutes). The watchdog cuts the
    connection from outside instead, so the waiting call fails at once (503) and the connection is
    discarded. No Timer or thread per statement: the hot path stays cheap.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._deadlines: dict[int, tuple[float, Callable[[], None]]] = {}
        self._ids = itertools.count()
        self._started = False
        # A thread does not survive fork (gunicorn forks its workers from the master): start anew.
        os.register_at_fork(after_in_child=self._after_fork)

    def _after_fork(self) -> None:
        self._lock = threading.Lock()
        self._deadlines = {}
        self._started = False

    @contextmanager
    def watch(self, seconds: float, cut: Callable[[], None]) -> Iterator[None]:
        """Run the block; if it is still running after `seconds`, call `cut` from the watchdog thread."""
        token = next(self._ids)
        with self._lock:
            if not self._started:
                self._started = True
                threading.Thread(target=self._run, name="database-watchdog", daemon=True).start()
            self._deadlines[token] = (time.monotonic() + seconds, cut)
        try:
            yield
        finally:
            with self._lock:
                self._deadlines.pop(token, None)

    def _run(self) -> None:
        while True:
            time.sleep(TICK_SECONDS)
            now = time.monotonic()
            with self._lock:
                expired = [token for token, (deadline, _) in self._deadlines.items() if deadline <= now]
                cuts = [self._deadlines.pop(token)[1] for token in expired]
            for cut in cuts:
                try:
                    cut()
                    log.warning("database watchdog: cut a connection that waited over its budget")
                except Exception as exc:  # the connection went away by itself meanwhile
                    log.warning("database watchdog: cutting a connection failed: %s", type(exc).__name__)


WATCHDOG = Watchdog()


class DatabaseTimeout(OperationalError):
    """The database did not answer a health check within the budget: the request is answered 503."""


def shut(raw_connection: Any) -> None:
    """Cut a psycopg connection: shut its socket down, so the thread blocked on it gets an error now."""
    # A dup of the descriptor: shutdown() acts on the shared socket, close() only on our copy.
    with socket.socket(fileno=os.dup(raw_connection.fileno())) as sock:
        sock.shutdown(socket.SHUT_RDWR)


def interrupt(raw_connection: Any) -> None:
    """Cut a sqlite3 connection: interrupt() is the thread-safe way to abort its running statement."""
    raw_connection.interrupt()


class WatchedDatabaseWrapper:
    """Mixin for a Django DatabaseWrapper: each statement, COMMIT, ROLLBACK and health check is watched."""

    # The backend's way to cut its raw connection from another thread.
    cut_connection: Callable[[Any], None]
    connection: Any
    execute_wrappers: list[Callable[..., Any]]
    health_check_cut = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The hook connection.execute_wrapper() installs around a block, here for the wrapper's whole life
        # (every thread's connection, every request, stream and on_commit callback).
        self.execute_wrappers.append(self._watch_statement)

    @contextmanager
    def watched(self) -> Iterator[threading.Event]:
        """Watch the block; the event it yields is set if the watchdog had to cut the connection."""
        cut = threading.Event()
        if self.connection is None:  # nothing to wait on yet (connecting is bounded by connect_timeout)
            yield cut
            return
        budget = settings.DATABASE_TIMEOUT_SECONDS + GRACE_SECONDS
        cut_connection = functools.partial(type(self).cut_connection, self.connection)

        def cut_and_tell() -> None:
            cut.set()
            cut_connection()

        with WATCHDOG.watch(budget, cut_and_tell):
            yield cut

    def _watch_statement(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        with self.watched():
            return execute(sql, params, many, context)

    # COMMIT, ROLLBACK and CONN_HEALTH_CHECKS' "SELECT 1" go to the driver directly, not through a cursor.
    def _commit(self) -> Any:
        with self.watched():
            return super()._commit()  # type: ignore[misc]

    def _rollback(self) -> Any:
        with self.watched():
            return super()._rollback()  # type: ignore[misc]

    def is_usable(self) -> bool:
        with self.watched() as cut:
            usable = super().is_usable()  # type: ignore[misc]
        self.health_check_cut = cut.is_set()
        return usable

    def close_if_health_check_failed(self) -> None:
        """Django's health-check close, but 503 at once when the check was cut for not answering.

        Django closes a connection that fails its health check and connects again at once. When the
        check failed because the database did not answer, connecting would wait a second budget
        (connect_timeout) in the same request: answer 503 now instead.
        """
        self.health_check_cut = False
        super().close_if_health_check_failed()  # type: ignore[misc]
        if self.health_check_cut:
            raise DatabaseTimeout("the database did not answer its health check within the budget")


# end concordance
