"""The handlers, one per operationId of spec/openapi.yaml; each docstring is the operation's summary."""

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Model, QuerySet
from django.http import HttpRequest, HttpResponse

from . import db, idempotency, login_limit
from .conditional import IfMatch, etag, not_modified, precondition_failed
from .errors import ApiError, ValidationFailed, not_found, problem_response
from .lookups import caller_and_project, owned_project, owned_task
from .models import Project, Task, Token, User
from .outbox import changed, deleted, lock_owner, record_event
from .pagination import decode_cursor, encode_cursor, next_link, scope
from .schemas import (
    PROJECT_CREATE,
    PROJECT_PATCH,
    TASK_CREATE,
    TASK_PATCH,
    TASK_REPLACE,
    TOKEN_CREATE,
    USER_CREATE,
    json_response,
    list_params,
    project_json,
    read_json,
    task_json,
    user_json,
    validate,
)
from .security import (
    WWW_AUTHENTICATE,
    authenticate,
    bearer_token,
    hash_password,
    invalid_token,
    issue_token,
    timestamp,
    token_hash,
    verify_password,
)

NO_CONTENT = 204
FOREIGN_PROJECT = {"pointer": "/project_id", "detail": "must be the id of one of your projects"}


def _no_content() -> HttpResponse:
    return HttpResponse(status=NO_CONTENT)


# --- users and tokens ---


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
                created_at=timestamp(),
            )
    except IntegrityError:
        # The unique email, checked by the database: two concurrent registrations cannot both win.
        raise ApiError("email-taken", "A user with this email exists.") from None
    return json_response(user_json(user), 201, {"Location": "/users/me"})


def get_current_user(request: HttpRequest) -> HttpResponse:
    """Get the current user"""
    return json_response(user_json(authenticate(request)))


def delete_current_user(request: HttpRequest) -> HttpResponse:
    """Delete the current user and everything they own"""
    user = authenticate(request)
    # One DELETE; the schema's ON DELETE CASCADE removes tokens, projects, tasks and idempotency records.
    User.objects.filter(id=user.id).delete()
    return _no_content()


def create_token(request: HttpRequest) -> HttpResponse:
    """Log in and get a bearer token"""
    document, _ = read_json(request)
    values, errors = validate(document, TOKEN_CREATE)
    if errors:
        raise ValidationFailed(errors)
    email = values["email"]
    login_limit.check(email)  # 429 after validation, before any hashing (spec "Order of checks")
    user = User.objects.filter(email=email).first()
    # An unknown email still spends one verification (against a dummy hash): timing tells nothing.
    verified = verify_password(user.password_hash if user else None, values["password"])
    if user is None or not verified:
        login_limit.record_failure(email)
        raise invalid_credentials()
    login_limit.clear(email)
    try:
        token, expires_at = issue_token(user)
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
    # Every 401 carries a challenge (RFC 9110 15.5.2): the scheme the token would have been used with.
    return ApiError(
        "invalid-credentials",
        "The email or password is wrong.",
        headers={"WWW-Authenticate": WWW_AUTHENTICATE},
    )


def revoke_token(request: HttpRequest) -> HttpResponse:
    """Log out (revoke the token used for this request)"""
    authenticate(request)
    Token.objects.filter(token_hash=token_hash(bearer_token(request))).delete()
    return _no_content()


# --- shared by the project and task handlers ---


# concordance: ownership
def _owned_project(user: User, project_id: int) -> Project:
    project = Project.objects.filter(id=project_id, owner_id=user.id).first()
    if project is None:
        # Someone else's project is as missing as a deleted one: existence does not leak.
        raise not_found("project")
    return project


def _owned_task(user: User, task_id: int) -> Task:
    task = Task.objects.filter(id=task_id, project__owner_id=user.id).first()
    if task is None:
        raise not_found("task")
    return task


# end concordance


# concordance: optimistic-concurrency
def _conditional_write(rows: QuerySet[Any], expected: int | None, changes: dict[str, Any]) -> int:
    """One UPDATE ... SET ..., version = version + 1 WHERE id = :id [AND version = :expected]."""
    if expected is not None:
        rows = rows.filter(version=expected)
    return rows.update(**changes, version=F("version") + 1, updated_at=timestamp())


def _lost_race(still_there: bool, what: str) -> ApiError:
    """Zero rows changed: the row vanished (404) or another writer changed its version first (412)."""
    return precondition_failed() if still_there else not_found(what)


# end concordance


def _page(
    request: HttpRequest,
    rows: QuerySet[Any],
    limit: int,
    bound: dict[str, Any],
    render: Callable[[Any], dict[str, Any]],
    link_params: tuple[str, ...],
) -> HttpResponse:
    """One keyset page: limit + 1 rows tell whether there is a next one."""
    items: list[Model] = list(rows.order_by("id")[: limit + 1])
    page, more = items[:limit], len(items) > limit
    next_cursor = encode_cursor(bound, page[-1].pk) if more else None
    headers = {}
    if next_cursor:
        raw = {name: request.GET[name] for name in link_params if name in request.GET}
        if "limit" in raw:
            raw["limit"] = str(limit)  # the decimal integer it is: limit=05 is written back as limit=5
        headers["Link"] = next_link(request.path, raw, next_cursor)
    return json_response(
        {"items": [render(item) for item in page], "next_cursor": next_cursor}, headers=headers
    )


def _project_response(project: Project, status: int = 200, location: bool = False) -> HttpResponse:
    headers = {"ETag": etag(project.version)}
    if location:
        headers["Location"] = f"/projects/{project.id}"
    return json_response(project_json(project), status, headers)


def _task_response(task: Task, status: int = 200, location: bool = False) -> HttpResponse:
    headers = {"ETag": etag(task.version)}
    if location:
        headers["Location"] = f"/tasks/{task.id}"
    return json_response(task_json(task), status, headers)


# --- projects ---


def list_projects(request: HttpRequest) -> HttpResponse:
    """List the current user's projects"""
    user = authenticate(request)
    params, errors = list_params(request, filters=False)
    if errors:
        raise ValidationFailed(errors)
    bound = scope("projects", user.id, None, params)
    after = decode_cursor(params.cursor, bound) if params.cursor else 0
    rows = Project.objects.filter(owner_id=user.id, id__gt=after)
    return _page(request, rows, params.limit, bound, project_json, ("limit",))


def create_project(request: HttpRequest) -> HttpResponse:
    """Create a project"""
    user = authenticate(request)
    document, body = read_json(request)
    values, errors = validate(document, PROJECT_CREATE)
    key, key_errors = idempotency.key_from(request)
    if errors or key_errors:
        raise ValidationFailed(errors + key_errors)

    def create() -> HttpResponse:
        lock_owner(user.id)  # first: the outbox's lock order (outbox.py)
        now = timestamp()
        try:
            with transaction.atomic():  # a savepoint, so the failed INSERT leaves the transaction usable
                project = Project.objects.create(owner_id=user.id, created_at=now, updated_at=now, **values)
        except IntegrityError:
            # The user was deleted a moment ago (foreign key violation), and their tokens with them.
            raise invalid_token() from None
        record_event(user.id, "project.created", changed(project_json(project)))
        return _project_response(project, 201, location=True)

    return idempotency.run(request, user.id, key, body, create)


def get_project(request: HttpRequest, project_id: int) -> HttpResponse:
    """Get a project"""
    project = owned_project(request, project_id)  # the token and the project in one statement
    return not_modified(request, project.version) or _project_response(project)


def update_project(request: HttpRequest, project_id: int) -> HttpResponse:
    """Update a project (JSON merge patch)"""
    user = authenticate(request)
    document, _ = read_json(request, merge_patch=True)
    values, errors = validate(document, PROJECT_PATCH)
    if errors:
        raise ValidationFailed(errors)
    if_match = IfMatch(request)
    with transaction.atomic():
        lock_owner(user.id)
        project = _owned_project(user, project_id)
        expected = if_match.expected_version(project.version)
        mine = Project.objects.filter(id=project.id, owner_id=user.id)
        if not _conditional_write(mine, expected, values):
            raise _lost_race(mine.exists(), "project")
        project.refresh_from_db()
        record_event(user.id, "project.updated", changed(project_json(project)))
    return _project_response(project)


def delete_project(request: HttpRequest, project_id: int) -> HttpResponse:
    """Delete a project and its tasks"""
    user = authenticate(request)
    if_match = IfMatch(request)
    with transaction.atomic():
        lock_owner(user.id)
        project = _owned_project(user, project_id)
        expected = if_match.expected_version(project.version)
        mine = Project.objects.filter(id=project.id, owner_id=user.id)
        # One DELETE ... WHERE id = :id [AND version = :expected]; tasks go by ON DELETE CASCADE.
        count, _ = (mine.filter(version=expected) if expected is not None else mine).delete()
        if not count:
            raise _lost_race(mine.exists(), "project")
        # Its tasks go without a task.deleted each (spec/README.md, "Live events").
        record_event(user.id, "project.deleted", deleted(project.id, project.version))
    return _no_content()


# --- tasks ---


def list_tasks(request: HttpRequest, project_id: int) -> HttpResponse:
    """List a project's tasks"""
    # Hot path: the token and the project's ownership in one statement (lookups.py), then the page.
    # No transaction around the two (no SQLite BEGIN; on PostgreSQL's READ COMMITTED it would not give
    # one snapshot anyway): a project deleted in between reads as an empty page (its tasks went with it
    # in one transaction), and the next request gets the 404. Nobody else's rows are ever read.
    user_id, mine = caller_and_project(request, project_id)
    params, errors = list_params(request, filters=True)
    if errors:
        raise ValidationFailed(errors)
    bound = scope("tasks", user_id, project_id, params)
    # The cursor before the project's 404 (spec order of checks): a foreign cursor tells nothing.
    after = decode_cursor(params.cursor, bound) if params.cursor else 0
    if not mine:
        raise not_found("project")
    rows = Task.objects.filter(project_id=project_id, id__gt=after)
    if params.done is not None:
        rows = rows.filter(done=params.done)
    if params.priority is not None:
        rows = rows.filter(priority=params.priority)
    return _page(request, rows, params.limit, bound, task_json, ("limit", "done", "priority"))


def create_task(request: HttpRequest, project_id: int) -> HttpResponse:
    """Create a task in a project"""
    # Hot path: the token and the project's ownership in one statement, before the body is read.
    user_id, mine = caller_and_project(request, project_id)
    document, body = read_json(request)
    values, errors = validate(document, TASK_CREATE)
    key, key_errors = idempotency.key_from(request)
    if errors or key_errors:
        raise ValidationFailed(errors + key_errors)
    if not mine:
        raise not_found("project")  # the resource (404) before idempotency

    def create() -> HttpResponse:
        lock_owner(user_id)
        now = timestamp()
        try:
            # No savepoint: a failed INSERT ends the whole transaction anyway (the 404 rolls it back).
            task = Task.objects.create(project_id=project_id, created_at=now, updated_at=now, **values)
        except IntegrityError:
            # The project was deleted between the check and the INSERT (foreign key violation).
            raise not_found("project") from None
        record_event(user_id, "task.created", changed(task_json(task)))
        return _task_response(task, 201, location=True)

    return idempotency.run(request, user_id, key, body, create)


def get_task(request: HttpRequest, task_id: int) -> HttpResponse:
    """Get a task"""
    task = owned_task(request, task_id)  # the token and the task in one statement (lookups.py)
    return not_modified(request, task.version) or _task_response(task)


def _write_task(
    request: HttpRequest, task_id: int, members: dict[str, Any], merge_patch: bool
) -> HttpResponse:
    """PUT and PATCH: validate, 404, 412, foreign project 422, then one conditional UPDATE."""
    user = authenticate(request)
    document, _ = read_json(request, merge_patch=merge_patch)
    values, errors = validate(document, members)
    if errors:
        raise ValidationFailed(errors)
    if_match = IfMatch(request)
    with transaction.atomic():
        lock_owner(user.id)
        task = _owned_task(user, task_id)
        expected = if_match.expected_version(task.version)
        target = values.get("project_id", task.project_id)
        if target != task.project_id and not Project.objects.filter(id=target, owner_id=user.id).exists():
            raise ValidationFailed([FOREIGN_PROJECT])
        rows = Task.objects.filter(id=task.id)
        try:
            with transaction.atomic():  # savepoint: the target project may vanish under us
                count = _conditional_write(rows, expected, values)
        except IntegrityError:
            raise ValidationFailed([FOREIGN_PROJECT]) from None
        if not count:
            raise _lost_race(rows.exists(), "task")
        task.refresh_from_db()
        record_event(user.id, "task.updated", changed(task_json(task)))
    return _task_response(task)


def replace_task(request: HttpRequest, task_id: int) -> HttpResponse:
    """Replace a task"""
    return _write_task(request, task_id, TASK_REPLACE, merge_patch=False)


def update_task(request: HttpRequest, task_id: int) -> HttpResponse:
    """Update a task (JSON merge patch)"""
    return _write_task(request, task_id, TASK_PATCH, merge_patch=True)


def delete_task(request: HttpRequest, task_id: int) -> HttpResponse:
    """Delete a task"""
    user = authenticate(request)
    if_match = IfMatch(request)
    with transaction.atomic():
        lock_owner(user.id)
        task = _owned_task(user, task_id)
        expected = if_match.expected_version(task.version)
        rows = Task.objects.filter(id=task.id)
        count, _ = (rows.filter(version=expected) if expected is not None else rows).delete()
        if not count:
            raise _lost_race(rows.exists(), "task")
        record_event(user.id, "task.deleted", deleted(task.id, task.version, task.project_id))
    return _no_content()


# --- operations ---


# concordance: health
def get_health(request: HttpRequest) -> HttpResponse:
    """Liveness (the process answers; the database is not touched)"""
    return json_response({"status": "ok"})


def get_readiness(request: HttpRequest) -> HttpResponse:
    """Readiness (the database answers)"""
    # Bounded: db.ready() gives up after one second, whatever the database does.
    if not db.ready():
        return problem_response(
            "service-unavailable",
            "The database cannot be reached or did not answer within one second.",
            headers={"Retry-After": "1"},
        )
    return json_response({"status": "ok", "checks": {"database": "ok"}})


# end concordance


def get_openapi(request: HttpRequest) -> HttpResponse:
    """This document, byte for byte"""
    # Read per request: the canonical file, never a copy that could drift (it is small and page-cached).
    return HttpResponse((settings.SPEC_DIR / "openapi.yaml").read_bytes(), content_type="application/yaml")
