"""Bad weather: database failures are 503 with Retry-After, the watchdog cuts a wait, /readyz is bounded."""

import socket
import sqlite3
import threading
import time

import psycopg
import pytest
from django.db import OperationalError, connection, connections
from tasks_api import db, watchdog


def _django_error(cause: Exception) -> OperationalError:
    """A driver error as Django raises it: wrapped, the driver's error as __cause__."""
    try:
        raise OperationalError(str(cause)) from cause
    except OperationalError as exc:
        return exc


def _sqlite_error(code: int, name: str) -> sqlite3.OperationalError:
    error = sqlite3.OperationalError("x")
    error.sqlite_errorcode, error.sqlite_errorname = code, name
    return error


@pytest.mark.parametrize(
    ("cause", "expected"),
    [
        (_sqlite_error(sqlite3.SQLITE_BUSY, "SQLITE_BUSY"), "OperationalError SQLITE_BUSY"),
        (_sqlite_error(517, "SQLITE_BUSY_SNAPSHOT"), "OperationalError SQLITE_BUSY_SNAPSHOT"),
        (_sqlite_error(sqlite3.SQLITE_READONLY, "SQLITE_READONLY"), "OperationalError SQLITE_READONLY"),
        (_sqlite_error(sqlite3.SQLITE_INTERRUPT, "SQLITE_INTERRUPT"), "OperationalError SQLITE_INTERRUPT"),
        (_sqlite_error(sqlite3.SQLITE_ERROR, "SQLITE_ERROR"), None),  # a syntax error is a bug: 500
        (psycopg.errors.ReadOnlySqlTransaction(), "ReadOnlySqlTransaction 25006"),
        (psycopg.errors.QueryCanceled(), "QueryCanceled 57014"),
        (psycopg.errors.LockNotAvailable(), "LockNotAvailable 55P03"),
        (psycopg.errors.AdminShutdown(), "AdminShutdown 57P01"),
        (psycopg.OperationalError("server closed the connection unexpectedly"), "OperationalError"),
        (psycopg.errors.UndefinedTable(), None),
    ],
)
def test_which_database_errors_are_503(cause: Exception, expected: str | None):
    assert db.unavailable(_django_error(cause)) == expected
    assert db.unavailable(ValueError("not a database error")) is None


def test_a_locked_database_is_503_with_retry_after_and_one_line(client, user_token, caplog):
    # Another connection holds the write lock longer than the budget: "database is locked" -> 503.
    other = sqlite3.connect(connection.settings_dict["NAME"], timeout=0, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    saved = connection.settings_dict["OPTIONS"]
    try:
        connection.close()  # the next connection gets a 0.2 s budget
        connection.settings_dict["OPTIONS"] = db.database_settings("sqlite:///x", timeout=0.2)["OPTIONS"]
        started = time.monotonic()
        response = client.post(
            "/projects",
            {"name": "p"},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {user_token}",
        )
        waited = time.monotonic() - started
    finally:
        other.execute("ROLLBACK")
        other.close()
        connection.settings_dict["OPTIONS"] = saved
        connection.close()
    assert response.status_code == 503, response.content
    assert waited < 1.0
    assert response["Retry-After"] == "1"
    assert response.json()["type"].endswith("/service-unavailable")
    lines = [r.getMessage() for r in caplog.records if r.name == "tasks_api.bad_weather"]
    assert lines == ["database unavailable: OperationalError SQLITE_BUSY (POST /projects answered 503)"]
    assert "Traceback" not in caplog.text


def test_the_watchdog_cuts_a_socket_that_waits_too_long():
    # A server that accepts and never answers, like a frozen database.
    server = socket.create_server(("127.0.0.1", 0))
    client_sock = socket.create_connection(server.getsockname())
    peer, _ = server.accept()

    class Raw:
        def fileno(self) -> int:
            return client_sock.fileno()

    started = time.monotonic()
    with watchdog.WATCHDOG.watch(0.3, lambda: watchdog.shut(Raw())):
        data = client_sock.recv(10)  # would block for ever
    assert data == b"" and 0.25 < time.monotonic() - started < 2
    for sock in (client_sock, peer, server):
        sock.close()


def test_the_watchdog_leaves_a_quick_call_alone():
    cut = threading.Event()
    with watchdog.WATCHDOG.watch(0.2, cut.set):
        pass
    time.sleep(0.4)
    assert not cut.is_set()


def test_the_watchdog_interrupts_a_sqlite_statement_that_runs_too_long():
    raw = sqlite3.connect(":memory:", check_same_thread=False)
    slow = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
    started = time.monotonic()
    with (
        pytest.raises(sqlite3.OperationalError, match="interrupted"),
        watchdog.WATCHDOG.watch(0.3, lambda: watchdog.interrupt(raw)),
    ):
        raw.execute(slow).fetchone()
    assert time.monotonic() - started < 2


def test_every_statement_of_the_connection_is_watched():
    wrapper = connections["default"]
    assert isinstance(wrapper, watchdog.WatchedDatabaseWrapper)
    assert wrapper._watch_statement in wrapper.execute_wrappers


def test_readyz_answers_503_within_its_second_while_the_database_hangs(client, monkeypatch):
    release = threading.Event()
    monkeypatch.setattr(db, "ping", lambda: release.wait(5))
    try:
        started = time.monotonic()
        response = client.get("/readyz")
        again = client.get("/readyz")  # shares the probe still in flight: no pile of stuck threads
        assert time.monotonic() - started < 3
    finally:
        release.set()
    assert (response.status_code, response["Retry-After"], again.status_code) == (503, "1", 503)
    assert client.get("/healthz").status_code == 200


def test_postgres_settings_bound_every_wait():
    options = db.database_settings("postgresql://u@h/d", timeout=5)["OPTIONS"]
    assert options["connect_timeout"] == 5
    assert options["options"] == "-c statement_timeout=5000 -c lock_timeout=5000"
    sqlite = db.database_settings("sqlite:///x.db", timeout=2.5)["OPTIONS"]
    assert sqlite["timeout"] == 2.5 and "PRAGMA busy_timeout = 2500" in sqlite["init_command"]


def test_connections_close_cleanly():
    connections.close_all()


def test_a_health_check_the_watchdog_cut_is_503_without_a_second_wait(monkeypatch):
    # The check failed because the database did not answer: reconnecting would wait connect_timeout too.
    wrapper = connections["default"]
    wrapper.ensure_connection()
    monkeypatch.setattr(wrapper, "health_check_enabled", True)
    monkeypatch.setattr(wrapper, "health_check_done", False)

    def cut_check() -> bool:
        wrapper.health_check_cut = True
        return False

    monkeypatch.setattr(wrapper, "is_usable", cut_check)
    with pytest.raises(watchdog.DatabaseTimeout) as raised:
        wrapper.close_if_health_check_failed()
    assert db.unavailable(raised.value) == "DatabaseTimeout"
    assert wrapper.connection is None  # closed: the next request connects afresh
