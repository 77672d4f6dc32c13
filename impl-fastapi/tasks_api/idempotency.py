"""Idempotency-Key: claim the key (the unique constraint is the lock), replay, store, release."""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, Header, Request, Response
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from tasks_api.config import get_settings
from tasks_api.db import write_transaction
from tasks_api.errors import Problem
from tasks_api.models import IdempotencyKey
from tasks_api.responses import json_response

log = logging.getLogger("tasks_api")

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


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def in_flight(retry_after: int) -> Problem:
    """409 idempotency-in-flight, with Retry-After: the whole seconds until the claim's lease ends."""
    return Problem(
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
def claim(db: Session, user_id: int, key: str, print_: str) -> Claim | Response:
    """Make this request the owner of the key (a Claim), or answer for the request that owns it: the
    stored response (replay), 409 while its lease runs, 422 for a different request. A claim whose lease
    is over was left by a request that will never finish: it is taken over (spec "Idempotent retries")."""
    settings = get_settings()
    for _attempt in range(3):
        now = datetime.now(UTC)
        try:
            # Its own committed transaction: the row is visible to every other process at once.
            with write_transaction(db):
                row = IdempotencyKey(
                    user_id=user_id, idempotency_key=key, fingerprint=print_, created_at=_stamp(now)
                )
                db.add(row)
            return Claim(row.id, row.created_at)
        except IntegrityError:
            pass  # someone holds the key: look at their record
        retention_cutoff = _stamp(now - timedelta(seconds=settings.idempotency_retention_seconds))
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
            raise Problem("idempotency-key-reused", "This Idempotency-Key was used for a different request.")
        if record.status is not None:
            return replay(record)
        lease_ends = _parse(record.created_at) + timedelta(seconds=settings.idempotency_lease_seconds)
        if now < lease_ends:
            raise in_flight(math.ceil((lease_ends - now).total_seconds()))
        # A stale claim: one conditional UPDATE decides which retry takes it over.
        with write_transaction(db):
            taken = db.execute(
                update(IdempotencyKey)
                .where(
                    IdempotencyKey.id == record.id,
                    IdempotencyKey.status.is_(None),
                    IdempotencyKey.created_at == record.created_at,
                )
                .values(created_at=_stamp(now))
            ).rowcount
        if taken == 1:
            return Claim(record.id, _stamp(now))
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
    its lease), and the caller must roll its create back."""
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


def release(db: Session, owned: Claim) -> None:
    """The create failed: drop the claim (unless taken over meanwhile) so that a retry runs again. If the
    database is away this fails too; the lease then frees the key."""
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
    owned = None
    if key is not None:
        owned = claim(db, user_id, key, print_)
        if isinstance(owned, Response):
            return owned
    try:
        with write_transaction(db):
            created = create(db)
            if owned is not None and not store(db, owned, 201, created.body, created.location, created.etag):
                # Raised inside the transaction: the create rolls back, the new owner's create stands.
                raise in_flight(get_settings().idempotency_lease_seconds)
    except BaseException:
        if owned is not None:
            release(db, owned)  # a retry must run again, not find a claim nobody will finish
        raise
    return json_response(created.body, 201, {"Location": created.location, "ETag": created.etag})


# end concordance
