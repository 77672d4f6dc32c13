"""Idempotency-Key: claim the key with a unique INSERT, replay a finished response, store the owner's."""

import hashlib
import re
from collections.abc import Callable
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse

from .errors import ApiError, ErrorItem
from .models import IdempotencyKey, User
from .schemas import JSON_CONTENT_TYPE
from .security import invalid_token, timestamp, utc_now

HEADER = "Idempotency-Key"
KEY_RE = re.compile(r"[\x21-\x7e]{1,255}")
RETENTION = timedelta(hours=24)


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
def claim(user: User, key: str, print_: str) -> int | HttpResponse:
    """Own the key (the claim row's id) or answer for it: replay, 409 in flight, or 422 reused."""
    for _ in range(3):
        try:
            # Its own committed transaction: the unique (user_id, idempotency_key) is the lock that
            # holds across processes, replicas and ports.
            with transaction.atomic():
                record = IdempotencyKey.objects.create(
                    user=user, idempotency_key=key, fingerprint=print_, created_at=timestamp()
                )
            return record.id
        except IntegrityError:
            pass
        existing = IdempotencyKey.objects.filter(user=user, idempotency_key=key).first()
        if existing is None:
            if not User.objects.filter(id=user.id).exists():
                raise invalid_token()  # the foreign key failed: the user (and the token) is gone
            continue  # the owner failed and released it a moment ago: claim it again
        if existing.created_at < timestamp(utc_now() - RETENTION):
            # Kept 24 hours: an older record is deleted when its key is used again.
            IdempotencyKey.objects.filter(id=existing.id).delete()
            continue
        if existing.fingerprint != print_:
            raise ApiError("idempotency-key-reused", "This Idempotency-Key was used for a different request.")
        if existing.status is None:
            break
        return replay(existing)
    raise ApiError("idempotency-in-flight", "A request with this Idempotency-Key is still being processed.")


def run(
    request: HttpRequest, user: User, key: str | None, body: bytes, create: Callable[[], HttpResponse]
) -> HttpResponse:
    """Perform a create once per key: the response is stored in the create's own transaction."""
    if key is None:
        with transaction.atomic():
            return create()
    owned = claim(user, key, fingerprint(request, body))
    if isinstance(owned, HttpResponse):
        return owned
    try:
        with transaction.atomic():
            response = create()
            # The record and the resource exist together or not at all.
            IdempotencyKey.objects.filter(id=owned).update(
                status=response.status_code,
                response_body=response.content.decode("utf-8"),
                location=response.get("Location"),
                etag=response.get("ETag"),
            )
            return response
    except BaseException:
        # The create failed (e.g. the project vanished): release the key so a retry runs again.
        IdempotencyKey.objects.filter(id=owned).delete()
        raise


# end concordance
