"""tokens: log in (create a bearer token) and log out (revoke the token used)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Response
from sqlalchemy import delete, select

from tasks_api import clock, login_limit
from tasks_api.body import BodyRoute
from tasks_api.config import get_settings
from tasks_api.db import read_transaction, write_transaction
from tasks_api.deps import Bearer, Db
from tasks_api.errors import ApiError
from tasks_api.models import Token, User
from tasks_api.schemas import TokenCreate, TokenOut, json_response, no_content, render
from tasks_api.security import CHALLENGE, authenticate, new_token, token_hash, verify_login

router = APIRouter(route_class=BodyRoute, tags=["tokens"])


# concordance: bearer-auth
@router.post("/tokens")
def create_token(payload: Annotated[TokenCreate, Body()], db: Db) -> Response:
    """Log in and get a bearer token"""
    login_limit.check(db, payload.email)  # 429 after validation (422), before any hashing
    with read_transaction(db):
        user = db.scalar(select(User).where(User.email == payload.email))
    # An unknown email still spends one verification (security.DUMMY_HASH): the response time does
    # not tell which emails exist. Runs in the threadpool (sync endpoint), off the event loop.
    if not verify_login(user.password_hash if user else None, payload.password):
        login_limit.record_failure(db, payload.email)  # any email, registered or not
        # Every 401 carries a challenge (RFC 9110 15.5.2): the scheme the token would be used with.
        raise ApiError(
            "invalid-credentials", "The email or password is wrong.", headers={"WWW-Authenticate": CHALLENGE}
        )
    assert user is not None  # verify_login is False without a user
    token, now = new_token(), clock.now()
    expires_at = clock.now(get_settings().token_ttl_seconds)
    with write_transaction(db):
        login_limit.clear(db, payload.email)
        db.add(Token(user_id=user.id, token_hash=token_hash(token), created_at=now, expires_at=expires_at))
    # A response that carries a credential is never stored by a cache (RFC 6749 5.1).
    body = render(TokenOut(access_token=token, expires_at=expires_at))
    return json_response(body, 201, {"Cache-Control": "no-store"})


# end concordance


@router.delete("/tokens/current")
def revoke_token(token: Bearer, db: Db) -> Response:
    """Log out (revoke the token used for this request)"""
    caller = authenticate(db, token)
    with write_transaction(db):
        db.execute(delete(Token).where(Token.token_hash == caller.token_hash))
    return no_content()
