"""Passwords (argon2id, capped per process; DUMMY_HASH for unknown users), bearer tokens, the Caller."""

from __future__ import annotations

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

from tasks_api import queries
from tasks_api.errors import ApiError, unavailable
from tasks_api.http import Request

TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{43}")  # 32 random bytes in base64url without padding
CHALLENGE = 'Bearer realm="tasks"'


@dataclass(frozen=True)
class Caller:
    """The authenticated user of a request, and the hash of the token it used (for log-out)."""

    user_id: int
    email: str
    name: str
    created_at: str
    token_hash: str


# concordance: password-hashing
# The OWASP baseline, fixed by spec/README.md so that every port writes the same kind of hash;
# verify() reads the parameters from the hash itself, so they can be raised later.
HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, hash_len=32, salt_len=16)
# Verified when the email is unknown, so that the answer takes as long as for a known one and does not
# tell which emails exist. Made once per process at import (in the worker), outside the hashing cap.
DUMMY_HASH = HASHER.hash("no user has this password")


def hash_password(password: str, concurrency: int) -> str:
    with hashing_slot(concurrency):
        return HASHER.hash(password)


def verify_password(password_hash: str | None, password: str, concurrency: int) -> bool:
    """Whether `password` matches; None (an unknown email) spends a verification of DUMMY_HASH: False."""
    with hashing_slot(concurrency):
        try:
            return HASHER.verify(password_hash or DUMMY_HASH, password) and password_hash is not None
        except (VerificationError, InvalidHashError):  # wrong password, or not an argon2 hash at all
            return False


# end concordance


# concordance: login-limit
HASH_WAIT_SECONDS = 1.0


@cache
def _hash_slots(concurrency: int) -> threading.BoundedSemaphore:
    # One semaphore per process (created in the worker, on first use): a bound on work, not shared state.
    return threading.BoundedSemaphore(concurrency)


@contextmanager
def hashing_slot(concurrency: int) -> Iterator[None]:
    """At most HASH_CONCURRENCY argon2 computations at once in this process; 503 after a second's wait.

    Each costs about 30 ms of CPU and 19 MiB: a login storm would otherwise take every core and all
    memory from ordinary requests.
    """
    slots = _hash_slots(concurrency)
    if not slots.acquire(timeout=HASH_WAIT_SECONDS):
        raise unavailable("The server is busy verifying passwords; retry shortly.")
    try:
        yield
    finally:
        slots.release()


# end concordance


# concordance: bearer-auth
def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """Only this is stored: a leaked database does not leak usable tokens."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def bearer_token_hash(request: Request) -> str:
    """The SHA-256 of the request's bearer token, or 401 when there is none or it cannot be one of ours.

    No database yet: the caller looks the digest up, alone (authenticate) or joined with the resource.
    """
    header = request.environ.get("HTTP_AUTHORIZATION")
    scheme, _, token = (header or "").partition(" ")
    if scheme.lower() != "bearer":  # no header, or another scheme (Basic ...)
        raise ApiError(
            "authentication-required",
            "Send Authorization: Bearer <token>.",
            headers=[("WWW-Authenticate", CHALLENGE)],
        )
    if not TOKEN_RE.fullmatch(token):  # also refuses a second space before the token
        raise invalid_token()
    return token_hash(token)


def invalid_token() -> ApiError:
    return ApiError(
        "invalid-token",
        "The token is unknown, expired or revoked.",
        headers=[("WWW-Authenticate", CHALLENGE + ', error="invalid_token"')],
    )


def authenticate(request: Request) -> Caller:
    """The caller of a protected operation, or 401: the token is looked up on every request."""
    digest = bearer_token_hash(request)
    with request.db.single_read() as connection:
        row = queries.user_by_token(connection, digest)
    if row is None:
        raise invalid_token()
    return Caller(row.id, row.email, row.name, row.created_at, digest)


# end concordance
