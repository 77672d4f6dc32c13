"""Idempotency-Key: claim the key (the unique constraint is the lock), replay, store, release."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, Header, Request, Response
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tasks_api.config import get_settings
from tasks_api.db import utc_now, write_transaction
from tasks_api.errors import Problem
from tasks_api.models import IdempotencyKey
from tasks_api.responses import json_response

# The spec's header schema: 1 to 255 visible ASCII characters, else a 422 pointing at the header.
IdempotencyKeyHeader = Annotated[
    str | None, Header(alias="Idempotency-Key", min_length=1, max_length=255, pattern=r"^[\x21-\x7E]+$")
]


async def raw_body(request: Request) -> bytes:
    """FastAPI dependency: the body exactly as received (routing.BodyRoute already read it)."""
    return await request.body()


RawBody = Annotated[bytes, Depends(raw_body)]


def fingerprint(path: str, body: bytes) -> str:
    """Lowercase hex SHA-256 of `POST <path>\\n<body>`: the same request, byte for byte."""
    return hashlib.sha256(b"POST " + path.encode() + b"\n" + body).hexdigest()


def _cutoff() -> str:
    then = datetime.now(UTC) - timedelta(seconds=get_settings().idempotency_ttl_seconds)
    return then.strftime("%Y-%m-%dT%H:%M:%SZ")


# concordance: idempotency
def claim(db: Session, user_id: int, key: str, print_: str) -> Response | None:
    """Make this request the owner of the key (None), or answer for the request that owns it:
    the stored response (replay), 409 while it is in flight, 422 for a different request."""
    for _attempt in range(3):
        try:
            # Its own committed transaction: the row is visible to every other process at once.
            with write_transaction(db):
                db.add(
                    IdempotencyKey(
                        user_id=user_id, idempotency_key=key, fingerprint=print_, created_at=utc_now()
                    )
                )
            return None
        except IntegrityError:
            pass  # someone holds the key: look at their record
        with write_transaction(db):
            record = db.scalar(
                select(IdempotencyKey).where(
                    IdempotencyKey.user_id == user_id, IdempotencyKey.idempotency_key == key
                )
            )
            if record is not None and record.created_at < _cutoff():
                db.delete(record)  # kept 24 hours: an older record is gone, the key is free again
                record = None
        if record is None:
            continue  # released or expired meanwhile: claim again
        if record.fingerprint != print_:
            raise Problem("idempotency-key-reused", "This Idempotency-Key was used for a different request.")
        if record.status is None:
            raise Problem(
                "idempotency-in-flight", "A request with this Idempotency-Key is still being processed."
            )
        return replay(record)
    raise Problem("idempotency-in-flight", "A request with this Idempotency-Key is still being processed.")


# end concordance


def replay(record: IdempotencyKey) -> Response:
    """The stored first response, byte for byte, marked as a replay."""
    headers = {"Idempotent-Replayed": "true"}
    if record.location:
        headers["Location"] = record.location
    if record.etag:
        headers["ETag"] = record.etag
    assert record.status is not None and record.response_body is not None
    return json_response(record.response_body.encode(), record.status, headers)


def store(db: Session, user_id: int, key: str, status: int, body: bytes, location: str, etag: str) -> None:
    """Keep the response in the claim, inside the create's own transaction (both exist or neither)."""
    db.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.user_id == user_id, IdempotencyKey.idempotency_key == key)
        .values(status=status, response_body=body.decode(), location=location, etag=etag)
    )


def release(db: Session, user_id: int, key: str) -> None:
    """The create failed: drop the claim so that a retry runs again."""
    with write_transaction(db):
        db.execute(
            delete(IdempotencyKey).where(
                IdempotencyKey.user_id == user_id,
                IdempotencyKey.idempotency_key == key,
                IdempotencyKey.status.is_(None),
            )
        )


@dataclass(frozen=True)
class Created:
    """A created resource's response: the rendered body, Location and ETag."""

    body: bytes
    location: str
    etag: str


# concordance: idempotency
def create_once(
    db: Session, user_id: int, key: str | None, print_: str, create: Callable[[Session], Created]
) -> Response:
    """Run `create` (inside a write transaction) at most once per Idempotency-Key, or replay."""
    if key is not None and (replayed := claim(db, user_id, key, print_)) is not None:
        return replayed
    try:
        with write_transaction(db):
            created = create(db)
            if key is not None:
                store(db, user_id, key, 201, created.body, created.location, created.etag)
    except BaseException:
        if key is not None:
            release(db, user_id, key)  # a retry must run again, not find a claim nobody will finish
        raise
    return json_response(created.body, 201, {"Location": created.location, "ETag": created.etag})


# end concordance
