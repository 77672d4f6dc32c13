"""users: register, read and delete the current user."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Response
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from tasks_api import clock
from tasks_api.body import BodyRoute
from tasks_api.db import single_read, write_transaction
from tasks_api.deps import Bearer, Db
from tasks_api.errors import ApiError
from tasks_api.models import User
from tasks_api.queries import CURRENT_USER
from tasks_api.schemas import UserCreate, UserOut, json_response, no_content, render
from tasks_api.security import authenticate, checked, hash_password

router = APIRouter(route_class=BodyRoute, tags=["users"])


# Sync endpoints (`def`): FastAPI runs them in its threadpool, so the argon2 hash and the blocking
# SQLAlchemy calls never hold up the event loop.
@router.post("/users")
def create_user(payload: Annotated[UserCreate, Body()], db: Db) -> Response:
    """Register a user"""
    password_hash = hash_password(payload.password)  # before the transaction: no lock held while hashing
    user = User(email=payload.email, password_hash=password_hash, name=payload.name, created_at=clock.now())
    try:
        with write_transaction(db):
            db.add(user)
    except IntegrityError:
        # The unique constraint decides, so two concurrent registrations cannot both win.
        raise ApiError("email-taken", "A user with this email exists.") from None
    return json_response(render(UserOut.model_validate(user)), 201, {"Location": "/users/me"})


# One statement (queries.CURRENT_USER: the token joined to its user), on a connection of its own like
# the other hot-path reads: no row is 401, whether the token is bad or its user was deleted since.
@router.api_route("/users/me", methods=["GET", "HEAD"])
def get_current_user(token: Bearer) -> Response:
    """Get the current user"""
    with single_read() as conn:
        row = conn.execute(CURRENT_USER, {"digest": token.token_hash, "now": clock.now()}).first()
    checked(token, row.id if row else None)
    return json_response(render(UserOut.model_validate(row)))


@router.delete("/users/me")
def delete_current_user(token: Bearer, db: Db) -> Response:
    """Delete the current user and everything they own"""
    caller = authenticate(db, token)
    with write_transaction(db):
        # The schema's ON DELETE CASCADE removes tokens, projects, tasks and idempotency records.
        db.execute(delete(User).where(User.id == caller.user_id))
    return no_content()
