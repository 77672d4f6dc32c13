"""Tag users: register, read and delete the current user."""

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse

from ..body import read_json
from ..clock import now
from ..errors import ApiError, ValidationFailed
from ..models import User
from ..queries import current_user
from ..schemas import USER_CREATE, json_response, no_content, user_json, validate
from ..security import authenticate, hash_password


def create_user(request: HttpRequest) -> HttpResponse:
    """Register a user"""
    document, _ = read_json(request)
    values, errors = validate(document, USER_CREATE)
    if errors:
        raise ValidationFailed(errors)
    password_hash = hash_password(values["password"])
    try:
        with transaction.atomic():
            user = User.objects.create(
                email=values["email"],
                password_hash=password_hash,
                name=values["name"],
                created_at=now(),
            )
    except IntegrityError:
        # The unique email, checked by the database: two concurrent registrations cannot both win.
        raise ApiError("email-taken", "A user with this email exists.") from None
    return json_response(user_json(user), 201, {"Location": "/users/me"})


def get_current_user(request: HttpRequest) -> HttpResponse:
    """Get the current user"""
    return json_response(user_json(current_user(request)))  # the token and its user in one statement


def delete_current_user(request: HttpRequest) -> HttpResponse:
    """Delete the current user and everything they own"""
    caller = authenticate(request)
    # One DELETE; the schema's ON DELETE CASCADE removes tokens, projects, tasks and idempotency records.
    User.objects.filter(id=caller.user_id).delete()
    return no_content()
