"""Tag tasks: list (filters, keyset pages), create (idempotent), read, replace, patch, delete."""

from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse

from .. import idempotency
from ..body import read_json
from ..clock import now
from ..conditional import IfMatch, conditional_write, etag, lost_race, not_modified
from ..errors import ValidationFailed, not_found
from ..models import Project, Task
from ..outbox import changed, deleted, lock_owner, record_event
from ..pagination import decode_cursor, page, scope
from ..queries import caller_and_project, owned_task
from ..schemas import (
    TASK_CREATE,
    TASK_PATCH,
    TASK_REPLACE,
    json_response,
    list_params,
    no_content,
    task_json,
    validate,
)
from ..security import Caller, authenticate

FOREIGN_PROJECT = {"pointer": "/project_id", "detail": "must be the id of one of your projects"}


# concordance: ownership
def _owned_task(caller: Caller, task_id: int) -> Task:
    """The caller's task (through its project), read inside a write's transaction, or 404."""
    task = Task.objects.filter(id=task_id, project__owner_id=caller.user_id).first()
    if task is None:
        raise not_found("task")
    return task


# end concordance


def _task_response(task: Task, status: int = 200, location: bool = False) -> HttpResponse:
    """The task as GET returns it, with its ETag (and its Location when it was just created)."""
    headers = {"ETag": etag(task.version)}
    if location:
        headers["Location"] = f"/tasks/{task.id}"
    return json_response(task_json(task), status, headers)


def list_tasks(request: HttpRequest, project_id: int) -> HttpResponse:
    """List a project's tasks"""
    # Hot path: the token and the project's ownership in one statement (queries.py), then the page.
    # No transaction around the two (no SQLite BEGIN; on PostgreSQL's READ COMMITTED it would not give
    # one snapshot anyway): a project deleted in between reads as an empty page (its tasks went with it
    # in one transaction), and the next request gets the 404. Nobody else's rows are ever read.
    caller, mine = caller_and_project(request, project_id)
    params, errors = list_params(request, filters=True)
    if errors:
        raise ValidationFailed(errors)
    bound = scope("tasks", caller.user_id, project_id, params)
    # The cursor before the project's 404 (spec order of checks): a foreign cursor tells nothing.
    after = decode_cursor(params.cursor, bound) if params.cursor else 0
    if not mine:
        raise not_found("project")
    rows = Task.objects.filter(project_id=project_id, id__gt=after)
    if params.done is not None:
        rows = rows.filter(done=params.done)
    if params.priority is not None:
        rows = rows.filter(priority=params.priority)
    return page(request, rows, params.limit, bound, task_json, ("limit", "done", "priority"))


def create_task(request: HttpRequest, project_id: int) -> HttpResponse:
    """Create a task in a project"""
    # Hot path: the token and the project's ownership in one statement, before the body is read.
    caller, mine = caller_and_project(request, project_id)
    document, body = read_json(request)
    values, errors = validate(document, TASK_CREATE)
    key, key_errors = idempotency.key_from(request)
    if errors or key_errors:
        raise ValidationFailed(errors + key_errors)
    if not mine:
        raise not_found("project")  # the resource (404) before idempotency
    owned = idempotency.claim(caller.user_id, key, idempotency.fingerprint(request, body))
    if isinstance(owned, HttpResponse):
        return owned  # the stored response, replayed
    with idempotency.release_on_failure(owned), transaction.atomic():
        lock_owner(caller.user_id)  # first: the outbox's lock order (outbox.py)
        created_at = now()
        try:
            # No savepoint: a failed INSERT ends the whole transaction anyway (the 404 rolls it back).
            task = Task.objects.create(
                project_id=project_id, created_at=created_at, updated_at=created_at, **values
            )
        except IntegrityError:
            # The project was deleted between the check and the INSERT (foreign key violation).
            raise not_found("project") from None
        record_event(caller.user_id, "task.created", changed(task_json(task)))
        response = _task_response(task, 201, location=True)
        idempotency.store(owned, response)
    return response


def get_task(request: HttpRequest, task_id: int) -> HttpResponse:
    """Get a task"""
    task = owned_task(request, task_id)  # the token and the task in one statement (queries.py)
    return not_modified(request, task.version) or _task_response(task)


def _write_task(
    request: HttpRequest, task_id: int, members: dict[str, Any], merge_patch: bool
) -> HttpResponse:
    """PUT and PATCH: validate, 404, 412, foreign project 422, then one conditional UPDATE."""
    caller = authenticate(request)
    document, _ = read_json(request, merge_patch=merge_patch)
    values, errors = validate(document, members)
    if errors:
        raise ValidationFailed(errors)
    if_match = IfMatch(request)
    with transaction.atomic():
        lock_owner(caller.user_id)
        task = _owned_task(caller, task_id)
        expected = if_match.expected_version(task.version)
        target = values.get("project_id", task.project_id)
        if (
            target != task.project_id
            and not Project.objects.filter(id=target, owner_id=caller.user_id).exists()
        ):
            raise ValidationFailed([FOREIGN_PROJECT])
        rows = Task.objects.filter(id=task.id)
        try:
            with transaction.atomic():  # savepoint: the target project may vanish under us
                count = conditional_write(rows, expected, values)
        except IntegrityError:
            raise ValidationFailed([FOREIGN_PROJECT]) from None
        if not count:
            raise lost_race(rows.exists(), "task")
        task.refresh_from_db()
        record_event(caller.user_id, "task.updated", changed(task_json(task)))
    return _task_response(task)


def replace_task(request: HttpRequest, task_id: int) -> HttpResponse:
    """Replace a task"""
    return _write_task(request, task_id, TASK_REPLACE, merge_patch=False)


def update_task(request: HttpRequest, task_id: int) -> HttpResponse:
    """Update a task (JSON merge patch)"""
    return _write_task(request, task_id, TASK_PATCH, merge_patch=True)


def delete_task(request: HttpRequest, task_id: int) -> HttpResponse:
    """Delete a task"""
    caller = authenticate(request)
    if_match = IfMatch(request)
    with transaction.atomic():
        lock_owner(caller.user_id)
        task = _owned_task(caller, task_id)
        expected = if_match.expected_version(task.version)
        rows = Task.objects.filter(id=task.id)
        count, _ = (rows.filter(version=expected) if expected is not None else rows).delete()
        if not count:
            raise lost_race(rows.exists(), "task")
        record_event(caller.user_id, "task.deleted", deleted(task.id, task.version, task.project_id))
    return no_content()
