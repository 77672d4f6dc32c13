"""Tag tasks: list (filters, keyset pages), create (idempotent), read, replace, update, delete."""

from __future__ import annotations

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from tasks_api import conditional, idempotency, outbox, pagination, queries, schemas, security
from tasks_api.body import read_json
from tasks_api.clock import now
from tasks_api.errors import ApiError, ErrorItem, not_found, require_valid, validation_error
from tasks_api.http import JSON, MERGE_PATCH, Request, Response
from tasks_api.models import projects, tasks
from tasks_api.security import authenticate
from tasks_api.views import (
    created,
    delete_owned,
    page,
    project_of,
    representation,
    task_of,
    update_owned,
    why_unchanged,
)


def list_tasks(request: Request, project_id: int) -> Response:
    """List a project's tasks"""
    digest = security.bearer_token_hash(request)
    # Two statements (the token with the project, then the page) that must agree: a project deleted
    # between them would be an empty 200 instead of a 404. So one transaction, on SQLite too (BEGIN).
    with request.db.read() as connection:
        caller_id, owned = _token_and_project(connection, digest, project_id)  # 401
        query, errors = schemas.list_params(request.query, filters=True)
        require_valid(errors)
        scope = {
            "list": "tasks",
            "user": caller_id,
            "project": project_id,
            "done": query.done,
            "priority": query.priority,
        }
        secret = request.settings.secret_key
        after = pagination.decode_cursor(secret, query.cursor, scope) if query.cursor else 0
        if not owned:
            raise not_found("project", project_id)
        statement = queries.task_page(query.done is not None, query.priority is not None)
        parameters = {"project_id": project_id, "after": after, "size": query.page_size + 1}
        parameters.update(done=query.done, priority=query.priority)  # ignored where not filtered on
        rows = connection.execute(statement, parameters).all()
    return page(request, query, scope, rows, schemas.task_json)


def create_task(request: Request, project_id: int) -> Response:
    """Create a task in a project"""
    digest = security.bearer_token_hash(request)
    # One statement, outside a transaction, before the body is read: the token (401) and whether the
    # project is the caller's (its 404 comes after the body's checks, and before idempotency).
    with request.db.single_read() as connection:
        caller_id, owned = _token_and_project(connection, digest, project_id)
    body = read_json(request)
    errors: list[ErrorItem] = []
    key = idempotency.read_key(request, errors)
    values, body_errors = schemas.parse_object(body.value, schemas.TASK_CREATE)
    require_valid(errors + body_errors)
    if not owned:
        raise not_found("project", project_id)
    settings = request.settings
    fingerprint = idempotency.fingerprint(request.path, body.raw)
    claim = idempotency.claim(request.db, settings, caller_id, key, fingerprint)  # 422, 409
    if isinstance(claim, Response):
        return claim  # a retry of a request that has completed: its stored response, again
    # The create, its event and the stored response: one transaction. If it fails, the key is freed.
    with idempotency.release_on_failure(request.db, claim), request.db.write() as connection:
        # Checked again inside the writing transaction, with the owner's lock: the project may have been
        # deleted meanwhile.
        if not outbox.lock_owner(connection, caller_id, project_id):
            raise not_found("project", project_id)
        stamp = now()
        fields = {"notes": "", "done": False, "priority": "normal", "due_on": None, **values}
        fields.update(project_id=project_id, version=1, created_at=stamp, updated_at=stamp)
        try:
            row = connection.execute(queries.INSERT_TASK, fields).one()
        except IntegrityError:  # PostgreSQL, READ COMMITTED: deleted between the check and the insert
            raise not_found("project", project_id) from None
        document = schemas.task_json(row)
        event_id = outbox.record_event(
            connection, caller_id, "task.created", outbox.changed(document), settings.events_retention_seconds
        )
        response = created(document, f"/tasks/{row.id}", row.version)
        idempotency.store(connection, claim, response, settings.idempotency_lease_seconds)
    request.wakeups.publish(caller_id, event_id)  # after the commit, so a woken stream finds the row
    return response


def get_task(request: Request, task_id: int) -> Response:
    """Get a task"""
    digest = security.bearer_token_hash(request)  # 401 without a well-formed token, before any database work
    # Hot path: the token and the owned task in one statement, outside a transaction.
    with request.db.single_read() as connection:
        row = queries.task_by_token(connection, digest, task_id)
    if row is None:
        raise security.invalid_token()
    if row.owner_id is None:
        raise not_found("task", task_id)
    return representation(schemas.task_json(row), row.version, request.environ.get("HTTP_IF_NONE_MATCH"))


def replace_task(request: Request, task_id: int) -> Response:
    """Replace a task"""
    return _write_task(request, task_id, (JSON,), schemas.TASK_REPLACE)


def update_task(request: Request, task_id: int) -> Response:
    """Update a task (JSON merge patch)"""
    return _write_task(request, task_id, (JSON, MERGE_PATCH), schemas.TASK_PATCH)


def delete_task(request: Request, task_id: int) -> Response:
    """Delete a task"""
    caller = authenticate(request)
    expected = conditional.expected_versions(request.header("If-Match"))
    owned = task_of(caller, task_id)
    retention = request.settings.events_retention_seconds
    with request.db.write() as connection:
        outbox.lock_owner(connection, caller.user_id)
        row = delete_owned(connection, tasks, owned, expected)
        if row is None:
            raise why_unchanged(connection, tasks, owned, expected, "task", task_id)
        data = outbox.deleted(row.id, row.version, row.project_id)
        event_id = outbox.record_event(connection, caller.user_id, "task.deleted", data, retention)
    request.wakeups.publish(caller.user_id, event_id)
    return Response.empty(204)


def _write_task(
    request: Request, task_id: int, media_types: tuple[str, ...], members: dict[str, schemas.Member]
) -> Response:
    """PUT and PATCH of a task: the same conditional UPDATE, with every member or only those named."""
    caller = authenticate(request)
    body = read_json(request, media_types)
    values, errors = schemas.parse_object(body.value, members)
    require_valid(errors)
    expected = conditional.expected_versions(request.header("If-Match"))
    owned = task_of(caller, task_id)
    condition = owned
    if "project_id" in values:  # moving the task: only into a project of the caller's
        condition = condition & select(projects.c.id).where(project_of(caller, values["project_id"])).exists()
    retention = request.settings.events_retention_seconds
    with request.db.write() as connection:
        outbox.lock_owner(connection, caller.user_id)
        try:
            row = update_owned(connection, tasks, condition, expected, values)
        except IntegrityError:  # PostgreSQL: the target project was deleted during the statement
            raise _foreign_project() from None
        if row is None:
            raise why_unchanged(connection, tasks, owned, expected, "task", task_id, _foreign_project())
        document = schemas.task_json(row)
        event_id = outbox.record_event(
            connection, caller.user_id, "task.updated", outbox.changed(document), retention
        )
    request.wakeups.publish(caller.user_id, event_id)
    return Response.json(document, headers=[("ETag", conditional.etag(row.version))])


def _token_and_project(connection: Connection, digest: str, project_id: int) -> tuple[int, bool]:
    """The caller's id (401 when the token is not live) and whether they own the project."""
    row = queries.project_by_token(connection, digest, project_id)
    if row is None:
        raise security.invalid_token()
    return row.user_id, row.id is not None


def _foreign_project() -> ApiError:
    # A business rule (step 8), not a 404: the task exists, the body names a project that does not.
    return validation_error([{"pointer": "/project_id", "detail": "must be the id of one of your projects"}])
