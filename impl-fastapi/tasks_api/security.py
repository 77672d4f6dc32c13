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
from fastapi import Depends, Header, Request
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from tasks_api.config import get_settings
from tasks_api.db import new_session, read_transaction, utc_now
from tasks_api.errors import BEARER, RETRY_SOON, Problem
from tasks_api.models import Token

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


@dataclass
class Credentials:
    """A well-formed bearer token, as its hash; `checked` once the database has judged it. The bearer
    dependency leaves it in the request scope (BEARER): an answer decided before the endpoint ran (422,
    413, 415, 400) checks an unchecked token first, so that 401 still comes first (errors.py)."""

    token_hash: str
    checked: bool = False


async def bearer(request: Request, authorization: AuthorizationHeader = None) -> Credentials:
    """FastAPI dependency: the token's hash, or the 401 a missing or malformed header gets.

    `async def` without I/O on purpose: it costs no threadpool hop. The database check happens in the
    endpoint's own thread, folded into its first statement (see principal() and the hot paths), so a
    request hops event loop -> threadpool once."""
    credentials = Credentials(token_hash(bearer_token(authorization)))
    request.scope[BEARER] = credentials
    return credentials


Bearer = Annotated[Credentials, Depends(bearer)]

# The token lookup, built once: the token, unexpired. The users join is not needed: the token row
# goes with its user (ON DELETE CASCADE).
_USER_OF_TOKEN = select(Token.user_id).where(
    Token.token_hash == bindparam("digest"), Token.expires_at > bindparam("now")
)


def principal(db: Session, credentials: Credentials) -> Principal:
    """The caller, checked in the database in a read of its own; 401 invalid-token when the token is
    unknown, expired or revoked. Looked up every time: a revoked token stops working at once on every
    replica."""
    with read_transaction(db):
        user_id = db.scalar(_USER_OF_TOKEN, {"digest": credentials.token_hash, "now": utc_now()})
    return checked(credentials, user_id)


def checked(credentials: Credentials, user_id: int | None) -> Principal:
    """The caller, from the user id a token lookup found (None: 401 invalid-token)."""
    if user_id is None:
        raise invalid_token()
    credentials.checked = True
    return Principal(user_id=user_id, token_hash=credentials.token_hash)


# end concordance


def check_token(credentials: Credentials) -> None:
    """The principal() check with a session of its own, closed at once (blocking: threadpool); raises
    401 invalid-token. errors.token_first calls it (app.state.check_token)."""
    with new_session() as db:
        principal(db, credentials)


def authenticate(authorization: str | None) -> Principal:
    """The whole bearer check with a session of its own, closed at once (blocking: threadpool)."""
    with new_session() as db:
        return principal(db, Credentials(token_hash(bearer_token(authorization))))


def stream_user(authorization: AuthorizationHeader = None) -> Principal:
    """FastAPI dependency for long responses (GET /events): the same check with a session of its own,
    closed at once. The request's session (get_db) would be closed only when the response ends, and
    FastAPI runs that clean-up in a thread outside the threadpool's limit: a thousand streams ending
    together would start a thousand threads."""
    return authenticate(authorization)


StreamUser = Annotated[Principal, Depends(stream_user)]
