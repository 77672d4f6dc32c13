"""The ASGI floor with an async driver end to end: psycopg's AsyncConnection, or aiosqlite on SQLite."""

from __future__ import annotations

import asyncio

import floor_core as core
from floor_asgi import Receive, Send, answer, request_of

# Connections per worker process: as many as a gthread worker's threads on SQLite, fewer on PostgreSQL
# (the bench's servers share one PostgreSQL server: floor_sync.py).
POOL_SIZE = core.POSTGRES_POOL if core.POSTGRES else 8
_pool: asyncio.Queue | None = None
_filling = asyncio.Lock()  # bound to the worker's loop on first use (Python 3.10+)


async def _connect() -> object:
    if core.POSTGRES:
        import psycopg

        return await psycopg.AsyncConnection.connect(core.DATABASE_URL, autocommit=True)
    import aiosqlite

    db = await aiosqlite.connect(core.SQLITE_PATH, isolation_level=None)
    for pragma in ("foreign_keys = ON", f"busy_timeout = {core.BUSY_TIMEOUT_MS}", "journal_mode = WAL"):
        await db.execute(f"PRAGMA {pragma}")
    return db


async def _connection_pool() -> asyncio.Queue:
    global _pool
    if _pool is not None:
        return _pool
    async with _filling:
        if _pool is None:  # made in the worker's event loop on its first request
            pool: asyncio.Queue = asyncio.Queue()
            for _ in range(POOL_SIZE):
                pool.put_nowait(await _connect())
            _pool = pool
    return _pool


async def _one(db: object, sql: str, params: tuple) -> tuple | None:
    cursor = await db.execute(sql, params)
    return await cursor.fetchone()


async def _run(db: object, job: tuple, path: str, inm: str | None) -> core.Answer:
    kind = job[0]
    if kind == "read":
        return core.read_answer(await _one(db, core.READ, (job[1], job[2], core.now())), inm)
    if kind == "refuse":
        return core.refused(await _one(db, core.PAGE_OWNER, (job[1], job[2], core.now())))
    if kind == "page":
        owner = await _one(db, core.PAGE_OWNER, (job[1], job[2], core.now()))
        rows = []
        if owner is not None and owner[1] is not None:
            rows = await (await db.execute(core.PAGE, (job[1], job[4], job[3] + 1))).fetchall()
        return core.page_answer(path, job[3], owner, rows)
    return await _create(db, *job[1:])


async def _create(
    db: object, project_id: int, digest: str, fields: tuple[str, str, str, bool]
) -> core.Answer:
    """Auth, ownership, INSERT ... RETURNING and the outbox row, in one transaction."""
    title, notes, priority, done = fields
    await db.execute("BEGIN" if core.POSTGRES else "BEGIN IMMEDIATE")
    try:
        stamp = core.now()
        found = await _one(db, core.WRITE_OWNER, (project_id, digest, stamp))
        if found is None or found[1] is None:
            await db.execute("ROLLBACK")
            return core.refused(found)
        row = await _one(db, core.INSERT_TASK, (project_id, title, notes, done, priority, stamp, stamp))
        result, event = core.created(row)
        await db.execute(core.INSERT_EVENT, (found[0], event, stamp))
        await db.execute("COMMIT")
    except BaseException:
        await db.execute("ROLLBACK")
        raise
    return result


async def app(scope: dict, receive: Receive, send: Send) -> None:
    """The request's SQL awaited on a pooled connection: no thread hop in this code."""
    if scope["type"] != "http":
        return
    method, path, query, authorization, inm, body = await request_of(scope, receive)
    job = core.plan(method, path, query, authorization, body)
    if job[0] == "answer":
        await answer(send, job[1])
        return
    pool = await _connection_pool()
    db = await pool.get()
    try:
        await answer(send, await _run(db, job, path, inm))
    finally:
        pool.put_nowait(db)
