"""Idempotency-Key: claim the key in its own transaction, replay a stored response, store the first one."""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from flask import Response, current_app, g, request
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from .db import get_session
from .errors import ApiProblem
from .models import IdempotencyKey
from .schemas import timestamp, utc_now

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


def _parse(moment: str) -> datetime.datetime:
    return datetime.datetime.strptime(moment, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)


def _lease_left(created_at: str, now: datetime.datetime) -> int:
    """Whole seconds until a claim made at created_at ends its lease (0 or less: a stale claim)."""
    lease = datetime.timedelta(seconds=current_app.config["IDEMPOTENCY_LEASE_SECONDS"])
    return int((_parse(created_at) + lease - now).total_seconds())


def _in_flight(seconds: int) -> ApiProblem:
    """409 idempotency-in-flight, with the whole seconds until the owner's lease ends (at least 1)."""
    return ApiProblem(
        "idempotency-in-flight",
        "A request with this Idempotency-Key is still being processed.",
        headers={"Retry-After": str(max(seconds, 1))},
    )


# concordance: idempotency
def _claim(session: Session, user_id: int, key: str, print_: str) -> Claim | Response:
    """The claim when this request now owns the key, else the answer for a key someone already holds."""
    retention = datetime.timedelta(seconds=current_app.config["IDEMPOTENCY_RETENTION_SECONDS"])
    for _attempt in range(CLAIM_ATTEMPTS):
        now = utc_now()
        # A record older than the retention period is forgotten when its key is used again.
        session.execute(
            delete(IdempotencyKey).where(
                IdempotencyKey.user_id == user_id,
                IdempotencyKey.idempotency_key == key,
                IdempotencyKey.created_at < timestamp(now - retention),
            )
        )
        record = IdempotencyKey(
            user_id=user_id, idempotency_key=key, fingerprint=print_, created_at=timestamp(now)
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
            raise ApiProblem(
                "idempotency-key-reused", "This Idempotency-Key was used for a different request."
            )
        if record.status is not None:
            return _replay(record)
        left = _lease_left(record.created_at, now)
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
            .values(created_at=timestamp(now))
        )
        session.commit()
        if taken.rowcount == 1:
            return Claim(record.id, timestamp(now))
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


# concordance: idempotency
def run_create(key: str | None, create: Callable[[], Response]) -> Response:
    """Run a create (which flushes but does not commit) under the request's Idempotency-Key, if any."""
    session = get_session()
    if key is None:
        response = create()
        session.commit()
        return response
    claim = _claim(session, g.user_id, key, fingerprint())
    if isinstance(claim, Response):
        return claim
    try:
        response = create()
        # Stored in the transaction of the create, so the record and the resource exist together or not at
        # all; fenced by the claim's time, so a request that outlived its lease cannot store over the claim
        # of the retry that took it over.
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
    except BaseException:
        _release(session, claim)
        raise
    if stored.rowcount != 1:
        session.rollback()  # taken over: the create happens once, in the request that holds the claim now
        owner = session.scalar(select(IdempotencyKey.created_at).where(IdempotencyKey.id == claim.id))
        raise _in_flight(_lease_left(owner, utc_now()) if owner is not None else 1)
    session.commit()
    return response


# end concordance
