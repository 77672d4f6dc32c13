"""Tag projects: list, create (idempotent), read (conditional), patch and delete (If-Match)."""

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse

from .. import idempotency
from ..body import read_json
from ..clock import now
from ..conditional import IfMatch, conditional_write, etag, lost_race, not_modified
from ..errors import ValidationFailed, not_found
from ..models import Project
from ..outbox import changed, deleted, lock_owner, record_event
from ..pagination import decode_cursor, page, scope
from ..queries import owned_project
from ..schemas import (
    PROJECT_CREATE,
    PROJECT_PATCH,
    json_response,
    list_params,
    no_content,
    project_json,
    validate,
)
from ..security import Caller, authenticate, invalid_token


# concordance: ownership
def _owned_project(caller: Caller, project_id: int) -> Project:
    """The caller's project, read inside a write's transaction, or 404."""
    project = Project.objects.filter(id=project_id, owner_id=caller.user_id).first()
    if project is None:
        # Someone else's project is as missing as a deleted one: existence does not leak.
        raise not_found("project")
    return project


# end concordance


def _project_response(project: Project, status: int = 200, location: bool = False) -> HttpResponse:
    """The project as GET returns it, with its ETag (and its Location when it was just created)."""
    headers = {"ETag": etag(project.version)}
    if location:
        headers["Location"] = f"/projects/{project.id}"
    return json_response(project_json(project), status, headers)


def list_projects(request: HttpRequest) -> HttpResponse:
    """List the current user's projects"""
    caller = authenticate(request)
    params, errors = list_params(request, filters=False)
    if errors:
        raise ValidationFailed(errors)
    bound = scope("projects", caller.user_id, None, params)
    after = decode_cursor(params.cursor, bound) if params.cursor else 0
    rows = Project.objects.filter(owner_id=caller.user_id, id__gt=after)
    return page(request, rows, params.limit, bound, project_json, ("limit",))


def create_project(request: HttpRequest) -> HttpResponse:
    """Create a project"""
    caller = authenticate(request)
    document, body = read_json(request)
    values, errors = validate(document, PROJECT_CREATE)
    key, key_errors = idempotency.key_from(request)
    if errors or key_errors:
        raise ValidationFailed(errors + key_errors)
    owned = idempotency.claim(caller.user_id, key, idempotency.fingerprint(request, body))
    if isinstance(owned, HttpResponse):
        return owned  # the stored response, replayed
    with idempotency.release_on_failure(owned), transaction.atomic():
        lock_owner(caller.user_id)  # first: the outbox's lock order (outbox.py)
        created_at = now()
        try:
            with transaction.atomic():  # a savepoint, so the failed INSERT leaves the transaction usable
                project = Project.objects.create(
                    owner_id=caller.user_id, created_at=created_at, updated_at=created_at, **values
                )
        except IntegrityError:
            # The user was deleted a moment ago (foreign key violation), and their tokens with them.
            raise invalid_token() from None
        record_event(caller.user_id, "project.created", changed(project_json(project)))
        response = _project_response(project, 201, location=True)
        idempotency.store(owned, response)
    return response


def get_project(request: HttpRequest, project_id: int) -> HttpResponse:
    """Get a project"""
    project = owned_project(request, project_id)  # the token and the project in one statement
    return not_modified(request, project.version) or _project_response(project)


def update_project(request: HttpRequest, project_id: int) -> HttpResponse:
    """Update a project (JSON merge patch)"""
    caller = authenticate(request)
    document, _ = read_json(request, merge_patch=True)
    values, errors = validate(document, PROJECT_PATCH)
    if errors:
        raise ValidationFailed(errors)
    if_match = IfMatch(request)
    with transaction.atomic():
        lock_owner(caller.user_id)
        project = _owned_project(caller, project_id)
        expected = if_match.expected_version(project.version)
        mine = Project.objects.filter(id=project.id, owner_id=caller.user_id)
        if not conditional_write(mine, expected, values):
            raise lost_race(mine.exists(), "project")
        project.refresh_from_db()
        record_event(caller.user_id, "project.updated", changed(project_json(project)))
    return _project_response(project)


def delete_project(request: HttpRequest, project_id: int) -> HttpResponse:
    """Delete a project and its tasks"""
    caller = authenticate(request)
    if_match = IfMatch(request)
    with transaction.atomic():
        lock_owner(caller.user_id)
        project = _owned_project(caller, project_id)
        expected = if_match.expected_version(project.version)
        mine = Project.objects.filter(id=project.id, owner_id=caller.user_id)
        # One DELETE ... WHERE id = :id [AND version = :expected]; tasks go by ON DELETE CASCADE.
        count, _ = (mine.filter(version=expected) if expected is not None else mine).delete()
        if not count:
            raise lost_race(mine.exists(), "project")
        # Its tasks go without a task.deleted each (spec/README.md, "Live events").
        record_event(caller.user_id, "project.deleted", deleted(project.id, project.version))
    return no_content()
