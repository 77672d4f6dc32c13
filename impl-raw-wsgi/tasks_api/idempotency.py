"""Idempotency-Key: claim the key in its own transaction, then replay, refuse, or create and store."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Row, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from tasks_api.db import Database
from tasks_api.errors import ErrorItem, HTTPError
from tasks_api.http import Request, Response
from tasks_api.models import idempotency_keys, now

HEADER = "Idempotency-Key"
RETENTION_SECONDS = 24 * 3600
_KEY = re.compile(r"[\x21-\x7e]{1,255}")

Create = Callable[[Connection], Response]  # performs the create inside the given transaction


def read_key(request: Request, errors: list[ErrorItem]) -> str | None:
    """The key, None when absent, or a 422 item: 1 to 255 visible ASCII characters."""
    key = request.header(HEADER)
    if key is not None and not _KEY.fullmatch(key):
        errors.append({"header": HEADER, "detail": "must be 1 to 255 visible ASCII characters"})
        return None
    return key


def fingerprint(path: str, body: bytes) -> str:
    """SHA-256 of `POST <path>\\n<body>`: the same key with another request is refused, not replayed."""
    return hashlib.sha256(b"POST " + path.encode("utf-8") + b"\n" + body).hexdigest()


# concordance: idempotency
def create_once(
    database: Database, user_id: int, key: str | None, request_fingerprint: str, create: Create
) -> Response:
    """Run `create` at most once per (user, key), replaying its stored response to every retry."""
    if key is None:
        with database.write() as connection:
            return create(connection)
    claim = _claim(database, user_id, key, request_fingerprint)
    if isinstance(claim, Response):
        return claim  # a retry of a request that has completed: its response, again
    try:
        with database.write() as connection:
            response = create(connection)
            # Stored in the create's transaction: the record and the resource exist together or not at all.
            connection.execute(
                update(idempotency_keys)
                .where(idempotency_keys.c.id == claim)
                .values(
                    status=response.status,
                    response_body=response.body.decode("utf-8"),
                    location=response.header("Location"),
                    etag=response.header("ETag"),
                )
            )
        return response
    except BaseException:
        # The create failed (404: the project is gone, or a crash): free the key so a retry runs again.
        with database.write() as connection:
            connection.execute(delete(idempotency_keys).where(idempotency_keys.c.id == claim))
        raise


# end concordance


def _claim(database: Database, user_id: int, key: str, request_fingerprint: str) -> int | Response:
    """Own the key (the id of its row), or the stored response to replay; 422 or 409 otherwise."""
    for _attempt in range(3):  # the other owner may delete its claim between our insert and our read
        try:
            # Its own committed transaction: the unique (user_id, key) constraint is the lock that makes
            # exactly one request the owner, across threads, processes, replicas and ports.
            with database.write() as connection:
                connection.execute(
                    delete(idempotency_keys).where(  # a record past its 24 hours starts afresh
                        idempotency_keys.c.user_id == user_id,
                        idempotency_keys.c.idempotency_key == key,
                        idempotency_keys.c.created_at < now(-RETENTION_SECONDS),
                    )
                )
                return connection.execute(
                    insert(idempotency_keys)
                    .values(
                        user_id=user_id,
                        idempotency_key=key,
                        fingerprint=request_fingerprint,
                        created_at=now(),
                    )
                    .returning(idempotency_keys.c.id)
                ).scalar_one()
        except IntegrityError:
            with database.read() as connection:
                record = connection.execute(
                    select(idempotency_keys).where(
                        idempotency_keys.c.user_id == user_id, idempotency_keys.c.idempotency_key == key
                    )
                ).one_or_none()
            if record is not None:
                return _replay(record, request_fingerprint)
    raise HTTPError("idempotency-in-flight", "A request with this Idempotency-Key is still being processed.")


def _replay(record: Row[Any], request_fingerprint: str) -> Response:
    """The stored response of the key's first request, unless that request differs or is not finished."""
    if record.fingerprint != request_fingerprint:
        raise HTTPError("idempotency-key-reused", "This Idempotency-Key was used for a different request.")
    if record.status is None:
        raise HTTPError(
            "idempotency-in-flight", "A request with this Idempotency-Key is still being processed."
        )
    headers = [("Idempotent-Replayed", "true")]
    headers += [
        (name, value) for name, value in (("Location", record.location), ("ETag", record.etag)) if value
    ]
    # The stored bytes, byte for byte, whichever port stored them.
    return Response.raw(record.status, record.response_body.encode("utf-8"), "application/json", headers)
