"""Bad weather: database failures are 503 with Retry-After, every wait is bounded, logs hold no data."""

import logging
import os
import select
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import register
from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError, OperationalError, PendingRollbackError
from tasks_api.db import apply_schema
from tasks_api.errors import database_unavailable
from tasks_api.watchdog import Watchdog

POSTGRES = os.environ.get("TEST_DATABASE_URL", "")


def test_a_locked_sqlite_database_is_503_after_the_busy_timeout(make_app, tmp_path: Path, caplog) -> None:
    app: Flask = make_app(DATABASE_TIMEOUT_SECONDS=0.3)
    client = app.test_client()
    auth = register(client)
    other = sqlite3.connect(tmp_path / "test.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        started = time.monotonic()
        response = client.post("/projects", json={"name": "secret-name"}, headers=auth)
        waited = time.monotonic() - started
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.json["type"].endswith("/service-unavailable")
    assert waited < 2
    logged = [r for r in caplog.records if r.name == app.logger.name]
    assert len(logged) == 1 and logged[0].exc_info is None  # one line, no traceback
    assert "OperationalError" in logged[0].getMessage()
    assert client.post("/projects", json={"name": "p"}, headers=auth).status_code == 201  # recovered


def test_a_read_only_database_is_503(make_app, tmp_path: Path) -> None:
    app: Flask = make_app()
    client = app.test_client()
    auth = register(client)
    app.extensions["tasks_api.engine"].dispose()
    app.config["DATABASE_URL"] = f"sqlite:///file:{tmp_path / 'test.db'}?mode=ro&uri=true"
    read_only: Flask = make_app(DATABASE_URL=app.config["DATABASE_URL"])
    response = read_only.test_client().post("/projects", json={"name": "p"}, headers=auth)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"


def test_database_errors_never_carry_bind_parameters(app: Flask) -> None:
    assert app.extensions["tasks_api.engine"].hide_parameters


def test_readiness_gives_up_after_one_second_and_shares_a_stuck_check(app: Flask, monkeypatch) -> None:
    readiness = app.extensions["tasks_api.readiness"]
    release = threading.Event()
    calls = []

    def hang(future) -> None:
        calls.append(1)
        release.wait(10)
        future.set_result(True)

    monkeypatch.setattr(readiness, "_select_one", hang)
    client = app.test_client()
    try:
        for _ in range(2):
            started = time.monotonic()
            response = client.get("/readyz")
            assert time.monotonic() - started < 1.5
            assert response.status_code == 503
            assert response.headers["Retry-After"] == "1"
        assert len(calls) == 1  # the second probe waited on the same check, no second thread
        assert client.get("/healthz").status_code == 200  # never touches the database
    finally:
        release.set()


def test_the_watchdog_shuts_a_connection_that_waits_past_its_deadline() -> None:
    ours, theirs = socket.socketpair()
    watchdog = Watchdog()
    try:
        watchdog.arm(ours, 0.2)
        started = time.monotonic()
        assert ours.recv(1) == b""  # the "server" never answers: only the shutdown ends this wait
        assert 0.15 < time.monotonic() - started < 1.5
        watchdog.disarm()
        # Disarmed in time: nothing happens.
        other, peer = socket.socketpair()
        watchdog.arm(other, 0.2)
        watchdog.disarm()
        time.sleep(0.4)
        peer.sendall(b"x")
        assert other.recv(1) == b"x"
        other.close()
        peer.close()
    finally:
        ours.close()
        theirs.close()


class FreezingProxy:
    """A TCP proxy in front of the database that can stop forwarding (a frozen server or network)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.frozen = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()

    def _pump(self, client: socket.socket, server: socket.socket) -> None:
        pair = {client: server, server: client}
        try:
            while not self.closed:
                ready, _, _ = select.select(list(pair), [], [], 0.05)
                if self.frozen.is_set():
                    continue  # bytes stay in the kernel buffers: nobody answers
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        return
                    pair[sock].sendall(data)
        except OSError:
            pass
        finally:
            client.close()
            server.close()

    def close(self) -> None:
        self.closed = True
        self.listener.close()


@pytest.fixture
def postgres_app(make_app) -> Iterator[tuple[Flask, FreezingProxy]]:
    if not POSTGRES:
        pytest.skip("TEST_DATABASE_URL is not set")
    admin = create_engine(
        POSTGRES.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    name = f"flask_unit_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    url = admin.url.set(database=name)
    proxy = FreezingProxy((url.host or "127.0.0.1", url.port or 5432))
    try:
        proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        app = make_app(DATABASE_URL=proxied, DATABASE_TIMEOUT_SECONDS=1)
        apply_schema(app.extensions["tasks_api.engine"], app.config["SPEC_DIR"])
        yield app, proxy
        app.extensions["tasks_api.engine"].dispose()
    finally:
        proxy.frozen.clear()
        proxy.close()
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
        admin.dispose()


def test_a_frozen_postgresql_is_503_within_the_budget_and_recovers(postgres_app, caplog) -> None:
    app, proxy = postgres_app
    client = app.test_client()
    auth = register(client)
    assert client.post("/projects", json={"name": "p"}, headers=auth).status_code == 201
    proxy.frozen.set()
    for path in ("/users/me", "/projects"):
        started = time.monotonic()
        if path == "/projects":
            response = client.post(path, json={"name": "secret-name"}, headers=auth)
        else:
            response = client.get(path, headers=auth)
        waited = time.monotonic() - started
        assert response.status_code == 503, path
        assert response.headers["Retry-After"] == "1"
        assert waited < 3, (path, waited)  # the budget (1 s), and a reconnect bounded by connect_timeout
    started = time.monotonic()
    assert client.get("/readyz").status_code == 503
    assert time.monotonic() - started < 1.5
    assert client.get("/healthz").status_code == 200
    proxy.frozen.clear()
    time.sleep(0.2)
    assert client.get("/users/me", headers=auth).status_code == 200  # the next request succeeds
    assert client.get("/readyz").status_code in (200, 503)  # the stuck check may still be finishing
    time.sleep(1.5)
    assert client.get("/readyz").status_code == 200
    text_logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "secret-name" not in text_logged and "ada@example.com" not in text_logged
    assert not any(r.exc_info for r in caplog.records if r.levelno >= logging.ERROR)


def test_an_error_raised_while_handling_a_lost_connection_is_503_too() -> None:
    # A flush whose connection is lost fails its own rollback with PendingRollbackError.
    lost = OperationalError("INSERT ...", {}, ConnectionError("server closed the connection"))
    try:
        try:
            raise lost
        except OperationalError:
            raise PendingRollbackError("Can't reconnect until invalid transaction is rolled back") from None
    except PendingRollbackError as error:
        assert error.__context__ is lost
        assert database_unavailable(error)
    assert not database_unavailable(PendingRollbackError("a bug: nothing failed before"))
    assert not database_unavailable(IntegrityError("INSERT ...", {}, ValueError("duplicate")))
