"""argon2id passwords (the dummy hash for unknown users), bearer tokens (SHA-256 at rest), the Caller."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import re
import secrets
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask, current_app, g, request
from sqlalchemy import Executable, Row

from .clock import now, timestamp
from .db import get_session
from .errors import PROBLEMS, RETRY_SOON, ApiError
from .models import User
from .queries import USER_BY_TOKEN

# concordance: password-hashing
# The OWASP baseline the spec fixes, so every port writes the same PHC strings.
HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, hash_len=32, salt_len=16)
# An unknown email still spends one verification, so the response time does not tell which emails exist.
DUMMY_HASH = HASHER.hash("no user has this password")
# end concordance
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{43}")
CHALLENGE = 'Bearer realm="tasks"'

F = TypeVar("F", bound=Callable[..., Any])
HASH_WAIT_SECONDS = 1.0  # a request that cannot start a hash within this long is 503
SLOTS = "tasks_api.hash_slots"


@dataclass(frozen=True)
class Caller:
    """The authenticated caller of a request (g.caller): the user, and the token's hash (for log-out)."""

    user_id: int
    token_hash: str


# concordance: login-limit
def init_app(app: Flask) -> None:
    """The hashing cap: at most HASH_CONCURRENCY argon2 computations at once in this process (each costs
    about 30 ms of CPU and 19 MiB); a per-process bound on work, not shared state."""
    app.extensions[SLOTS] = threading.BoundedSemaphore(app.config["HASH_CONCURRENCY"])


@contextlib.contextmanager
def hashing_slot() -> Iterator[None]:
    """Hold one of the process's hashing slots, or answer 503 when none frees up within a second: a login
    storm then costs ordinary requests at most HASH_CONCURRENCY cores, never every core and all memory."""
    slots: threading.BoundedSemaphore = current_app.extensions[SLOTS]
    if not slots.acquire(timeout=HASH_WAIT_SECONDS):
        raise ApiError(
            "service-unavailable", "Too many passwords are being checked; retry shortly.", headers=RETRY_SOON
        )
    try:
        yield
    finally:
        slots.release()


# end concordance


# concordance: password-hashing
def hash_password(password: str) -> str:
    """An argon2id PHC string."""
    with hashing_slot():
        return HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether the password matches; always costs one argon2 verification."""
    with hashing_slot():
        try:
            return HASHER.verify(password_hash or DUMMY_HASH, password) and password_hash is not None
        except (VerificationError, InvalidHashError):
            return False


# end concordance


# concordance: bearer-auth
def new_token() -> str:
    """32 CSPRNG bytes as base64url without padding: 43 characters."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """The lowercase hex SHA-256 stored in tokens.token_hash (the token itself is never stored)."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def _unauthorized(slug: str, detail: str) -> ApiError:
    challenge = CHALLENGE if slug == "authentication-required" else CHALLENGE + ', error="invalid_token"'
    return ApiError(slug, detail, headers={"WWW-Authenticate": challenge})


def bearer_token_hash() -> str:
    """The SHA-256 of the request's bearer token; 401 when the header is missing or cannot hold a token."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        raise _unauthorized("authentication-required", "Send Authorization: Bearer <token>.")
    if not TOKEN_RE.fullmatch(token):
        raise _unauthorized("invalid-token", "The token is unknown, expired or revoked.")
    return token_hash(token)


def authenticated(statement: Executable, **params: Any) -> Sequence[Row[Any]]:
    """The rows of a statement that joins the request's token to what it reads (queries.py), or a 401.

    The statement takes :token_hash and :now besides `params`; no row means the token is unknown, expired
    or revoked. Run on every request, so a revoked token stops working at once on every replica.
    """
    token_hash = bearer_token_hash()
    moment = timestamp(now())
    rows = get_session().execute(statement, {"token_hash": token_hash, "now": moment, **params}).all()
    if not rows:
        raise _unauthorized("invalid-token", "The token is unknown, expired or revoked.")
    g.caller = Caller(rows[0].user_id, token_hash)
    return rows


def authenticate() -> User:
    """The user of the request's bearer token (g.caller is set), or a 401 problem."""
    token_hash = bearer_token_hash()
    user = get_session().scalar(USER_BY_TOKEN, {"token_hash": token_hash, "now": timestamp(now())})
    if user is None:
        raise _unauthorized("invalid-token", "The token is unknown, expired or revoked.")
    g.caller = Caller(user.id, token_hash)
    return user


def login_required(view: F) -> F:
    """Authenticate inside the view, after routing (404 and 405 come before 401; OPTIONS needs none)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        authenticate()
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def token_checked_in_view(view: F) -> F:
    """For the hot views, whose first statement checks the token itself (`authenticated`, queries.py).

    A problem the view raises before that statement ran (a 422 query parameter, a 400 cursor) is preceded
    by the token check here, so the spec's order (401 first) holds whatever the view checks first.
    """

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except ApiError as problem:
            if "caller" not in g and PROBLEMS[problem.slug][0] != 401:
                authenticate()  # raises the 401 when the token is bad; else the view's own problem stands
            raise

    return wrapper  # type: ignore[return-value]


# end concordance
