"""A fresh database per matrix column (a temporary SQLite file or a new PostgreSQL one), and checks on it."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from conformance.interrupt import database_prefix


class DatabaseError(Exception):
    """The database for a column could not be made."""


@contextmanager
def sqlite_database() -> Iterator[str]:
    """A DATABASE_URL for a new SQLite file, removed (with its WAL files) afterwards."""
    directory = Path(tempfile.mkdtemp(prefix="conformance-"))
    try:
        # Four slashes: an absolute path, whatever the server's working directory.
        yield f"sqlite:///{directory / 'tasks.db'}"
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@contextmanager
def postgres_database(server_url: str) -> Iterator[str]:
    """A DATABASE_URL for a new database on the server of `server_url`, dropped afterwards even on failure."""
    # The run's marker in the name: if the run is killed before its clean-up, its sweep still finds it.
    name = f"{database_prefix()}{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error as exc:
        raise DatabaseError(f"cannot create database {name} via {server_url}: {exc}") from exc
    parts = urlsplit(server_url)
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            # FORCE: a server that did not shut down cleanly may still hold connections.
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def stored_ids(database_url: str, table: str, ids: list[int]) -> set[int]:
    """Which of `ids` exist in `table` (projects, tasks), read behind the server's back.

    For checks after a server has stopped: the spec's schema is part of the contract.
    """
    if not ids:
        return set()
    if database_url.startswith("sqlite:///"):
        path = database_url.removeprefix("sqlite:///")
        with contextlib.closing(sqlite3.connect(path, timeout=10)) as connection:
            marks = ",".join("?" * len(ids))
            rows = connection.execute(f"SELECT id FROM {table} WHERE id IN ({marks})", ids).fetchall()
        return {row[0] for row in rows}
    with psycopg.connect(database_url, autocommit=True, connect_timeout=10) as connection:
        query = sql.SQL("SELECT id FROM {} WHERE id = ANY(%s)").format(sql.Identifier(table))
        return {row[0] for row in connection.execute(query, (ids,)).fetchall()}


def set_read_only(admin_url: str, database_url: str, read_only: bool) -> int:
    """Make new sessions of `database_url`'s database read-only (or not), and end its current sessions.

    A session keeps the default it started with, so the ports' pooled connections are terminated: they
    reconnect into the new default. Returns how many sessions were ended.
    """
    name = urlsplit(database_url).path.lstrip("/")
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as admin:
        # This session may be one of that database's own (--database-url: no admin database), opened
        # while it is read-only: the switch back must still be writable.
        admin.execute("SET default_transaction_read_only = off")
        if read_only:
            statement = "ALTER DATABASE {} SET default_transaction_read_only = on"
        else:
            statement = "ALTER DATABASE {} RESET default_transaction_read_only"
        admin.execute(sql.SQL(statement).format(sql.Identifier(name)))
        ended = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        ).fetchone()
    return int(ended[0]) if ended else 0
