"""The database layer: schema application, SQLite pragmas, BEGIN IMMEDIATE, readiness."""

import sqlite3

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.orm import Session
from tasks_api import db


def test_schema_applies_twice_with_the_sqlite_rule(configure):
    db.apply_schema()
    db.apply_schema()  # idempotent
    tables = set(inspect(db.get_engine()).get_table_names())
    assert {"users", "tokens", "projects", "tasks", "idempotency_keys", "events", "login_failures"} <= tables
    with db.get_engine().connect() as conn:
        ddl = conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'tasks'")).scalar_one()
    assert "INTEGER PRIMARY KEY AUTOINCREMENT" in ddl and "GENERATED" not in ddl


def test_schema_is_split_on_semicolon_lines():
    sql = (db.get_settings().spec_dir / "schema.sql").read_text()
    statements = db.schema_statements(sql, sqlite=False)
    assert len(statements) == 11  # seven tables (events and login_failures included), four indexes
    assert all("CREATE " in statement and not statement.endswith(";") for statement in statements)


def test_every_sqlite_connection_has_the_pragmas(configure):
    db.apply_schema()
    with db.get_engine().connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000  # DATABASE_TIMEOUT_SECONDS
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def _try_to_write(path: str) -> bool:
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError as exc:
        assert "locked" in str(exc)
        return False
    finally:
        other.close()


def test_write_transactions_begin_immediate_and_reads_do_not(configure, tmp_path):
    db.apply_schema()
    path = str(tmp_path / "test.db")
    with Session(db.get_engine()) as session, db.write_transaction(session):
        session.execute(text("SELECT 1"))
        assert not _try_to_write(path)  # the write lock is taken at BEGIN, before any write
    with Session(db.get_engine(), autobegin=False) as session, db.read_transaction(session):
        session.execute(text("SELECT count(*) FROM users"))
        assert _try_to_write(path)  # a read never holds the write lock


def test_postgres_urls_use_psycopg_3():
    assert db.sqlalchemy_url("postgresql://u@h:5432/d") == "postgresql+psycopg://u@h:5432/d"
    assert db.sqlalchemy_url("sqlite:///x.db") == "sqlite:///x.db"


@pytest.mark.parametrize(
    "url", ["sqlite:////nonexistent-dir/for/sure/tasks.db", "postgresql://postgres@127.0.0.1:1/unreachable"]
)
def test_readyz_is_503_when_the_database_cannot_be_reached(make_client, url):
    client = make_client(apply_schema=False, DATABASE_URL=url)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "https://tasks-api.example/problems/service-unavailable"
    assert client.get("/healthz").status_code == 200  # liveness does not touch the database


def test_readyz_is_200_when_the_database_answers(client):
    assert client.get("/readyz").json() == {"status": "ok", "checks": {"database": "ok"}}
