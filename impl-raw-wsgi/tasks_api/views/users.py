"""Tag users: register, read and delete the current user."""

from __future__ import annotations

from sqlalchemy import delete, insert
from sqlalchemy.exc import IntegrityError

from tasks_api import schemas, security
from tasks_api.body import read_json
from tasks_api.clock import now
from tasks_api.errors import ApiError, require_valid
from tasks_api.http import Request, Response
from tasks_api.models import users
from tasks_api.security import authenticate


def create_user(request: Request) -> Response:
    """Register a user"""
    body = read_json(request)
    values, errors = schemas.parse_object(body.value, schemas.USER_CREATE)
    require_valid(errors)
    # Slow on purpose (argon2), so outside any transaction: no lock is held while it runs.
    password_hash = security.hash_password(values.pop("password"), request.settings.hash_concurrency)
    try:
        with request.db.write() as connection:
            row = connection.execute(
                insert(users)
                .values(**values, password_hash=password_hash, created_at=now())
                .returning(*users.c)
            ).one()
    except IntegrityError:  # the unique email: checking first would still race with a concurrent insert
        raise ApiError("email-taken", "A user with this email exists.") from None
    return Response.json(schemas.user_json(row), 201, [("Location", "/users/me")])


def get_current_user(request: Request) -> Response:
    """Get the current user"""
    return Response.json(schemas.user_json(authenticate(request)))


def delete_current_user(request: Request) -> Response:
    """Delete the current user and everything they own"""
    caller = authenticate(request)
    with request.db.write() as connection:  # the schema's ON DELETE CASCADE removes the rest
        connection.execute(delete(users).where(users.c.id == caller.user_id))
    return Response.empty(204)
