"""Tag users: register, read and delete the current user."""

from __future__ import annotations

from flask import Blueprint, Response, g, make_response
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from ..body import read_json
from ..clock import now, timestamp
from ..db import get_session
from ..errors import ApiError
from ..models import User
from ..routing import no_content
from ..schemas import USER_CREATE, user_json, validate
from ..security import authenticate, hash_password, login_required

bp = Blueprint("users", __name__)


@bp.post("/users")
def create_user() -> Response:
    """Register a user"""
    data = validate(read_json(), USER_CREATE)
    # Hashed before the first statement, so no write lock is held during the argon2 work.
    user = User(
        email=data["email"].lower(),
        password_hash=hash_password(data["password"]),
        name=data["name"],
        created_at=timestamp(now()),
    )
    session = get_session()
    session.add(user)
    try:
        session.commit()
    except IntegrityError:
        # The unique email decides, so two concurrent registrations cannot both win.
        session.rollback()
        raise ApiError("email-taken", "A user with this email exists.") from None
    return make_response(user_json(user), 201, {"Location": "/users/me"})


@bp.get("/users/me")
def get_current_user() -> Response:
    """Get the current user"""
    # The token check and the read are one statement; inside the view, so 404 and 405 come first.
    return make_response(user_json(authenticate()))


@bp.delete("/users/me")
@login_required
def delete_current_user() -> Response:
    """Delete the current user and everything they own"""
    session = get_session()
    session.execute(delete(User).where(User.id == g.caller.user_id))  # tokens, projects, tasks, keys cascade
    session.commit()
    return no_content()
