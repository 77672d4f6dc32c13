"""A fresh, empty database per matrix column: a temporary SQLite file or a new PostgreSQL database."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql


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
    name = f"conformance_{uuid.uuid4().hex[:12]}"
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
