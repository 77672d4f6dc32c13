"""Tag tokens: log in (a bearer token for an email and password), log out (revoke it)."""

from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse

from .. import login_limit
from ..body import read_json
from ..errors import ApiError, ValidationFailed
from ..models import Token, User
from ..schemas import TOKEN_CREATE, json_response, no_content, validate
from ..security import CHALLENGE, authenticate, issue_token, verify_password


def create_token(request: HttpRequest) -> HttpResponse:
    """Log in and get a bearer token"""
    document, _ = read_json(request)
    values, errors = validate(document, TOKEN_CREATE)
    if errors:
        raise ValidationFailed(errors)
    email = values["email"]
    login_limit.check(email)  # 429 after validation, before any hashing (spec "Order of checks")
    user = User.objects.filter(email=email).first()
    # An unknown email still spends one verification (of DUMMY_HASH): timing tells nothing.
    verified = verify_password(user.password_hash if user else None, values["password"])
    if user is None or not verified:
        login_limit.record_failure(email)
        raise invalid_credentials()
    login_limit.clear(email)
    try:
        token, expires_at = issue_token(user.id)
    except IntegrityError:
        # The user was deleted between the password check and the INSERT.
        raise invalid_credentials() from None
    # A response that carries a credential is never stored by a cache (RFC 6749 5.1).
    return json_response(
        {"access_token": token, "token_type": "Bearer", "expires_at": expires_at},
        201,
        {"Cache-Control": "no-store"},
    )


def invalid_credentials() -> ApiError:
    """401 invalid-credentials, with the challenge every 401 carries (RFC 9110 15.5.2)."""
    return ApiError(
        "invalid-credentials",
        "The email or password is wrong.",
        headers={"WWW-Authenticate": CHALLENGE},
    )


def revoke_token(request: HttpRequest) -> HttpResponse:
    """Log out (revoke the token used for this request)"""
    caller = authenticate(request)
    Token.objects.filter(id=caller.token_id).delete()
    return no_content()
