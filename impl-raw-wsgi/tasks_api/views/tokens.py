"""Tag tokens: log in (a bearer token for email and password), log out (revoke the token used)."""

from __future__ import annotations

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from tasks_api import login_limit, schemas, security
from tasks_api.body import read_json
from tasks_api.clock import now
from tasks_api.errors import ApiError, require_valid
from tasks_api.http import Request, Response
from tasks_api.models import tokens, users
from tasks_api.security import authenticate


def create_token(request: Request) -> Response:
    """Log in and get a bearer token"""
    body = read_json(request)
    values, errors = schemas.parse_object(body.value, schemas.TOKEN_CREATE)
    require_valid(errors)
    settings = request.settings
    email, password = values["email"], values["password"]
    login_limit.check(request.db, settings, email)  # 429 before any hashing is spent
    with request.db.read() as connection:
        user = connection.execute(
            select(users.c.id, users.c.password_hash).where(users.c.email == email)
        ).one_or_none()
    # An unknown email spends one verification too (of DUMMY_HASH), so the time does not tell it apart.
    stored_hash = user.password_hash if user is not None else None
    verified = security.verify_password(stored_hash, password, settings.hash_concurrency)
    if not verified or user is None:
        login_limit.record_failure(request.db, settings, email)  # any email, registered or not
        raise _invalid_credentials()
    new_hash = None
    if security.HASHER.check_needs_rehash(user.password_hash):  # parameters were raised since it was made
        new_hash = security.hash_password(password, settings.hash_concurrency)  # outside the transaction
    token = security.new_token()
    expires_at = now(settings.token_ttl_seconds)
    try:
        with request.db.write() as connection:
            login_limit.clear(connection, email)
            connection.execute(  # housekeeping: this user's expired tokens can never work again
                delete(tokens).where(tokens.c.user_id == user.id, tokens.c.expires_at <= now())
            )
            connection.execute(
                insert(tokens).values(
                    user_id=user.id,
                    token_hash=security.token_hash(token),
                    created_at=now(),
                    expires_at=expires_at,
                )
            )
            if new_hash is not None:
                connection.execute(update(users).where(users.c.id == user.id).values(password_hash=new_hash))
    except IntegrityError:  # the user was deleted a moment ago
        raise _invalid_credentials() from None
    # no-store: a response that carries a credential is never kept by a cache (RFC 6749 5.1).
    return Response.json(
        {"access_token": token, "token_type": "Bearer", "expires_at": expires_at},
        201,
        [("Cache-Control", "no-store")],
    )


def _invalid_credentials() -> ApiError:
    # Every 401 carries a challenge (RFC 9110 15.5.2): the scheme the token would have been used with.
    return ApiError(
        "invalid-credentials",
        "The email or password is wrong.",
        headers=[("WWW-Authenticate", security.CHALLENGE)],
    )


def revoke_token(request: Request) -> Response:
    """Log out (revoke the token used for this request)"""
    caller = authenticate(request)
    with request.db.write() as connection:
        connection.execute(delete(tokens).where(tokens.c.token_hash == caller.token_hash))
    return Response.empty(204)
