"""Tag projects: list, create (idempotent), read (conditional), update and delete (If-Match)."""

from __future__ import annotations

from sqlalchemy import insert, select

from tasks_api import conditional, idempotency, outbox, pagination, schemas
from tasks_api.body import read_json
from tasks_api.clock import now
from tasks_api.errors import ErrorItem, require_valid
from tasks_api.http import JSON, MERGE_PATCH, Request, Response
from tasks_api.models import projects
from tasks_api.security import authenticate
from tasks_api.views import (
    created,
    delete_owned,
    find,
    page,
    project_of,
    representation,
    update_owned,
    why_unchanged,
)


def list_projects(request: Request) -> Response:
    """List the current user's projects"""
    caller = authenticate(request)
    query, errors = schemas.list_params(request.query, filters=False)
    require_valid(errors)
    scope = {"list": "projects", "user": caller.user_id, "project": None, "done": None, "priority": None}
    after = pagination.decode_cursor(request.settings.secret_key, query.cursor, scope) if query.cursor else 0
    # concordance: pagination
    with request.db.read() as connection:  # keyset: walks the index, costs the same on every page
        rows = connection.execute(
            select(projects)
            .where(projects.c.owner_id == caller.user_id, projects.c.id > after)
            .order_by(projects.c.id)
            .limit(query.page_size + 1)  # one more row than the page tells whether a next page exists
        ).all()
    return page(request, query, scope, rows, schemas.project_json)
    # end concordance


def create_project(request: Request) -> Response:
    """Create a project"""
    caller = authenticate(request)
    body = read_json(request)
    errors: list[ErrorItem] = []
    key = idempotency.read_key(request, errors)
    values, body_errors = schemas.parse_object(body.value, schemas.PROJECT_CREATE)
    require_valid(errors + body_errors)
    settings = request.settings
    fingerprint = idempotency.fingerprint(request.path, body.raw)
    claim = idempotency.claim(request.db, settings, caller.user_id, key, fingerprint)  # 422, 409
    if isinstance(claim, Response):
        return claim  # a retry of a request that has completed: its stored response, again
    # The create, its event and the stored response: one transaction. If it fails, the key is freed.
    with idempotency.release_on_failure(request.db, claim), request.db.write() as connection:
        outbox.lock_owner(connection, caller.user_id)
        stamp = now()
        fields = {"description": "", **values}  # the defaults of openapi.yaml, then what was sent
        row = connection.execute(
            insert(projects)
            .values(**fields, owner_id=caller.user_id, version=1, created_at=stamp, updated_at=stamp)
            .returning(*projects.c)
        ).one()
        document = schemas.project_json(row)
        event_id = outbox.record_event(
            connection,
            caller.user_id,
            "project.created",
            outbox.changed(document),
            settings.events_retention_seconds,
        )
        response = created(document, f"/projects/{row.id}", row.version)
        idempotency.store(connection, claim, response, settings.idempotency_lease_seconds)
    request.wakeups.publish(caller.user_id, event_id)  # after the commit, so a woken stream finds the row
    return response


def get_project(request: Request, project_id: int) -> Response:
    """Get a project"""
    caller = authenticate(request)
    with request.db.read() as connection:
        row = find(connection, projects, project_of(caller, project_id), "project", project_id)
    return representation(schemas.project_json(row), row.version, request.header("If-None-Match"))


def update_project(request: Request, project_id: int) -> Response:
    """Update a project (JSON merge patch)"""
    caller = authenticate(request)
    body = read_json(request, (JSON, MERGE_PATCH))
    values, errors = schemas.parse_object(body.value, schemas.PROJECT_PATCH)
    require_valid(errors)
    expected = conditional.expected_versions(request.header("If-Match"))
    owned = project_of(caller, project_id)
    retention = request.settings.events_retention_seconds
    # concordance: event-outbox
    with request.db.write() as connection:  # the change and its event: one transaction
        outbox.lock_owner(connection, caller.user_id)
        row = update_owned(connection, projects, owned, expected, values)
        if row is None:  # 404 or 412: the transaction rolls back, no event
            raise why_unchanged(connection, projects, owned, expected, "project", project_id)
        document = schemas.project_json(row)
        event_id = outbox.record_event(
            connection, caller.user_id, "project.updated", outbox.changed(document), retention
        )
    request.wakeups.publish(caller.user_id, event_id)  # committed: now a woken stream finds the row
    # end concordance
    return Response.json(document, headers=[("ETag", conditional.etag(row.version))])


def delete_project(request: Request, project_id: int) -> Response:
    """Delete a project and its tasks"""
    caller = authenticate(request)
    expected = conditional.expected_versions(request.header("If-Match"))
    owned = project_of(caller, project_id)
    retention = request.settings.events_retention_seconds
    with request.db.write() as connection:
        outbox.lock_owner(connection, caller.user_id)
        row = delete_owned(connection, projects, owned, expected)
        if row is None:
            raise why_unchanged(connection, projects, owned, expected, "project", project_id)
        # Its tasks go with it (ON DELETE CASCADE), under this one `project.deleted` event.
        data = outbox.deleted(row.id, row.version)
        event_id = outbox.record_event(connection, caller.user_id, "project.deleted", data, retention)
    request.wakeups.publish(caller.user_id, event_id)
    return Response.empty(204)
