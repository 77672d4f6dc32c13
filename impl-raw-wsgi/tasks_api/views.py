"""The handlers, one per operation of openapi.yaml, named after its operationId, docstring = its summary.

Each handler reads top to bottom in the order of checks of spec/README.md: authentication (401),
body (413, 415, 400), validation (422, all at once), the resource (404), preconditions (412),
idempotency, then business rules.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    Select,
    Table,
    bindparam,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from tasks_api import (
    conditional,
    idempotency,
    login_limit,
    outbox,
    pages,
    pagination,
    schemas,
    security,
    stream,
)
from tasks_api.body import JSON, MERGE_PATCH, read_json
from tasks_api.errors import ErrorItem, HTTPError, not_found, require_valid, unavailable, validation_error
from tasks_api.http import Request, Response
from tasks_api.models import now, projects, tasks, tokens, users
from tasks_api.security import Caller, authenticate

log = logging.getLogger(__name__)

READINESS_SECONDS = 1.0  # /readyz gives up on the database after this long (spec/README.md, "Health")

# --- users and tokens -----------------------------------------------------------------------------


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
        raise HTTPError("email-taken", "A user with this email exists.") from None
    return Response.json(schemas.user_out(row), 201, [("Location", "/users/me")])


def get_current_user(request: Request) -> Response:
    """Get the current user"""
    return Response.json(schemas.user_out(authenticate(request)))


def delete_current_user(request: Request) -> Response:
    """Delete the current user and everything they own"""
    caller = authenticate(request)
    with request.db.write() as connection:  # the schema's ON DELETE CASCADE removes the rest
        connection.execute(delete(users).where(users.c.id == caller.id))
    return Response.empty(204)


def create_token(request: Request) -> Response:
    """Log in and get a bearer token"""
    body = read_json(request)
    values, errors = schemas.parse_object(body.value, schemas.TOKEN_CREATE)
    require_valid(errors)
    settings = request.settings
    email, password = values["email"], values["password"]
    login_limit.check(request.db, settings, email)  # 429 before any hashing is spent
    with request.db.read() as connection:
        user = connection.execute(
            select(users.c.id, users.c.password_hash).where(users.c.email == email)
        ).one_or_none()
    # An unknown email spends one verification too, so the response time does not tell which emails exist.
    stored_hash = user.password_hash if user else security.dummy_hash()
    if not security.verify_password(stored_hash, password, settings.hash_concurrency) or user is None:
        login_limit.record_failure(request.db, settings, email)  # any email, registered or not
        raise _invalid_credentials()
    new_hash = None
    if security.HASHER.check_needs_rehash(stored_hash):  # parameters were raised since it was made
        new_hash = security.hash_password(password, settings.hash_concurrency)  # outside the transaction
    token = security.new_token()
    expires_at = now(settings.token_ttl_seconds)
    try:
        with request.db.write() as connection:
            login_limit.forget(connection, email)
            connection.execute(  # housekeeping: this user's expired tokens can never work again
                delete(tokens).where(tokens.c.user_id == user.id, tokens.c.expires_at <= now())
            )
            connection.execute(
                insert(tokens).values(
                    user_id=user.id,
                    token_hash=security.token_hash(token),
                    created_at=now(),
                    expires_at=expires_at,
                )
            )
            if new_hash is not None:
                connection.execute(update(users).where(users.c.id == user.id).values(password_hash=new_hash))
    except IntegrityError:  # the user was deleted a moment ago
        raise _invalid_credentials() from None
    # no-store: a response that carries a credential is never kept by a cache (RFC 6749 5.1).
    return Response.json(
        {"access_token": token, "token_type": "Bearer", "expires_at": expires_at},
        201,
        [("Cache-Control", "no-store")],
    )


def _invalid_credentials() -> HTTPError:
    # Every 401 carries a challenge (RFC 9110 15.5.2): the scheme the token would have been used with.
    return HTTPError(
        "invalid-credentials",
        "The email or password is wrong.",
        headers=[("WWW-Authenticate", security.CHALLENGE)],
    )


def revoke_token(request: Request) -> Response:
    """Log out (revoke the token used for this request)"""
    caller = authenticate(request)
    with request.db.write() as connection:
        connection.execute(delete(tokens).where(tokens.c.token_hash == caller.token_hash))
    return Response.empty(204)


# --- projects -------------------------------------------------------------------------------------


def list_projects(request: Request) -> Response:
    """List the current user's projects"""
    caller = authenticate(request)
    query, errors = schemas.parse_page_query(request.query, filters=False)
    require_valid(errors)
    scope = {"list": "projects", "user": caller.id, "project": None, "done": None, "priority": None}
    after = pagination.decode_cursor(request.settings.secret_key, query.cursor, scope) if query.cursor else 0
    # concordance: pagination
    with request.db.read() as connection:  # keyset: walks the index, costs the same on every page
        rows = connection.execute(
            select(projects)
            .where(projects.c.owner_id == caller.id, projects.c.id > after)
            .order_by(projects.c.id)
            .limit(query.page_size + 1)  # one more row than the page tells whether a next page exists
        ).all()
    return _page(request, query, scope, rows, schemas.project_out)
    # end concordance


def create_project(request: Request) -> Response:
    """Create a project"""
    caller = authenticate(request)
    body = read_json(request)
    errors: list[ErrorItem] = []
    key = idempotency.read_key(request, errors)
    values, body_errors = schemas.parse_object(body.value, schemas.PROJECT_CREATE)
    require_valid(errors + body_errors)

    recorded: list[int] = []  # the event's id once the create has run: never on a replay

    def create(connection: Connection) -> Response:
        outbox.lock_owner(connection, caller.id)
        stamp = now()
        fields = {"description": "", **values}  # the defaults of openapi.yaml, then what was sent
        row = connection.execute(
            insert(projects)
            .values(**fields, owner_id=caller.id, version=1, created_at=stamp, updated_at=stamp)
            .returning(*projects.c)
        ).one()
        document = schemas.project_out(row)
        recorded.append(_record(request, connection, caller.id, "project.created", outbox.changed(document)))
        return _created(document, f"/projects/{row.id}", row.version)

    fingerprint = idempotency.fingerprint(request.path, body.raw)
    response = idempotency.create_once(request.db, request.settings, caller.id, key, fingerprint, create)
    _publish(request, caller.id, recorded)  # after the commit, so a woken stream finds the row
    return response


def get_project(request: Request, project_id: int) -> Response:
    """Get a project"""
    caller = authenticate(request)
    with request.db.read() as connection:
        row = _find(connection, projects, _project_of(caller, project_id), "project", project_id)
    return _representation(schemas.project_out(row), row.version, request.header("If-None-Match"))


def update_project(request: Request, project_id: int) -> Response:
    """Update a project (JSON merge patch)"""
    caller = authenticate(request)
    body = read_json(request, (JSON, MERGE_PATCH))
    values, errors = schemas.parse_object(body.value, schemas.PROJECT_PATCH)
    require_valid(errors)
    expected = conditional.expected_versions(request.header("If-Match"))
    owned = _project_of(caller, project_id)
    # concordance: event-outbox
    with request.db.write() as connection:  # the change and its event: one transaction
        outbox.lock_owner(connection, caller.id)
        row = _update(connection, projects, owned, expected, values)
        if row is None:  # 404 or 412: the transaction rolls back, no event
            raise _why_unchanged(connection, projects, owned, expected, "project", project_id)
        document = schemas.project_out(row)
        event = _record(request, connection, caller.id, "project.updated", outbox.changed(document))
    _publish(request, caller.id, [event])  # committed: now a woken stream finds the row
    # end concordance
    return Response.json(document, headers=[("ETag", conditional.etag(row.version))])


def delete_project(request: Request, project_id: int) -> Response:
    """Delete a project and its tasks"""
    caller = authenticate(request)
    return _delete(request, caller, projects, _project_of(caller, project_id), "project", project_id)


# --- tasks ----------------------------------------------------------------------------------------


def list_tasks(request: Request, project_id: int) -> Response:
    """List a project's tasks"""
    digest = security.bearer_digest(request)
    # Two statements (the token with the project, then the page) that must agree: a project deleted
    # between them would be an empty 200 instead of a 404. So one transaction, on SQLite too (BEGIN).
    with request.db.read() as connection:
        caller_id, owned = _token_and_project(connection, digest, project_id)  # 401
        query, errors = schemas.parse_page_query(request.query, filters=True)
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
        statement = _task_page(query.done is not None, query.priority is not None)
        parameters = {"project_id": project_id, "after": after, "size": query.page_size + 1}
        parameters.update(done=query.done, priority=query.priority)  # ignored where not filtered on
        rows = connection.execute(statement, parameters).all()
    return _page(request, query, scope, rows, schemas.task_out)


# Hot path: the token and the owned project in one statement (no row: 401; a row without project: 404).
_PROJECT_FOR_TOKEN = (
    select(tokens.c.user_id, projects.c.id)
    .select_from(
        tokens.outerjoin(
            projects, (projects.c.id == bindparam("project_id")) & (projects.c.owner_id == tokens.c.user_id)
        )
    )
    .where(security.live_token())
)


def _token_and_project(connection: Connection, digest: str, project_id: int) -> tuple[int, bool]:
    """The caller's id (401 when the token is not live) and whether they own the project."""
    parameters = {"digest": digest, "now": now(), "project_id": project_id}
    row = connection.execute(_PROJECT_FOR_TOKEN, parameters).first()
    if row is None:
        raise security.invalid_token()
    return row.user_id, row.id is not None


@functools.cache
def _task_page(by_done: bool, by_priority: bool) -> Select[Any]:
    """The page query with the filters asked for: four statements in all, each built once."""
    statement = select(tasks).where(
        tasks.c.project_id == bindparam("project_id"), tasks.c.id > bindparam("after")
    )
    if by_done:
        statement = statement.where(tasks.c.done == bindparam("done"))
    if by_priority:
        statement = statement.where(tasks.c.priority == bindparam("priority"))
    return statement.order_by(tasks.c.id).limit(bindparam("size"))  # one more row than the page: a next?


def create_task(request: Request, project_id: int) -> Response:
    """Create a task in a project"""
    digest = security.bearer_digest(request)
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

    recorded: list[int] = []  # the event's id once the create has run: never on a replay

    def create(connection: Connection) -> Response:
        # Checked again inside the writing transaction, with the owner's lock: the project may have been
        # deleted meanwhile.
        if not outbox.lock_owner(connection, caller_id, project_id):
            raise not_found("project", project_id)
        stamp = now()
        fields = {"notes": "", "done": False, "priority": "normal", "due_on": None, **values}
        fields.update(project_id=project_id, version=1, created_at=stamp, updated_at=stamp)
        try:
            row = connection.execute(_INSERT_TASK, fields).one()
        except IntegrityError:  # PostgreSQL, READ COMMITTED: deleted between the check and the insert
            raise not_found("project", project_id) from None
        document = schemas.task_out(row)
        recorded.append(_record(request, connection, caller_id, "task.created", outbox.changed(document)))
        return _created(document, f"/tasks/{row.id}", row.version)

    fingerprint = idempotency.fingerprint(request.path, body.raw)
    response = idempotency.create_once(request.db, request.settings, caller_id, key, fingerprint, create)
    _publish(request, caller_id, recorded)
    return response


_INSERT_TASK = insert(tasks).returning(*tasks.c)  # built once; the values come as parameters


# Hot path: the token and the owned task in ONE statement, built once (a module-level statement keeps
# its cache key: executing it only binds). No row: the token is unknown or expired (401); a row whose
# task has no owned project: not the caller's, or no such task (404); else the task.
_TASK_FOR_TOKEN = (
    select(tokens.c.user_id, projects.c.owner_id, tasks)
    .select_from(
        tokens.outerjoin(tasks, tasks.c.id == bindparam("task_id")).outerjoin(
            projects, (projects.c.id == tasks.c.project_id) & (projects.c.owner_id == tokens.c.user_id)
        )
    )
    .where(security.live_token())
)


def get_task(request: Request, task_id: int) -> Response:
    """Get a task"""
    digest = security.bearer_digest(request)  # 401 without a well-formed token, before any database work
    with request.db.single_read() as connection:
        parameters = {"digest": digest, "now": now(), "task_id": task_id}
        row = connection.execute(_TASK_FOR_TOKEN, parameters).first()
    if row is None:
        raise security.invalid_token()
    if row.owner_id is None:
        raise not_found("task", task_id)
    return _representation(schemas.task_out(row), row.version, request.environ.get("HTTP_IF_NONE_MATCH"))


def replace_task(request: Request, task_id: int) -> Response:
    """Replace a task"""
    return _write_task(request, task_id, (JSON,), schemas.TASK_REPLACE)


def update_task(request: Request, task_id: int) -> Response:
    """Update a task (JSON merge patch)"""
    return _write_task(request, task_id, (JSON, MERGE_PATCH), schemas.TASK_PATCH)


def delete_task(request: Request, task_id: int) -> Response:
    """Delete a task"""
    caller = authenticate(request)
    return _delete(request, caller, tasks, _task_of(caller, task_id), "task", task_id)


# --- live events ----------------------------------------------------------------------------------


def stream_events(request: Request) -> Response:
    """Stream the current user's changes (Server-Sent Events)"""
    # concordance: event-stream
    caller = authenticate(request)
    after, errors = stream.requested_start(request)
    require_valid(errors)
    if after is None:  # fixed now, before the first byte: every later change is in this stream
        after = stream.latest_event_id(request.db, caller.id)
    body = stream.event_stream(
        request.db,
        request.wakeups,
        request.settings,
        caller.id,
        after,
        request.environ.get("gunicorn.socket"),  # to notice a client that left (None elsewhere)
    )
    return Response.streaming(body, stream.CONTENT_TYPE, stream.HEADERS)
    # end concordance


# --- pages ----------------------------------------------------------------------------------------


def get_home(request: Request) -> Response:
    """The live page (a small browser client of this API)"""
    return pages.page(request.settings.web_dir, "index.html")


def get_docs(request: Request) -> Response:
    """This document rendered by Swagger UI (served offline, no outside requests)"""
    return pages.page(request.settings.web_dir, "docs.html")


def get_static_file(request: Request, name: str) -> Response:
    """A file of the pages (script, style sheet, Swagger UI)"""
    return pages.static_file(request.settings.web_dir, name)


# --- operations -----------------------------------------------------------------------------------


# concordance: health
def get_health(request: Request) -> Response:
    """Liveness (the process answers; the database is not touched)"""
    return Response.json({"status": "ok"})


def get_readiness(request: Request) -> Response:
    """Readiness (the database answers)"""
    # SELECT 1 runs on a helper thread and is waited for one second at most: a database that hangs
    # makes this 503 within a second instead of holding the probe (the watchdog frees the helper later).
    if not request.db.ready(READINESS_SECONDS):
        raise unavailable("The database cannot be reached or did not answer within one second.")
    return Response.json({"status": "ok", "checks": {"database": "ok"}})


# end concordance


def get_openapi(request: Request) -> Response:
    """This document, byte for byte"""
    document = (request.settings.spec_dir / "openapi.yaml").read_bytes()
    return Response.raw(200, document, "application/yaml")


# --- shared steps ---------------------------------------------------------------------------------


# concordance: ownership
def _project_of(caller: Caller, project_id: int) -> ColumnElement[bool]:
    """The project with this id, if the caller owns it: another user's project does not exist for them."""
    return (projects.c.id == project_id) & (projects.c.owner_id == caller.id)


def _task_of(caller: Caller, task_id: int) -> ColumnElement[bool]:
    """The task with this id, if it is in one of the caller's projects."""
    owned_projects = select(projects.c.id).where(projects.c.owner_id == caller.id)
    return (tasks.c.id == task_id) & tasks.c.project_id.in_(owned_projects)


def _find(
    connection: Connection, table: Table, condition: ColumnElement[bool], what: str, ident: int
) -> Row[Any]:
    row = connection.execute(select(table).where(condition)).one_or_none()
    if row is None:
        raise not_found(what, ident)
    return row


# end concordance


# concordance: conditional-get
def _representation(document: dict[str, Any], version: int, if_none_match: str | None) -> Response:
    """200 with the ETag, or 304 (ETag, no body) when If-None-Match names the current version."""
    headers = [("ETag", conditional.etag(version))]
    if conditional.none_match(if_none_match, version):
        return Response.empty(304, headers)
    return Response.json(document, headers=headers)


# end concordance


def _created(document: dict[str, Any], location: str, version: int) -> Response:
    return Response.json(document, 201, [("Location", location), ("ETag", conditional.etag(version))])


def _page(
    request: Request,
    query: schemas.PageQuery,
    scope: dict[str, Any],
    rows: Sequence[Row[Any]],
    render: Callable[[Row[Any]], dict[str, Any]],
) -> Response:
    items, more = pagination.page(rows, query.page_size)
    next_cursor = pagination.encode_cursor(request.settings.secret_key, scope, items[-1].id) if more else None
    headers = [("Link", pagination.next_link(request.path, query, next_cursor))] if next_cursor else []
    return Response.json(
        {"items": [render(row) for row in items], "next_cursor": next_cursor}, headers=headers
    )


# concordance: optimistic-concurrency
def _update(
    connection: Connection,
    table: Table,
    condition: ColumnElement[bool],
    expected: conditional.Expected,
    values: dict[str, Any],
) -> Row[Any] | None:
    """One atomic UPDATE ... WHERE <owned> AND version IN <If-Match> RETURNING *: no read-compare-write.

    Only the members named in `values` change, so concurrent patches of different members both survive.
    """
    return connection.execute(
        update(table)
        .where(condition, conditional.version_clause(table.c.version, expected))
        .values(**values, version=table.c.version + 1, updated_at=now())
        .returning(*table.c)
    ).one_or_none()


# end concordance


def _why_unchanged(
    connection: Connection,
    table: Table,
    condition: ColumnElement[bool],
    expected: conditional.Expected,
    what: str,
    ident: int,
    otherwise: HTTPError | None = None,
) -> HTTPError:
    """A conditional write changed nothing: say why, in the order of checks (404, 412, then `otherwise`)."""
    version = connection.execute(select(table.c.version).where(condition)).scalar_one_or_none()
    if version is None:
        return not_found(what, ident)
    if otherwise is None or not conditional.matches(expected, version):
        # (With nothing else to blame, the row changed between the write and this read: also a 412.)
        return HTTPError("precondition-failed", f'If-Match does not match the current ETag "{version}".')
    return otherwise


def _foreign_project() -> HTTPError:
    # A business rule (step 8), not a 404: the task exists, the body names a project that does not.
    return validation_error([{"pointer": "/project_id", "detail": "must be the id of one of your projects"}])


def _write_task(
    request: Request, task_id: int, media_types: tuple[str, ...], members: dict[str, schemas.Member]
) -> Response:
    """PUT and PATCH of a task: the same conditional UPDATE, with every member or only those named."""
    caller = authenticate(request)
    body = read_json(request, media_types)
    values, errors = schemas.parse_object(body.value, members)
    require_valid(errors)
    expected = conditional.expected_versions(request.header("If-Match"))
    owned = _task_of(caller, task_id)
    condition = owned
    if "project_id" in values:  # moving the task: only into a project of the caller's
        condition = (
            condition & select(projects.c.id).where(_project_of(caller, values["project_id"])).exists()
        )
    with request.db.write() as connection:
        outbox.lock_owner(connection, caller.id)
        try:
            row = _update(connection, tasks, condition, expected, values)
        except IntegrityError:  # PostgreSQL: the target project was deleted during the statement
            raise _foreign_project() from None
        if row is None:
            raise _why_unchanged(connection, tasks, owned, expected, "task", task_id, _foreign_project())
        document = schemas.task_out(row)
        event = _record(request, connection, caller.id, "task.updated", outbox.changed(document))
    _publish(request, caller.id, [event])
    return Response.json(document, headers=[("ETag", conditional.etag(row.version))])


def _delete(
    request: Request, caller: Caller, table: Table, condition: ColumnElement[bool], what: str, ident: int
) -> Response:
    """DELETE ... WHERE <owned> AND version IN <If-Match>, in one statement like the updates.

    A project's tasks go with it (ON DELETE CASCADE) under its one `project.deleted` event.
    """
    expected = conditional.expected_versions(request.header("If-Match"))
    with request.db.write() as connection:
        outbox.lock_owner(connection, caller.id)
        row = connection.execute(
            delete(table)
            .where(condition, conditional.version_clause(table.c.version, expected))
            .returning(*table.c)  # the last version, and a task's project, for the event
        ).one_or_none()
        if row is None:
            raise _why_unchanged(connection, table, condition, expected, what, ident)
        data = outbox.deleted(row.id, row.version, row.project_id if table is tasks else None)
        event = _record(request, connection, caller.id, f"{what}.deleted", data)
    _publish(request, caller.id, [event])
    return Response.empty(204)


def _record(request: Request, connection: Connection, user_id: int, kind: str, data: dict[str, Any]) -> int:
    """The change's event, in the change's transaction (the caller owns what changed)."""
    return outbox.record(connection, user_id, kind, data, request.settings.events_retention_seconds)


def _publish(request: Request, user_id: int, event_ids: list[int]) -> None:
    """After the commit: wake the caller's streams (a no-op without REDIS_URL)."""
    for event_id in event_ids:
        request.wakeups.publish(user_id, event_id)
