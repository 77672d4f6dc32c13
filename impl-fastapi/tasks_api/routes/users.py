"""users: register, read and delete the current user."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Response
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from tasks_api.db import Db, read_transaction, utc_now, write_transaction
from tasks_api.errors import Problem
from tasks_api.models import User
from tasks_api.responses import json_response, no_content, render
from tasks_api.routing import BodyRoute
from tasks_api.schemas import UserCreate, UserOut
from tasks_api.security import Bearer, hash_password, invalid_token, principal

router = APIRouter(route_class=BodyRoute, tags=["users"])


# Sync endpoints (`def`): FastAPI runs them in its threadpool, so the argon2 hash and the blocking
# SQLAlchemy calls never hold up the event loop.
@router.post("/users")
def create_user(payload: Annotated[UserCreate, Body()], db: Db) -> Response:
    """Register a user"""
    password_hash = hash_password(payload.password)  # before the transaction: no lock held while hashing
    user = User(email=payload.email, password_hash=password_hash, name=payload.name, created_at=utc_now())
    try:
        with write_transaction(db):
            db.add(user)
    except IntegrityError:
        # The unique constraint decides, so two concurrent registrations cannot both win.
        raise Problem("email-taken", "A user with this email exists.") from None
    return json_response(render(UserOut.model_validate(user)), 201, {"Location": "/users/me"})


@router.api_route("/users/me", methods=["GET", "HEAD"])
def get_current_user(token: Bearer, db: Db) -> Response:
    """Get the current user"""
    user = principal(db, token)
    with read_transaction(db):
        row = db.scalar(select(User).where(User.id == user.user_id))
    if row is None:  # deleted (with its tokens) since the token was checked
        raise invalid_token()
    return json_response(render(UserOut.model_validate(row)))


@router.delete("/users/me")
def delete_current_user(token: Bearer, db: Db) -> Response:
    """Delete the current user and everything they own"""
    user = principal(db, token)
    with write_transaction(db):
        # The schema's ON DELETE CASCADE removes tokens, projects, tasks and idempotency records.
        db.execute(delete(User).where(User.id == user.user_id))
    return no_content()
