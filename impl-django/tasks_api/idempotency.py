"""Idempotency-Key: claim (unique INSERT, a stale claim taken over), replay, refuse, the fenced store."""

import contextlib
import hashlib
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings
from django.db import Error as DatabaseError
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse

from . import db
from .clock import now, seconds_until
from .errors import ApiError, ErrorItem
from .models import IdempotencyKey, User
from .schemas import JSON_CONTENT_TYPE
from .security import invalid_token

HEADER = "Idempotency-Key"
KEY_RE = re.compile(r"[\x21-\x7e]{1,255}")


def key_from(request: HttpRequest) -> tuple[str | None, list[ErrorItem]]:
    """The request's Idempotency-Key (None when absent) and its validation problems."""
    key = request.META.get("HTTP_IDEMPOTENCY_KEY")
    if key is None or KEY_RE.fullmatch(key):
        return key, []
    return None, [{"header": HEADER, "detail": "must be 1 to 255 visible ASCII characters"}]


def fingerprint(request: HttpRequest, body: bytes) -> str:
    """SHA-256 of "POST <path>\\n<raw body>": the same request gives the same fingerprint on every port."""
    return hashlib.sha256(b"POST " + request.path.encode("utf-8") + b"\n" + body).hexdigest()


def replay(record: IdempotencyKey) -> HttpResponse:
    """The stored response, byte for byte, marked as a replay."""
    response = HttpResponse(
        (record.response_body or "").encode("utf-8"), status=record.status, content_type=JSON_CONTENT_TYPE
    )
    if record.location:
        response["Location"] = record.location
    if record.etag:
        response["ETag"] = record.etag
    response["Idempotent-Replayed"] = "true"
    return response


# concordance: idempotency
@dataclass(frozen=True)
class Claim:
    """The key is ours: the claim row's id and the created_at that fences the store (its lease start)."""

    id: int
    claimed_at: str


def in_flight(claimed_at: str | None) -> ApiError:
    """409 with Retry-After: whole seconds until the claim's lease ends, at least 1."""
    seconds = 1
    if claimed_at is not None:
        seconds = max(1, math.ceil(seconds_until(claimed_at) + settings.IDEMPOTENCY_LEASE_SECONDS))
    return ApiError(
        "idempotency-in-flight",
        "A request with this Idempotency-Key is still being processed.",
        headers={"Retry-After": str(seconds)},
    )


def claim(user_id: int, key: str | None, print_: str) -> Claim | HttpResponse | None:
    """Own the key (a new claim, or a stale one taken over) or answer for it: replay, 409, or 422.

    None without a key: the create simply runs once.
    """
    if key is None:
        return None
    for _ in range(3):
        claimed_at = now()
        try:
            # Its own committed transaction: the unique (user_id, idempotency_key) is the lock that
            # holds across processes, replicas and ports.
            with transaction.atomic():
                record = IdempotencyKey.objects.create(
                    user_id=user_id, idempotency_key=key, fingerprint=print_, created_at=claimed_at
                )
            return Claim(record.id, record.created_at)
        except IntegrityError:
            pass
        existing = IdempotencyKey.objects.filter(user_id=user_id, idempotency_key=key).first()
        if existing is None:
            if not User.objects.filter(id=user_id).exists():
                raise invalid_token()  # the foreign key failed: the user (and the token) is gone
            continue  # the owner failed and released it a moment ago: claim it again
        if existing.created_at < now(-settings.IDEMPOTENCY_RETENTION_SECONDS):
            # An expired record is deleted when its key is used again.
            IdempotencyKey.objects.filter(id=existing.id, created_at=existing.created_at).delete()
            continue
        if existing.fingerprint != print_:
            raise ApiError("idempotency-key-reused", "This Idempotency-Key was used for a different request.")
        if existing.status is not None:
            return replay(existing)
        if existing.created_at > now(-settings.IDEMPOTENCY_LEASE_SECONDS):
            raise in_flight(existing.created_at)
        # A stale claim: its owner died or lost the database. One conditional UPDATE takes it over; of
        # several retries only the one whose UPDATE changes the row owns it, the others see a fresh lease.
        with transaction.atomic():
            taken = IdempotencyKey.objects.filter(
                id=existing.id, status__isnull=True, created_at=existing.created_at
            ).update(created_at=claimed_at)
        if taken:
            return Claim(existing.id, claimed_at)
    raise in_flight(None)


def store(owned: Claim | None, response: HttpResponse) -> None:
    """Store the response with the create, in its transaction; 409 (rolling it back) if the key was lost.

    The record and the resource exist together or not at all. Fenced by the claim's time: if this
    request outlived its lease and another took the key over, nothing is stored and raising rolls the
    create back, so it happens exactly once.
    """
    if owned is None:
        return
    stored = IdempotencyKey.objects.filter(
        id=owned.id, status__isnull=True, created_at=owned.claimed_at
    ).update(
        status=response.status_code,
        response_body=response.content.decode("utf-8"),
        location=response.get("Location"),
        etag=response.get("ETag"),
    )
    if not stored:
        raise in_flight(now())


def release(owned: Claim) -> None:
    """Delete our claim after a failed create, so that a retry runs again (unless it was taken over)."""
    IdempotencyKey.objects.filter(id=owned.id, status__isnull=True, created_at=owned.claimed_at).delete()


@contextlib.contextmanager
def release_on_failure(owned: Claim | None) -> Iterator[None]:
    """Around the create's transaction: a create that was refused releases its claim, so a retry runs.

    Entered before atomic(), so the release runs after the rollback. Not when the database itself
    failed: the release would wait on it a second time, and the lease frees the key for the retry anyway.
    """
    try:
        yield
    except Exception as exc:
        if owned is not None and db.unavailable(exc) is None:
            with contextlib.suppress(DatabaseError):
                release(owned)
        raise


# end concordance
