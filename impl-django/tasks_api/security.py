"""Passwords (argon2id, capped per process; DUMMY_HASH for unknown users), bearer tokens, the Caller."""

import hashlib
import re
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from django.conf import settings
from django.http import HttpRequest

from .clock import now
from .errors import ApiError, service_unavailable
from .models import Token

# concordance: password-hashing
# The OWASP baseline fixed by spec/README.md. Django's own hashers write "argon2$argon2id$...", not the
# bare PHC string every other port reads, so argon2-cffi is used directly.
HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, hash_len=32, salt_len=16)
# Verified for an unknown email, so that a login for it costs what one for a known email costs.
DUMMY_HASH = HASHER.hash("no user has this password")

TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{43}")
CHALLENGE = 'Bearer realm="tasks"'
CHALLENGE_INVALID = 'Bearer realm="tasks", error="invalid_token"'


# end concordance


# concordance: login-limit
# A request that cannot start a hash within this long is 503: better a quick "retry" than a long queue.
HASH_WAIT_SECONDS = 1.0


@cache
def _hash_slots() -> threading.BoundedSemaphore:
    # A per-process bound on work, not shared state: each hash costs ~30 ms of CPU and 19 MiB, and a
    # login storm would otherwise take every core and all memory from ordinary requests.
    return threading.BoundedSemaphore(settings.HASH_CONCURRENCY)


@contextmanager
def hashing_slot() -> Iterator[None]:
    """One of the process's HASH_CONCURRENCY argon2 slots, or 503 after waiting a second for one."""
    slots = _hash_slots()
    if not slots.acquire(timeout=HASH_WAIT_SECONDS):
        raise service_unavailable("Too many passwords are being checked at once; retry shortly.")
    try:
        yield
    finally:
        slots.release()


# end concordance


# concordance: password-hashing
def hash_password(password: str) -> str:
    """The PHC string of a new password, within a hashing slot."""
    with hashing_slot():
        return HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches; None (an unknown email) spends a verification of DUMMY_HASH: False."""
    with hashing_slot():
        try:
            # argon2-cffi reads the variant and parameters from the PHC string, so raised costs verify.
            HASHER.verify(password_hash or DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            return False
    return password_hash is not None


# end concordance


# concordance: bearer-auth
def new_token() -> str:
    """32 CSPRNG bytes, base64url without padding: 43 characters."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """The stored form of a token: the lowercase hex SHA-256 of its text."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def issue_token(user_id: int) -> tuple[str, str]:
    """Store the hash of a new token for the user; return (token, expires_at)."""
    expires_at = now(settings.TOKEN_TTL_SECONDS)
    token = new_token()
    Token.objects.create(
        user_id=user_id, token_hash=token_hash(token), created_at=now(), expires_at=expires_at
    )
    return token, expires_at


# end concordance


def bearer_token(request: HttpRequest) -> str:
    """The syntactically valid bearer token of the request, or the 401 that fits."""
    header = request.META.get("HTTP_AUTHORIZATION")
    if header is None:
        raise ApiError(
            "authentication-required",
            "Send Authorization: Bearer <token>.",
            headers={"WWW-Authenticate": CHALLENGE},
        )
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        raise ApiError(
            "authentication-required",
            "Only the Bearer scheme is accepted.",
            headers={"WWW-Authenticate": CHALLENGE},
        )
    if not TOKEN_RE.fullmatch(token):
        raise invalid_token()
    return token


def invalid_token() -> ApiError:
    """401 invalid-token: unknown, expired or revoked, with the challenge that says so."""
    return ApiError(
        "invalid-token",
        "The token is unknown, expired or revoked.",
        headers={"WWW-Authenticate": CHALLENGE_INVALID},
    )


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated caller: whose request it is, and by which token (log-out revokes that one)."""

    user_id: int
    token_id: int


# concordance: bearer-auth
def authenticate(request: HttpRequest) -> Caller:
    """The caller of the request's bearer token (looked up in the database on every request), or 401."""
    token = bearer_token(request)
    row = (
        Token.objects.filter(token_hash=token_hash(token), expires_at__gt=now())
        .values_list("user_id", "id")
        .first()
    )
    if row is None:
        raise invalid_token()
    return Caller(*row)


# end concordance
