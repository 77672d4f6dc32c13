"""The floors' sync database work (sqlite3 or psycopg 3): the connections and each request's SQL."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator

import floor_core as core

_local = threading.local()  # SQLite: one connection per thread (a file: connections are cheap)
# PostgreSQL: a small pool per worker. The bench's servers share one PostgreSQL (max_connections 100 here)
# with each other, so a floor keeps at most POSTGRES_POOL connections per worker process.
_idle: queue.SimpleQueue = queue.SimpleQueue()
_opened = [0]
_opening = threading.Lock()


def _connect() -> object:
    if core.POSTGRES:
        import psycopg

        # Autocommit: a single-statement read needs no transaction; the write opens its own.
        return psycopg.connect(core.DATABASE_URL, autocommit=True)
    import sqlite3

    # isolation_level=None: no implicit BEGIN (autocommit), the write says BEGIN IMMEDIATE itself.
    connection = sqlite3.connect(core.SQLITE_PATH, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA foreign_keys = ON")
    connection.execute(f"PRAGMA busy_timeout = {core.BUSY_TIMEOUT_MS}")
    connection.execute("PRAGMA journal_mode = WAL")
    return connection


@contextlib.contextmanager
def connection() -> Iterator[object]:
    """This thread's SQLite connection, or a pooled PostgreSQL one for the length of the block."""
    if not core.POSTGRES:
        found = getattr(_local, "connection", None)
        if found is None:
            found = _local.connection = _connect()
        yield found
        return
    try:
        found = _idle.get_nowait()
    except queue.Empty:
        with _opening:
            room = _opened[0] < core.POSTGRES_POOL
            _opened[0] += room
        found = _connect() if room else _idle.get()
    try:
        yield found
    finally:
        _idle.put(found)


def read(db: object, task_id: int, digest: str) -> tuple | None:
    return db.execute(core.READ, (task_id, digest, core.now())).fetchone()


def owner(db: object, project_id: int, digest: str) -> tuple | None:
    """(user id, project id or None), or None for an unknown token."""
    return db.execute(core.PAGE_OWNER, (project_id, digest, core.now())).fetchone()


def page(
    db: object, project_id: int, digest: str, limit: int, after: int
) -> tuple[tuple | None, list[tuple]]:
    """(auth row, task rows): two statements, without a transaction (no isolation is needed here)."""
    found = owner(db, project_id, digest)
    if found is None or found[1] is None:
        return found, []
    return found, db.execute(core.PAGE, (project_id, after, limit + 1)).fetchall()


def create(db: object, project_id: int, digest: str, fields: tuple[str, str, str, bool]) -> core.Answer:
    """Auth, ownership, INSERT ... RETURNING and the outbox row, in one transaction."""
    title, notes, priority, done = fields
    db.execute("BEGIN" if core.POSTGRES else "BEGIN IMMEDIATE")
    try:
        stamp = core.now()
        found = db.execute(core.WRITE_OWNER, (project_id, digest, stamp)).fetchone()
        if found is None or found[1] is None:
            db.execute("ROLLBACK")
            return core.refused(found)
        row = db.execute(
            core.INSERT_TASK, (project_id, title, notes, done, priority, stamp, stamp)
        ).fetchone()
        answer, event = core.created(row)
        db.execute(core.INSERT_EVENT, (found[0], event, stamp))
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return answer


def handle(
    method: str, path: str, query: str, authorization: str | None, inm: str | None, body: bytes
) -> core.Answer:
    """One request's answer, the whole work (the WSGI app and the threadpool hop call this)."""
    job = core.plan(method, path, query, authorization, body)
    kind = job[0]
    if kind == "answer":
        return job[1]
    with connection() as db:
        if kind == "read":
            return core.read_answer(read(db, job[1], job[2]), inm)
        if kind == "page":
            found, rows = page(db, job[1], job[2], job[3], job[4])
            return core.page_answer(path, job[3], found, rows)
        if kind == "create":
            return create(db, job[1], job[2], job[3])
        return core.refused(owner(db, job[1], job[2]))
