"""Idempotency-Key: claim the key in its own transaction, replay a stored response, store the first one."""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Callable

from flask import Response, g, request
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .db import get_session
from .errors import ApiProblem
from .models import IdempotencyKey
from .schemas import timestamp, utc_now

RETENTION = datetime.timedelta(hours=24)
CLAIM_ATTEMPTS = 3


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


# concordance: idempotency
def _claim(session: Session, user_id: int, key: str, print_: str) -> Response | None:
    """None when this request now owns the key, else the answer for a key someone already holds."""
    for _attempt in range(CLAIM_ATTEMPTS):
        now = utc_now()
        # A record older than 24 hours is forgotten when its key is used again.
        session.execute(
            delete(IdempotencyKey).where(
                IdempotencyKey.user_id == user_id,
                IdempotencyKey.idempotency_key == key,
                IdempotencyKey.created_at < timestamp(now - RETENTION),
            )
        )
        session.add(
            IdempotencyKey(
                user_id=user_id, idempotency_key=key, fingerprint=print_, created_at=timestamp(now)
            )
        )
        try:
            # Committed on its own: the unique (user_id, idempotency_key) makes exactly one request the owner,
            # across processes, replicas and ports.
            session.commit()
            return None
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
        if record.status is None:
            break
        return _replay(record)
    raise ApiProblem("idempotency-in-flight", "A request with this Idempotency-Key is still being processed.")


# end concordance


def _release(session: Session, user_id: int, key: str) -> None:
    """Delete our claim after a failed create, so that a retry runs again."""
    try:
        session.rollback()
        session.execute(
            delete(IdempotencyKey).where(
                IdempotencyKey.user_id == user_id,
                IdempotencyKey.idempotency_key == key,
                IdempotencyKey.status.is_(None),
            )
        )
        session.commit()
    except Exception:
        session.rollback()  # the original error matters more; the claim expires in 24 hours anyway


# concordance: idempotency
def run_create(key: str | None, create: Callable[[], Response]) -> Response:
    """Run a create (which flushes but does not commit) under the request's Idempotency-Key, if any."""
    session = get_session()
    if key is None:
        response = create()
        session.commit()
        return response
    user_id = g.user.id
    replay = _claim(session, user_id, key, fingerprint())
    if replay is not None:
        return replay
    try:
        response = create()
        record = session.scalar(
            select(IdempotencyKey).where(
                IdempotencyKey.user_id == user_id, IdempotencyKey.idempotency_key == key
            )
        )
        if record is None:
            raise RuntimeError("the idempotency claim vanished")
        # Stored in the transaction of the create: the record and the resource exist together or not at all.
        record.status = response.status_code
        record.response_body = response.get_data(as_text=True)
        record.location = response.headers.get("Location")
        record.etag = response.headers.get("ETag")
        session.commit()
    except BaseException:
        _release(session, user_id, key)
        raise
    return response


# end concordance
