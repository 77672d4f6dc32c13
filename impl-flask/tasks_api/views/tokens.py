"""Tag tokens: log in, log out."""

from __future__ import annotations

import datetime

from flask import Blueprint, Response, current_app, g, make_response
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from .. import login_limit
from ..body import read_json
from ..clock import now, timestamp
from ..db import get_session
from ..errors import ApiError
from ..models import Token, User
from ..routing import no_content
from ..schemas import TOKEN_CREATE, validate
from ..security import CHALLENGE, login_required, new_token, token_hash, verify_password

bp = Blueprint("tokens", __name__)


def _wrong_credentials() -> ApiError:
    # Every 401 carries a challenge (RFC 9110 15.5.2): the scheme of the token this would have issued.
    return ApiError(
        "invalid-credentials", "The email or password is wrong.", headers={"WWW-Authenticate": CHALLENGE}
    )


# concordance: login-limit
@bp.post("/tokens")
def create_token() -> Response:
    """Log in and get a bearer token"""
    data = validate(read_json(), TOKEN_CREATE)
    email = data["email"].lower()
    session = get_session()
    login_limit.check(session, email)  # 429 after the 422, before any hashing
    row = session.execute(select(User.id, User.password_hash).where(User.email == email)).first()
    session.rollback()  # end the read: no transaction is held open during the password verification
    # Always one argon2 run: an unknown email is verified against security.DUMMY_HASH.
    matches = verify_password(row.password_hash if row else None, data["password"])
    if row is None or not matches:
        login_limit.record_failure(session, email)
        session.commit()
        raise _wrong_credentials()
    token, moment = new_token(), now()
    expires_at = timestamp(moment + datetime.timedelta(seconds=current_app.config["TOKEN_TTL_SECONDS"]))
    login_limit.clear(session, email)
    session.add(
        Token(
            user_id=row.id, token_hash=token_hash(token), created_at=timestamp(moment), expires_at=expires_at
        )
    )
    try:
        session.commit()
    except IntegrityError:
        session.rollback()  # the user was deleted during the verification
        raise _wrong_credentials() from None
    body = {"access_token": token, "token_type": "Bearer", "expires_at": expires_at}
    return make_response(body, 201, {"Cache-Control": "no-store"})  # RFC 6749: never cache a token


# end concordance


@bp.delete("/tokens/current")
@login_required
def revoke_token() -> Response:
    """Log out (revoke the token used for this request)"""
    session = get_session()
    session.execute(delete(Token).where(Token.token_hash == g.caller.token_hash))
    session.commit()
    return no_content()
