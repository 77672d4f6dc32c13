"""Idempotency-Key: claim the key (leased), replay, refuse, or store the response in the create's transaction.

A create handler reads top-down: read_key() with the other 422 checks, claim() (its own committed
transaction), then its own write transaction inside release_on_failure(), ending with store().
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Connection, Row, delete, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from tasks_api.clock import now, seconds_until
from tasks_api.config import Settings
from tasks_api.db import Database, unavailable_reason
from tasks_api.errors import ApiError, ErrorItem, retry_after
from tasks_api.http import Request, Response
from tasks_api.models import idempotency_keys

log = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
KEY_RE = re.compile(r"[\x21-\x7e]{1,255}")


class Claim(NamedTuple):
    """The key's row this request owns, and the claim's time: the fence of the final store."""

    id: int
    claimed_at: str


def read_key(request: Request, errors: list[ErrorItem]) -> str | None:
    """The key, None when absent, or a 422 item: 1 to 255 visible ASCII characters."""
    key = request.header(HEADER)
    if key is not None and not KEY_RE.fullmatch(key):
        errors.append({"header": HEADER, "detail": "must be 1 to 255 visible ASCII characters"})
        return None
    return key


def fingerprint(path: str, body: bytes) -> str:
    """SHA-256 of `POST <path>\\n<body>`: the same key with another request is refused, not replayed."""
    return hashlib.sha256(b"POST " + path.encode("utf-8") + b"\n" + body).hexdigest()


# concordance: idempotency
def claim(
    database: Database, settings: Settings, user_id: int, key: str | None, request_fingerprint: str
) -> Claim | Response | None:
    """Step one of an idempotent create, in its own committed transaction, before the create's.

    None without a key (nothing to claim, store or free); the stored response when the key's request
    has completed (the handler returns it, a replay); else this request's claim (422 for another
    request under the same key, 409 while the key's first request is still in flight).
    """
    if key is None:
        return None
    return _claim(database, settings, user_id, key, request_fingerprint)


def store(connection: Connection, claim: Claim | None, response: Response, lease_seconds: float) -> None:
    """Store the response as the key's record, inside the create's transaction (a no-op without a key).

    The record and the resource exist together or not at all. Fenced by the claim's time: if the lease
    ran out and a retry took the claim over, this changes no row and raises 409, so the create rolls
    back (the new owner makes it, exactly once).
    """
    if claim is None:
        return
    stored = connection.execute(
        update(idempotency_keys)
        .where(_owned(claim))
        .values(
            status=response.status,
            response_body=response.body.decode("utf-8"),
            location=response.header("Location"),
            etag=response.header("ETag"),
        )
    )
    if stored.rowcount != 1:
        raise _in_flight(lease_seconds)


@contextmanager
def release_on_failure(database: Database, claim: Claim | None) -> Iterator[None]:
    """Around the create's transaction: when it fails, free the key so that a retry runs again.

    The create failed (404: the project is gone, a crash) and rolled back; fenced too, so a claim taken
    over is never freed. When the database itself failed, freeing would only wait on it a second time:
    the claim stays until its lease ends, then a retry takes it over (the answer, 503, comes within the
    budget).
    """
    try:
        yield
    except BaseException as failure:
        if claim is None or (
            isinstance(failure, SQLAlchemyError) and unavailable_reason(failure) is not None
        ):
            raise
        try:
            with database.write() as connection:
                connection.execute(delete(idempotency_keys).where(_owned(claim)))
        except SQLAlchemyError as exc:
            log.warning("could not free an idempotency claim: %s", exc.__class__.__name__)
        raise


def _owned(claim: Claim) -> ColumnElement[bool]:
    """The claim's row, as long as it is still this request's: unfinished and not taken over."""
    return (
        (idempotency_keys.c.id == claim.id)
        & idempotency_keys.c.status.is_(None)
        & (idempotency_keys.c.created_at == claim.claimed_at)
    )


# end concordance


def _claim(
    database: Database, settings: Settings, user_id: int, key: str, request_fingerprint: str
) -> Claim | Response:
    """Own the key (its row and claim time), or the stored response to replay; 422 or 409 otherwise."""
    lease = settings.idempotency_lease_seconds
    for _attempt in range(3):  # the other owner may delete its claim between our insert and our read
        stamp = now()
        claim_id = _insert_claim(database, settings, user_id, key, request_fingerprint, stamp)
        if claim_id is not None:
            return Claim(claim_id, stamp)
        with database.read() as connection:
            record = connection.execute(
                select(idempotency_keys).where(
                    idempotency_keys.c.user_id == user_id, idempotency_keys.c.idempotency_key == key
                )
            ).one_or_none()
        if record is None:
            continue  # freed meanwhile: claim it again
        if record.fingerprint != request_fingerprint:
            raise ApiError("idempotency-key-reused", "This Idempotency-Key was used for a different request.")
        if record.status is not None:
            return _replay(record)
        lease_left = seconds_until(record.created_at) + lease
        if lease_left > 0:
            raise _in_flight(lease_left)
        taken = _take_over(database, record.id, record.created_at, stamp)
        if taken is not None:
            return taken
        # Another retry took the stale claim over first: look again (now it is in flight).
    raise _in_flight(lease)


def _insert_claim(
    database: Database, settings: Settings, user_id: int, key: str, request_fingerprint: str, stamp: str
) -> int | None:
    """The id of a new claim row, or None when the key has a row already (the unique constraint)."""
    try:
        # Its own committed transaction: the unique (user_id, key) constraint is the lock that makes
        # exactly one request the owner, across threads, processes, replicas and ports.
        with database.write() as connection:
            connection.execute(
                delete(idempotency_keys).where(  # a record past the retention starts afresh
                    idempotency_keys.c.user_id == user_id,
                    idempotency_keys.c.idempotency_key == key,
                    idempotency_keys.c.created_at < now(-settings.idempotency_retention_seconds),
                )
            )
            return connection.execute(
                insert(idempotency_keys)
                .values(
                    user_id=user_id, idempotency_key=key, fingerprint=request_fingerprint, created_at=stamp
                )
                .returning(idempotency_keys.c.id)
            ).scalar_one()
    except IntegrityError:
        return None


# concordance: idempotency
def _take_over(database: Database, claim_id: int, seen: str, stamp: str) -> Claim | None:
    """A claim past its lease was left by a request that will never finish: one statement takes it over.

    Of several retries that saw the same stale claim, the one whose UPDATE changes the row owns it; the
    old owner, should it still run, fails its fenced store and rolls back.
    """
    with database.write() as connection:
        taken = connection.execute(
            update(idempotency_keys)
            .where(
                idempotency_keys.c.id == claim_id,
                idempotency_keys.c.status.is_(None),
                idempotency_keys.c.created_at == seen,
            )
            .values(created_at=stamp)
        )
    return Claim(claim_id, stamp) if taken.rowcount == 1 else None


# end concordance


def _in_flight(lease_left: float) -> ApiError:
    return ApiError(
        "idempotency-in-flight",
        "A request with this Idempotency-Key is still being processed.",
        headers=retry_after(lease_left),  # whole seconds until its lease ends, at least 1
    )


def _replay(record: Row[Any]) -> Response:
    """The stored response of the key's first request, with Idempotent-Replayed: true."""
    headers = [("Idempotent-Replayed", "true")]
    headers += [
        (name, value) for name, value in (("Location", record.location), ("ETag", record.etag)) if value
    ]
    # The stored bytes, byte for byte, whichever port stored them.
    return Response.raw(record.status, record.response_body.encode("utf-8"), "application/json", headers)
