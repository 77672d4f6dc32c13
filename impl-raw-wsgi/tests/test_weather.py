"""Bad weather in-process: database failures are 503, every wait is bounded, framing, Redis comes back."""

import dataclasses
import logging
import socket
import sqlite3
import threading
import time

import psycopg
import pytest
import redis
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from tasks_api.app import create_app
from tasks_api.config import Settings
from tasks_api.db import Database
from tasks_api.models import projects
from tasks_api.wakeups import Subscription


def unavailable_reason(error):
    from tasks_api.db import unavailable_reason  # late imports: the module also runs against older code

    return unavailable_reason(error)


def problem(result):
    return result.status, result.problem_type


def test_a_locked_sqlite_database_is_503_after_the_budget_and_nothing_changes(
    settings, database, make_client, caplog
):
    fast = dataclasses.replace(settings, database_timeout_seconds=0.3)
    fast_db = Database(fast.database_url, 0.3)
    user = make_client(create_app(fast, fast_db)).login()
    other = sqlite3.connect(settings.database_url.removeprefix("sqlite:///"), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    started = time.monotonic()
    with caplog.at_level(logging.WARNING):
        result = user.post("/projects", {"name": "p"})
    other.execute("ROLLBACK")
    other.close()
    assert problem(result) == (503, "service-unavailable") and result.headers["retry-after"] == "1"
    assert time.monotonic() - started < 2
    assert "SQLITE_BUSY" in caplog.text and "Traceback" not in caplog.text
    with database.read() as connection:
        assert connection.execute(select(projects.c.id)).all() == []
    assert user.post("/projects", {"name": "p"}).status == 201  # the lock is gone: served again
    fast_db.dispose()


def test_a_read_only_database_is_503_for_writes_and_200_for_reads(settings, database, make_client, tmp_path):
    user = make_client(create_app(settings, database)).login()
    path = settings.database_url.removeprefix("sqlite:///")
    read_only = Database(f"sqlite:///file:{path}?mode=ro&uri=true")
    client = make_client(create_app(settings, read_only))
    client.token = user.token
    assert client.get("/projects").status == 200
    assert problem(client.post("/projects", {"name": "p"})) == (503, "service-unavailable")
    read_only.dispose()


def _wrapped(orig):
    return OperationalError("SELECT 1", {}, orig)


@pytest.mark.parametrize(
    ("error", "unavailable"),
    [
        (_wrapped(psycopg.errors.QueryCanceled("canceling statement due to statement timeout")), True),
        (_wrapped(psycopg.errors.LockNotAvailable("lock timeout")), True),
        (_wrapped(psycopg.errors.AdminShutdown("terminating connection")), True),
        (_wrapped(psycopg.errors.ReadOnlySqlTransaction("read-only transaction")), True),
        (_wrapped(psycopg.OperationalError("connection refused")), True),  # no SQLSTATE: no server
        (_wrapped(psycopg.errors.UndefinedTable("no such table")), False),  # a bug
        (IntegrityError("INSERT", {}, psycopg.errors.UniqueViolation("duplicate")), False),
        (_wrapped(sqlite3.OperationalError("no such table: x")), False),  # a bug, on SQLite too
        (ValueError("not a database error"), False),
    ],
)
def test_which_database_errors_are_bad_weather(error, unavailable):
    assert (unavailable_reason(error) is not None) is unavailable


def test_no_bind_parameter_reaches_an_error_text(database):
    with pytest.raises(IntegrityError) as raised, database.write() as connection:
        statement = "INSERT INTO users (email, password_hash, name, created_at) VALUES (:e, :h, :n, :c)"
        values = {"e": "secret@example.com", "h": "$argon2id$secret", "n": "n", "c": "now"}
        connection.execute(text(statement), values)
        connection.execute(text(statement), values)
    assert "secret" not in str(raised.value)


def test_readyz_gives_up_after_a_second_and_runs_one_check_at_a_time(settings, database, make_client):
    release = threading.Event()
    calls = []

    def hanging_ping():
        calls.append(1)
        release.wait(10)

    database.ping = hanging_ping
    client = make_client(create_app(settings, database))
    for _ in range(2):
        started = time.monotonic()
        result = client.get("/readyz")
        assert problem(result) == (503, "service-unavailable") and result.headers["retry-after"] == "1"
        assert 0.9 <= time.monotonic() - started < 1.5
    assert len(calls) == 1  # the second probe waited on the check still running, not a new thread
    assert client.get("/healthz").status == 200  # liveness never touches the database
    release.set()
    time.sleep(0.1)
    del database.ping
    assert client.get("/readyz").status == 200


def test_the_watchdog_shuts_a_connection_held_past_its_deadline():
    from tasks_api.watchdog import Watchdog

    watchdog = Watchdog(0.2)
    held, peer = socket.socketpair()
    spared, spared_peer = socket.socketpair()
    with held, peer, spared, spared_peer:
        watchdog.watch(1, held.fileno())
        watchdog.watch(2, spared.fileno())
        watchdog.release(2)  # back in the pool in time
        held.settimeout(3)
        started = time.monotonic()
        assert held.recv(1) == b""  # the waiting "driver" call ends: the socket was shut down
        assert 0.15 <= time.monotonic() - started < 1.0
        spared_peer.sendall(b"x")
        spared.settimeout(1)
        assert spared.recv(1) == b"x"  # the released connection is untouched


def test_a_postgres_statement_is_bounded_by_the_server_and_answered_503():
    # Needs the local PostgreSQL of the matrix; skipped elsewhere.
    url = "postgresql://postgres@127.0.0.1:5432/postgres"
    try:
        psycopg.connect(url, connect_timeout=2).close()
    except psycopg.Error:
        pytest.skip("no PostgreSQL at 127.0.0.1:5432")
    database = Database(url, timeout_seconds=0.5)
    started = time.monotonic()
    with pytest.raises(OperationalError) as raised, database.read() as connection:
        connection.execute(text("SELECT pg_sleep(3)"))
    assert time.monotonic() - started < 1.5
    assert "57014" in unavailable_reason(raised.value)
    database.ping()  # the pool goes on
    database.dispose()


def test_an_unreachable_postgres_is_503_within_the_budget(make_client):
    settings = Settings(database_url="postgresql://postgres@127.0.0.1:1/nowhere", database_timeout_seconds=2)
    client = make_client(create_app(settings))
    result = client.post("/tokens", {"email": "a@example.com", "password": "12345678"})
    assert problem(result) == (503, "service-unavailable") and result.headers["retry-after"] == "1"


# --- HTTP/1.1 framing left to the application ---------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "environ", "status"),
    [
        ({}, {"HTTP_HOST": ""}, 400),  # granian passes a missing Host on as an empty one
        ({"Host": "a.example, b.example"}, {}, 400),  # two Host fields, joined
        ({"Host": "a b"}, {}, 400),
        ({"Host": "example.com:80:80"}, {}, 400),
        ({"Host": "[::1]:8000"}, {}, 200),
        ({"Host": "127.0.0.1:8000"}, {}, 200),
        ({}, {"HTTP_HOST": "", "SERVER_PROTOCOL": "HTTP/1.0"}, 200),  # HTTP/1.0 had no Host
    ],
)
def test_host_is_checked(client, headers, environ, status):
    assert client.get("/healthz", headers=headers, environ=environ).status == status


def test_a_transfer_coding_other_than_chunked_is_501_and_closes(client):
    environ = {"HTTP_TRANSFER_ENCODING": "gzip, chunked"}
    result = client.request(
        "POST", "/users", body=b"", headers={"Content-Type": "application/json"}, environ=environ
    )
    assert problem(result) == (501, "not-implemented")


def test_an_error_before_the_body_is_read_closes_the_connection():
    from tasks_api import framing
    from tasks_api.http import CLOSE_KEY

    def environ(**extra):
        return {"CONTENT_LENGTH": "2000000", **extra}

    assert framing.must_close(environ(), 413) is True
    assert framing.must_close(environ(**{"tasks_api.body_read": True}), 422) is False
    assert framing.must_close({"CONTENT_LENGTH": "0"}, 404) is False
    assert framing.must_close(environ(), 200) is False  # a GET's ignored body: the server skips it
    marked = environ()
    framing.must_close(marked, 401)
    assert marked[CLOSE_KEY] is True


def test_an_expect_continue_request_gets_its_415_without_sending_the_body(client):
    class NeverSent:
        def read(self, *_):
            raise AssertionError("the body was read")

        readline = readlines = __iter__ = read

    result = client.request(
        "POST",
        "/users",
        headers={"Content-Type": "text/plain", "Content-Length": "100", "Expect": "100-continue"},
        environ={"wsgi.input": NeverSent()},
    )
    assert problem(result) == (415, "unsupported-media-type")


# --- Redis comes back -------------------------------------------------------------------------------


class FlakyRedis:
    """A client whose subscriptions fail until `up` is set."""

    def __init__(self):
        self.up = False
        self.subscribed = 0

    def pubsub(self):
        client = self

        class PubSub:
            def subscribe(self, name):
                if not client.up:
                    raise redis.ConnectionError("down")
                client.subscribed += 1

            def get_message(self, timeout=0.0):
                time.sleep(timeout)

            def close(self):
                pass

        return PubSub()


def test_a_stream_subscribes_again_once_redis_is_back():
    flaky = FlakyRedis()
    subscription = Subscription(flaky, "tasks-api:events:1")
    assert subscription.pubsub is None  # Redis is down: the stream polls
    assert subscription.wait(0.01) is False and flaky.subscribed == 0
    flaky.up = True
    subscription.wait(0.01)  # the next poll tries again
    assert subscription.pubsub is not None and flaky.subscribed == 1
    subscription.close()
