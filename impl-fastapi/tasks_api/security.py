"""argon2id passwords, bearer tokens (generation, hashing), and the current-user dependency."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Annotated

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Depends, Header
from sqlalchemy import select
from sqlalchemy.orm import Session

from tasks_api.config import get_settings
from tasks_api.db import Db, new_session, read_transaction, utc_now
from tasks_api.errors import RETRY_SOON, Problem
from tasks_api.models import Token, User

_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
AuthorizationHeader = Annotated[str | None, Header(alias="Authorization", include_in_schema=False)]
CHALLENGE = 'Bearer realm="tasks"'
# concordance: password-hashing
# The OWASP baseline the spec fixes; verification accepts any argon2 PHC string (parameters can rise).
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, hash_len=32, salt_len=16)


def hash_password(password: str) -> str:
    """An argon2id PHC string. CPU-bound (~tens of ms): only ever called from sync endpoints, which
    FastAPI runs in its threadpool, so the event loop keeps serving other requests meanwhile."""
    with hashing():
        return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when the password matches; False for a mismatch or a hash that is not argon2."""
    with hashing():
        try:
            return _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False


# end concordance


# concordance: login-limit
@cache
def _slots(concurrency: int) -> threading.BoundedSemaphore:
    return threading.BoundedSemaphore(concurrency)


def hash_slots() -> threading.BoundedSemaphore:
    """This process's argon2 slots (HASH_CONCURRENCY): a per-process bound on work, not shared state."""
    return _slots(get_settings().hash_concurrency)


@contextmanager
def hashing() -> Iterator[None]:
    """Hold one of the process's argon2 slots, or answer 503 when none frees up within a second: each hash
    costs ~30 ms of CPU and 19 MiB, so a login storm would otherwise take every core and all memory."""
    slots = hash_slots()
    if not slots.acquire(timeout=1.0):  # a threadpool thread waits: sync endpoints only
        raise Problem(
            "service-unavailable", "Too many passwords are being checked; retry shortly.", headers=RETRY_SOON
        )
    try:
        yield
    finally:
        slots.release()


# end concordance


@cache
def dummy_hash() -> str:
    """A hash to verify against when the email is unknown, so timing does not reveal which emails exist."""
    return _hasher.hash("not-a-password-of-anyone")  # once per process, outside the cap


# concordance: bearer-auth
def new_token() -> str:
    """32 bytes from the CSPRNG, base64url without padding: 43 characters."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode("ascii")


def token_hash(token: str) -> str:
    """What tokens.token_hash stores: lowercase hex SHA-256 of the token's ASCII characters."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


# end concordance


def expiry(ttl_seconds: int) -> str:
    """now + TOKEN_TTL_SECONDS in the timestamp format."""
    return (datetime.now(UTC) + timedelta(seconds=ttl_seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Principal:
    """Who is calling: the user and the hash of the token they used (to revoke it)."""

    user_id: int
    token_hash: str


def _authentication_required() -> Problem:
    return Problem(
        "authentication-required",
        "Send Authorization: Bearer <token>.",
        headers={"WWW-Authenticate": CHALLENGE},
    )


def invalid_token() -> Problem:
    """401 invalid-token, with the RFC 6750 error in WWW-Authenticate."""
    return Problem(
        "invalid-token",
        "The token is unknown, expired or revoked.",
        headers={"WWW-Authenticate": f'{CHALLENGE}, error="invalid_token"'},
    )


# concordance: bearer-auth
def bearer_token(authorization: str | None) -> str:
    """The token of an Authorization header; raises the fitting 401 problem otherwise."""
    if authorization is None:
        raise _authentication_required()
    scheme, space, token = authorization.partition(" ")
    if scheme.lower() != "bearer":
        raise _authentication_required()
    # Exactly one space, then exactly the token syntax: anything else is a bad token.
    if not space or not _TOKEN.fullmatch(token):
        raise invalid_token()
    return token


def _principal(db: Session, authorization: str | None) -> Principal:
    # The token is looked up in the database every time, so a revoked token stops working at once on
    # every replica.
    digest = token_hash(bearer_token(authorization))
    with read_transaction(db):
        user_id = db.scalar(
            select(Token.user_id)
            .join(User, User.id == Token.user_id)
            .where(Token.token_hash == digest, Token.expires_at > utc_now())
        )
    if user_id is None:
        raise invalid_token()
    return Principal(user_id=user_id, token_hash=digest)


def current_user(db: Db, authorization: AuthorizationHeader = None) -> Principal:
    """FastAPI dependency: the user of a valid bearer token, with the request's session."""
    return _principal(db, authorization)


CurrentUser = Annotated[Principal, Depends(current_user)]
# end concordance


def authenticate(authorization: str | None) -> Principal:
    """The current_user check with a session of its own, closed at once (blocking: threadpool)."""
    with new_session() as db:
        return _principal(db, authorization)


def stream_user(authorization: AuthorizationHeader = None) -> Principal:
    """FastAPI dependency for long responses (GET /events): the same check with a session of its own,
    closed at once. The request's session (get_db) would be closed only when the response ends, and
    FastAPI runs that clean-up in a thread outside the threadpool's limit: a thousand streams ending
    together would start a thousand threads."""
    return authenticate(authorization)


StreamUser = Annotated[Principal, Depends(stream_user)]
