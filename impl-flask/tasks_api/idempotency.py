"""Idempotency-Key: claim (leased) in its own transaction, replay, refuse, store in the change's transaction.

A create reads top-down in its view: `claim` (None without a key, a Response for a replay), then the change
and its outbox row under `release_on_failure`, then `store` in the same transaction, then the commit.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

from flask import Response, current_app, request
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from .clock import now, parse, timestamp
from .errors import ApiError
from .models import IdempotencyKey

CLAIM_ATTEMPTS = 3


@dataclass(frozen=True)
class Claim:
    """The row this request owns, and the created_at it owns it by (the fence of its store)."""

    id: int
    claimed_at: str


def fingerprint() -> str:
    """SHA-256 of "POST <path>\\n<raw body>": the same request made to any port gives the same value."""
    raw = request.method.encode("ascii") + b" " + request.path.encode("utf-8") + b"\n" + request.get_data()
    return hashlib.sha256(raw).hexdigest()


def _replay(record: IdempotencyKey) -> Response:
    response = Response(
        (record.response_body or "").encode("utf-8"), status=record.status, mimetype="application/json"
    )
    if record.location:
        response.headers["Location"] = record.location
    if record.etag:
        response.headers["ETag"] = record.etag
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _lease_left(created_at: str, moment: datetime.datetime) -> int:
    """Whole seconds until a claim made at created_at ends its lease (0 or less: a stale claim)."""
    lease = datetime.timedelta(seconds=current_app.config["IDEMPOTENCY_LEASE_SECONDS"])
    return int((parse(created_at) + lease - moment).total_seconds())


def _in_flight(seconds: int) -> ApiError:
    """409 idempotency-in-flight, with the whole seconds until the owner's lease ends (at least 1)."""
    return ApiError(
        "idempotency-in-flight",
        "A request with this Idempotency-Key is still being processed.",
        headers={"Retry-After": str(max(seconds, 1))},
    )


# concordance: idempotency
def claim(session: Session, user_id: int, key: str | None) -> Claim | Response | None:
    """Own the request's Idempotency-Key: a Claim, None without a key, or the stored Response to replay.

    409 while another request holds the key (its lease), 422 when it was used for a different request.
    """
    if key is None:
        return None
    print_ = fingerprint()
    retention = datetime.timedelta(seconds=current_app.config["IDEMPOTENCY_RETENTION_SECONDS"])
    for _attempt in range(CLAIM_ATTEMPTS):
        moment = now()
        # A record older than the retention period is forgotten when its key is used again.
        session.execute(
            delete(IdempotencyKey).where(
                IdempotencyKey.user_id == user_id,
                IdempotencyKey.idempotency_key == key,
                IdempotencyKey.created_at < timestamp(moment - retention),
            )
        )
        record = IdempotencyKey(
            user_id=user_id, idempotency_key=key, fingerprint=print_, created_at=timestamp(moment)
        )
        session.add(record)
        try:
            # Committed on its own: the unique (user_id, idempotency_key) makes exactly one request the owner,
            # across processes, replicas and ports.
            session.commit()
            return Claim(record.id, record.created_at)
        except IntegrityError:
            session.rollback()
        record = session.scalar(
            select(IdempotencyKey).where(
                IdempotencyKey.user_id == user_id, IdempotencyKey.idempotency_key == key
            )
        )
        if record is None:
            continue  # the owner failed and released the key between our insert and this read: claim again
        if record.fingerprint != print_:
            raise ApiError("idempotency-key-reused", "This Idempotency-Key was used for a different request.")
        if record.status is not None:
            return _replay(record)
        left = _lease_left(record.created_at, moment)
        if left > 0:
            raise _in_flight(left)
        # A stale claim: its owner was killed or lost the database before it could finish or release it.
        # One conditional UPDATE takes it over; of several retries, exactly one changes the row.
        taken = session.execute(
            update(IdempotencyKey)
            .where(
                IdempotencyKey.id == record.id,
                IdempotencyKey.status.is_(None),
                IdempotencyKey.created_at == record.created_at,
            )
            .values(created_at=timestamp(moment))
        )
        session.commit()
        if taken.rowcount == 1:
            return Claim(record.id, timestamp(moment))
        # Another retry took it over first: the next read finds its fresh claim (409) or its result.
    raise _in_flight(1)


# end concordance


def _release(session: Session, claim: Claim) -> None:
    """Delete our claim after a failed create, so that a retry runs again (never a claim taken over)."""
    try:
        session.rollback()
        session.execute(
            delete(IdempotencyKey).where(
                IdempotencyKey.id == claim.id,
                IdempotencyKey.status.is_(None),
                IdempotencyKey.created_at == claim.claimed_at,
            )
        )
        session.commit()
    except SQLAlchemyError:
        # The original error matters more; the claim's lease ends and a retry takes it over.
        session.rollback()


@contextlib.contextmanager
def release_on_failure(session: Session, claim: Claim | None) -> Iterator[None]:
    """Run the change; when it fails, give the claim back (if any), so that a retry runs it again."""
    if claim is None:
        yield
        return
    try:
        yield
    except BaseException:
        _release(session, claim)
        raise


# concordance: idempotency
def store(session: Session, claim: Claim | None, response: Response) -> None:
    """Store the response with the claim, in the change's transaction (the caller commits both).

    The record and the resource then exist together or not at all; the update is fenced by the claim's
    time, so a request that outlived its lease cannot store over the claim of the retry that took it over:
    its change is rolled back and it answers 409.
    """
    if claim is None:
        return
    with release_on_failure(session, claim):
        stored = session.execute(
            update(IdempotencyKey)
            .where(
                IdempotencyKey.id == claim.id,
                IdempotencyKey.status.is_(None),
                IdempotencyKey.created_at == claim.claimed_at,
            )
            .values(
                status=response.status_code,
                response_body=response.get_data(as_text=True),
                location=response.headers.get("Location"),
                etag=response.headers.get("ETag"),
            )
        )
    if stored.rowcount != 1:
        session.rollback()  # taken over: the create happens once, in the request that holds the claim now
        owner = session.scalar(select(IdempotencyKey.created_at).where(IdempotencyKey.id == claim.id))
        raise _in_flight(_lease_left(owner, now()) if owner is not None else 1)


# end concordance
