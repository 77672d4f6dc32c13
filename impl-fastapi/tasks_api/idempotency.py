"""Idempotency-Key: claim (leased), replay, refuse, store in the change's transaction, release."""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from fastapi import Response
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from tasks_api import clock
from tasks_api.config import get_settings
from tasks_api.db import write_transaction
from tasks_api.errors import ApiError
from tasks_api.models import IdempotencyKey
from tasks_api.schemas import json_response

log = logging.getLogger("tasks_api")


def fingerprint(path: str, body: bytes) -> str:
    """Lowercase hex SHA-256 of `POST <path>\\n<body>`: the same request, byte for byte."""
    return hashlib.sha256(b"POST " + path.encode() + b"\n" + body).hexdigest()


def in_flight(retry_after: int) -> ApiError:
    """409 idempotency-in-flight, with Retry-After: the whole seconds until the claim's lease ends."""
    return ApiError(
        "idempotency-in-flight",
        "A request with this Idempotency-Key is still being processed.",
        headers={"Retry-After": str(max(1, retry_after))},
    )


@dataclass(frozen=True)
class Claim:
    """This request owns the key: the row's id and the claim's time, which fences the store."""

    id: int
    claimed_at: str


# concordance: idempotency
def claim(db: Session, user_id: int, key: str | None, print_: str) -> Claim | Response | None:
    """Make this request the owner of the key (a Claim), or answer for the request that owns it: the
    stored response (replay), 409 while its lease runs, 422 for a different request. A claim whose lease
    is over was left by a request that will never finish: it is taken over (spec "Idempotent retries").
    None without a key: the request runs unguarded."""
    if key is None:
        return None
    settings = get_settings()
    for _attempt in range(3):
        now = clock.now()
        try:
            # Its own committed transaction: the row is visible to every other process at once.
            with write_transaction(db):
                row = IdempotencyKey(user_id=user_id, idempotency_key=key, fingerprint=print_, created_at=now)
                db.add(row)
            return Claim(row.id, row.created_at)
        except IntegrityError:
            pass  # someone holds the key: look at their record
        retention_cutoff = clock.now(-settings.idempotency_retention_seconds)
        with write_transaction(db):
            record = db.scalar(
                select(IdempotencyKey).where(
                    IdempotencyKey.user_id == user_id, IdempotencyKey.idempotency_key == key
                )
            )
            if record is not None and record.created_at < retention_cutoff:
                db.delete(record)  # past the retention: the key is free again
                record = None
        if record is None:
            continue  # released or expired meanwhile: claim again
        if record.fingerprint != print_:
            raise ApiError("idempotency-key-reused", "This Idempotency-Key was used for a different request.")
        if record.status is not None:
            return replay(record)
        lease_left = clock.seconds_until(record.created_at) + settings.idempotency_lease_seconds
        if lease_left > 0:
            raise in_flight(math.ceil(lease_left))
        # A stale claim: one conditional UPDATE decides which retry takes it over.
        with write_transaction(db):
            taken = db.execute(
                update(IdempotencyKey)
                .where(
                    IdempotencyKey.id == record.id,
                    IdempotencyKey.status.is_(None),
                    IdempotencyKey.created_at == record.created_at,
                )
                .values(created_at=now)
            ).rowcount
        if taken == 1:
            return Claim(record.id, now)
        raise in_flight(settings.idempotency_lease_seconds)  # another retry took it over first
    raise in_flight(settings.idempotency_lease_seconds)


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


# concordance: idempotency
def store(db: Session, owned: Claim, status: int, body: bytes, location: str, etag: str) -> bool:
    """Keep the response in the claim, inside the create's own transaction (both exist or neither).
    Fenced by the claim's time: False when the claim was taken over meanwhile (this request outlived
    its lease)."""
    stored = db.execute(
        update(IdempotencyKey)
        .where(
            IdempotencyKey.id == owned.id,
            IdempotencyKey.status.is_(None),
            IdempotencyKey.created_at == owned.claimed_at,
        )
        .values(status=status, response_body=body.decode(), location=location, etag=etag)
    ).rowcount
    return stored == 1


def store_created(db: Session, owned: Claim | None, body: bytes, location: str, etag: str) -> Response:
    """The 201 of a create, stored in its claim inside the create's transaction (nothing to store without
    a key). A claim taken over meanwhile raises 409 inside the transaction: the create rolls back, the
    new owner's create stands."""
    if owned is not None and not store(db, owned, 201, body, location, etag):
        raise in_flight(get_settings().idempotency_lease_seconds)
    return json_response(body, 201, {"Location": location, "ETag": etag})


@contextmanager
def release_on_failure(db: Session, owned: Claim | None) -> Iterator[None]:
    """Around the create's transaction: if it fails, drop the claim (unless taken over meanwhile), so that
    a retry runs again instead of finding a claim nobody will finish. If the database is away this fails
    too; the lease then frees the key."""
    try:
        yield
    except BaseException:
        if owned is not None:
            _release(db, owned)
        raise


def _release(db: Session, owned: Claim) -> None:
    try:
        with write_transaction(db):
            db.execute(
                delete(IdempotencyKey).where(
                    IdempotencyKey.id == owned.id,
                    IdempotencyKey.status.is_(None),
                    IdempotencyKey.created_at == owned.claimed_at,
                )
            )
    except SQLAlchemyError as exc:
        log.warning(
            "idempotency: the claim could not be released (%s); its lease will free it", type(exc).__name__
        )


# end concordance
