"""What a black-box suite cannot see: SQLite pragmas and locking, the schema, token expiry, readiness."""

import sqlite3
import time

import pytest
from sqlalchemy import text
from tasks_api.app import create_app
from tasks_api.config import Settings
from tasks_api.db import Database, apply_schema, schema_statements


def test_every_sqlite_connection_has_the_pragmas(database):
    with database.read() as connection:
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 5000
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_write_transactions_take_the_write_lock_at_begin(database, settings):
    path = settings.database_url.removeprefix("sqlite:///")
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    with database.read():
        other.execute("BEGIN IMMEDIATE")  # a reader does not hold the write lock
        other.execute("ROLLBACK")
    with database.write(), pytest.raises(sqlite3.OperationalError, match="locked"):
        other.execute("BEGIN IMMEDIATE")
    other.close()


def test_the_schema_applies_twice_and_follows_the_sqlite_rule(database, settings):
    apply_schema(database, settings.spec_dir)  # idempotent
    statements = schema_statements((settings.spec_dir / "schema.sql").read_text(), "sqlite")
    assert len(statements) == 11  # five tables, the events table, their indexes, login_failures
    assert not any("IDENTITY" in statement for statement in statements)
    with database.read() as connection:
        tables = set(
            connection.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'")).scalars()
        )
    assert {"users", "tokens", "projects", "tasks", "idempotency_keys", "events", "login_failures"} <= tables


def test_a_token_stops_working_when_it_expires(settings, database, make_client):
    from dataclasses import replace

    client = make_client(create_app(replace(settings, token_ttl_seconds=2), database)).login()
    assert client.get("/users/me").status == 200
    time.sleep(3)
    result = client.get("/users/me")
    assert (result.status, result.problem_type) == (401, "invalid-token")
    # Logging in again works, and sweeps the expired token away.
    credentials = {"email": "ada@example.com", "password": "correct horse battery"}
    client.token = client.post("/tokens", credentials).json()["access_token"]
    assert client.get("/users/me").status == 200


@pytest.mark.parametrize(
    "url",
    ["postgresql://postgres@127.0.0.1:1/nowhere", "sqlite:////nonexistent-directory/tasks.db"],
)
def test_readyz_is_503_when_the_database_cannot_be_reached(url, make_client):
    client = make_client(create_app(Settings(database_url=url)))
    result = client.get("/readyz")
    assert (result.status, result.problem_type) == (503, "service-unavailable")
    assert client.get("/healthz").status == 200  # liveness does not touch the database


def test_openapi_is_served_byte_for_byte(client, settings):
    result = client.get("/openapi.yaml")
    assert result.headers["content-type"] == "application/yaml"
    assert result.body == (settings.spec_dir / "openapi.yaml").read_bytes()


def test_postgres_urls_use_psycopg_3():
    assert Database("postgresql://postgres@127.0.0.1:5432/x").engine.dialect.driver == "psycopg"
