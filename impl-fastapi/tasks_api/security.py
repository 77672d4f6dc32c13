"""argon2id passwords (the dummy hash for unknown emails), bearer tokens, and the Caller."""

from __future__ import annotations

import base64
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
from sqlalchemy.orm import Session

from tasks_api import clock
from tasks_api.config import get_settings
from tasks_api.db import new_session, read_transaction
from tasks_api.errors import RETRY_SOON, ApiError
from tasks_api.queries import USER_BY_TOKEN

TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{43}")
CHALLENGE = 'Bearer realm="tasks"'
# concordance: password-hashing
# The OWASP baseline the spec fixes; verification accepts any argon2 PHC string (parameters can rise).
HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, hash_len=32, salt_len=16)
# What an unknown email is verified against, so that its login costs what a known one costs and the
# response time does not tell which emails exist: an argon2id hash of the parameters above (of a
# password nobody has), written out rather than computed at import.
DUMMY_HASH = (
    "$argon2id$v=19$m=19456,t=2,p=1$TH8GzXR2C6LiktketiAxpg$vm8uA7dvsNjgVlK7+s1Q7D1IZHtZbkpt5gkhxfznvVo"
)


def hash_password(password: str) -> str:
    """An argon2id PHC string. CPU-bound (~tens of ms): only ever called from sync endpoints, which
    FastAPI runs in its threadpool, so the event loop keeps serving other requests meanwhile."""
    with hashing_slot():
        return HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when the password matches; False for a mismatch or a hash that is not argon2."""
    with hashing_slot():
        try:
            return HASHER.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False


def verify_login(password_hash: str | None, password: str) -> bool:
    """A login's password check: the user's hash, or DUMMY_HASH for an unknown email (None), which
    spends the same verification and never matches."""
    matched = verify_password(password_hash or DUMMY_HASH, password)
    return matched and password_hash is not None


# end concordance


# concordance: login-limit
@cache
def _slots(concurrency: int) -> threading.BoundedSemaphore:
    return threading.BoundedSemaphore(concurrency)


def hash_slots() -> threading.BoundedSemaphore:
    """This process's argon2 slots (HASH_CONCURRENCY): a per-process bound on work, not shared state."""
    return _slots(get_settings().hash_concurrency)


@contextmanager
def hashing_slot() -> Iterator[None]:
    """Hold one of the process's argon2 slots, or answer 503 when none frees up within a second: each hash
    costs ~30 ms of CPU and 19 MiB, so a login storm would otherwise take every core and all memory."""
    slots = hash_slots()
    if not slots.acquire(timeout=1.0):  # a threadpool thread waits: sync endpoints only
        raise ApiError(
            "service-unavailable", "Too many passwords are being checked; retry shortly.", headers=RETRY_SOON
        )
    try:
        yield
    finally:
        slots.release()


# end concordance


# concordance: bearer-auth
def new_token() -> str:
    """32 bytes from the CSPRNG, base64url without padding: 43 characters."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode("ascii")


def token_hash(token: str) -> str:
    """What tokens.token_hash stores: lowercase hex SHA-256 of the token's ASCII characters."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


# end concordance


@dataclass(frozen=True)
class Caller:
    """The authenticated user of a request and the hash of the token it used (to revoke it)."""

    user_id: int
    token_hash: str


def _authentication_required() -> ApiError:
    return ApiError(
        "authentication-required",
        "Send Authorization: Bearer <token>.",
        headers={"WWW-Authenticate": CHALLENGE},
    )


def invalid_token() -> ApiError:
    """401 invalid-token, with the RFC 6750 error in WWW-Authenticate."""
    return ApiError(
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
    if not space or not TOKEN_RE.fullmatch(token):
        raise invalid_token()
    return token


@dataclass
class Credentials:
    """A well-formed bearer token, as its hash; `checked` once the database has judged it. deps.bearer
    leaves it in the request scope (errors.BEARER): an answer decided before the endpoint ran (422, 413,
    415, 400) checks an unchecked token first, so that 401 still comes first (errors.token_first)."""

    token_hash: str
    checked: bool = False


def authenticate(db: Session, credentials: Credentials) -> Caller:
    """The Caller, checked in the database in a read of its own; 401 invalid-token when the token is
    unknown, expired or revoked. Looked up every time: a revoked token stops working at once on every
    replica."""
    with read_transaction(db):
        user_id = db.scalar(USER_BY_TOKEN, {"digest": credentials.token_hash, "now": clock.now()})
    return checked(credentials, user_id)


def checked(credentials: Credentials, user_id: int | None) -> Caller:
    """The caller, from the user id a token lookup found (None: 401 invalid-token)."""
    if user_id is None:
        raise invalid_token()
    credentials.checked = True
    return Caller(user_id=user_id, token_hash=credentials.token_hash)


# end concordance


def check_token(credentials: Credentials) -> None:
    """authenticate() with a session of its own, closed at once (blocking: threadpool); raises 401
    invalid-token. errors.token_first calls it (app.state.check_token)."""
    with new_session() as db:
        authenticate(db, credentials)


def authenticate_header(authorization: str | None) -> Caller:
    """The whole bearer check of an Authorization header, with a session of its own, closed at once
    (blocking: threadpool): a client waiting for 100 Continue, and the live-event stream (deps.py)."""
    with new_session() as db:
        return authenticate(db, Credentials(token_hash(bearer_token(authorization))))
