"""The floors: their servers (one per family), their databases (schema and seed rows by SQL), scenarios."""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
from contextlib import closing

from tasks_bench.databases import schema_statements
from tasks_bench.paths import APPS_DIR, ASGI_VENV, BENCH_VENV, WSGI_VENV
from tasks_bench.scenarios import SEED_TASKS, Scenario
from tasks_bench.servers import Variant

STAMP = "2026-01-01T00:00:00Z"
EXPIRES = "2999-01-01T00:00:00Z"

# name -> (server family, venv, gunicorn config or granian interface, app). The FastAPI port's family has
# two floors: one threadpool hop with the sync driver, and an async driver end to end. The async one runs
# from the bench's venv (aiosqlite is in no port's venv), with the FastAPI port's exact gunicorn/uvicorn.
FLOORS = {
    "floor:gunicorn-gthread": (
        "gunicorn-gthread",
        WSGI_VENV,
        "gunicorn_gthread.py",
        "floor_wsgi:application",
    ),
    "floor:gunicorn-uvicorn": ("gunicorn-uvicorn", ASGI_VENV, "gunicorn_uvicorn.py", "floor_asgi:app"),
    "floor:gunicorn-uvicorn-async": (
        "gunicorn-uvicorn",
        BENCH_VENV,
        "gunicorn_uvicorn.py",
        "floor_asgi_async:app",
    ),
    "floor:granian-wsgi": ("granian-wsgi", BENCH_VENV, "wsgi", "floor_wsgi:application"),
    "floor:granian-asgi": ("granian-asgi", BENCH_VENV, "asginl", "floor_asgi_async:app"),
}
# No port runs on granian any more: its floors are context (how far a faster server moves the limit), so
# they are measured on the read only, to keep `make bench` within its time.
ONLY = {"floor:granian-wsgi": ("get_task",), "floor:granian-asgi": ("get_task",)}


def floor_variants(families: set[str], ports: object, urls: dict[str, str], argv_of: object) -> list[Variant]:
    """A floor server for every family in `families`; `urls[name]` is its database's URL."""
    variants = []
    for name, (family, venv, conf, app) in FLOORS.items():
        if family not in families:
            continue
        port = next(ports)
        env = {"PYTHONPATH": str(APPS_DIR), "FLOOR_DATABASE_URL": urls[name]}
        variants.append(
            Variant(
                name, "floor", family, argv_of(family, venv, conf, app, port), APPS_DIR, port, env, "/healthz"
            )
        )
    return variants


def _rows(sql: list[str], execute: object) -> tuple[str, int, int, int]:
    """Apply the schema and insert the seed rows through `execute(sql, params) -> first row or None`."""
    for statement in sql:
        execute(statement, ())
    token = secrets.token_urlsafe(32)  # 43 characters of base64url: the spec's token syntax
    user = execute(
        "INSERT INTO users (email, password_hash, name, created_at) VALUES (?, 'x', 'Bench', ?) RETURNING id",
        ("bench@example.com", STAMP),
    )[0]
    execute(
        "INSERT INTO tokens (user_id, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?) RETURNING id",
        (user, hashlib.sha256(token.encode()).hexdigest(), STAMP, EXPIRES),
    )
    project = "INSERT INTO projects (owner_id, name, created_at, updated_at) VALUES (?, ?, ?, ?) RETURNING id"
    read = execute(project, (user, "read", STAMP, STAMP))[0]
    task = "INSERT INTO tasks (project_id, title, created_at, updated_at) VALUES (?, ?, ?, ?) RETURNING id"
    ids = [execute(task, (read, f"task {i}", STAMP, STAMP))[0] for i in range(SEED_TASKS)]
    write = execute(project, (user, "write", STAMP, STAMP))[0]
    return token, read, ids[SEED_TASKS // 2], write


def seed_database(url: str) -> tuple[str, int, int, int]:
    """Schema and rows in a fresh database: (token, read project id, task id, write project id)."""
    if url.startswith("sqlite:///"):
        with closing(sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)) as conn:
            conn.execute("PRAGMA journal_mode = WAL")  # persistent per file, as the ports set it
            return _rows(schema_statements(True), lambda sql, p: conn.execute(sql, p).fetchone())
    import psycopg

    def execute(sql: str, params: tuple) -> tuple | None:
        cursor = conn.execute(sql.replace("?", "%s"), params)
        return cursor.fetchone() if cursor.description else None  # DDL returns no rows

    with psycopg.connect(url, autocommit=True) as conn:
        return _rows(schema_statements(False), execute)


def scenarios(token: str, read: int, task_id: int, write: int) -> list[Scenario]:
    """The port scenarios a floor has (no healthz): same requests, same seed shape as the ports'."""
    auth = {"Authorization": f"Bearer {token}"}
    return [
        Scenario("get_task", "GET", f"/tasks/{task_id}", auth),
        Scenario(
            "get_task_304", "GET", f"/tasks/{task_id}", {**auth, "If-None-Match": '"1"'}, ok=frozenset({304})
        ),
        Scenario("list_page", "GET", f"/projects/{read}/tasks?limit=20", auth),
        Scenario(
            "create_task",
            "POST",
            f"/projects/{write}/tasks",
            {**auth, "Content-Type": "application/json"},
            json.dumps({"title": "bench", "priority": "high"}),
            ok=frozenset({201}),
        ),
    ]
