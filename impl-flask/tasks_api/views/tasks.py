"""The API blueprint: one handler per operation, named after its operationId; docstring = its summary."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, current_app, g, make_response, request
from sqlalchemy import Select, delete, exists, select, update
from sqlalchemy.exc import IntegrityError

from . import login_limit
from .conditional import etag, expected_versions, none_match
from .db import database_ready, get_session, session_factory
from .errors import RETRY_SOON, ApiProblem, validation_error
from .events import CONTENT_TYPE, HEADERS, StreamSettings, event_stream, latest_event_id
from .http import no_content, read_json_body
from .idempotency import run_create
from .models import Project, Task, Token, User
from .outbox import changed, lock_owner, project_deleted, record_event, task_deleted
from .pages import send_page, send_static
from .pagination import decode_cursor, encode_cursor, invalid_cursor, link_next, read_cursor
from .reads import PROJECT_BY_TOKEN, TASK_BY_TOKEN, TASK_PAGE_BY_TOKEN
from .schemas import (
    PROJECT_CREATE,
    PROJECT_PATCH,
    TASK_CREATE,
    TASK_PATCH,
    TASK_REPLACE,
    TOKEN_CREATE,
    USER_CREATE,
    ListParams,
    idempotency_key_errors,
    list_params,
    project_json,
    resume_after,
    task_json,
    timestamp,
    user_json,
    utc_now,
    validate,
)
from .security import (
    REALM,
    authenticated,
    hash_password,
    hash_token,
    login_required,
    new_token,
    token_checked_in_view,
    verify_password,
)

api = Blueprint("api", __name__)


# --- helpers -------------------------------------------------------------------------------------


def _not_found(kind: str, ident: int) -> ApiProblem:
    return ApiProblem("not-found", f"No {kind} with id {ident}.")


# concordance: ownership
def _owned_projects() -> Select[tuple[int]]:
    """Ids of the caller's projects: another user's resource is the same as a missing one (404)."""
    return select(Project.id).where(Project.owner_id == g.user_id)


# end concordance


def _project_version(project_id: int) -> int | None:
    """The current version of one of the caller's projects (None: missing or someone else's)."""
    owned = (Project.id == project_id, Project.owner_id == g.user_id)
    return get_session().scalar(select(Project.version).where(*owned))


def _task_version(task_id: int) -> int | None:
    """The current version of one of the caller's tasks (None: missing or someone else's)."""
    owned = (Task.id == task_id, Task.project_id.in_(_owned_projects()))
    return get_session().scalar(select(Task.version).where(*owned))


def _with_etag(payload: dict[str, Any], version: int, status: int = 200, **headers: str) -> Response:
    return make_response(payload, status, {"ETag": etag(version), **headers})


# concordance: conditional-get
def _read(payload: dict[str, Any], version: int) -> Response:
    """GET/HEAD of one resource: 304 when If-None-Match matches, else the resource."""
    if none_match(request.headers.get("If-None-Match"), version):
        response = no_content(304)
        response.headers["ETag"] = etag(version)
        return response
    return _with_etag(payload, version)


# end concordance


def _refused(kind: str, ident: int, current: int | None, expected: set[int] | None) -> ApiProblem:
    """Why a conditional write changed nothing: missing (404) before a failed precondition (412)."""
    if current is None:
        return _not_found(kind, ident)
    if expected is not None and current not in expected:
        return ApiProblem("precondition-failed", f'If-Match does not match the current ETag "{current}".')
    return _foreign_project()


def _foreign_project() -> ApiProblem:
    """422 for a project_id that is missing or someone else's (a business rule, checked last)."""
    return validation_error([{"pointer": "/project_id", "detail": "must be one of your projects"}])


def _page(
    rows: list[Any], params: ListParams, scope: dict[str, Any], render: Callable[[Any], dict]
) -> Response:
    """One page of a keyset list: rows holds up to limit + 1 items, the extra one says there is more."""
    items = rows[: params.page_size]
    next_cursor = None
    if len(rows) > params.page_size:
        next_cursor = encode_cursor(current_app.config["SECRET_KEY"], scope, items[-1].id)
    response = make_response({"items": [render(item) for item in items], "next_cursor": next_cursor})
    if next_cursor is not None:
        response.headers["Link"] = link_next(request.path, params.link_params(), next_cursor)
    return response


def _after(params: ListParams, scope: dict[str, Any]) -> int:
    return decode_cursor(current_app.config["SECRET_KEY"], params.cursor, scope) if params.cursor else 0


# --- users and tokens ----------------------------------------------------------------------------


@api.post("/users")
def create_user() -> Response:
    """Register a user"""
    data = validate(read_json_body(), USER_CREATE)
    # Hashed before the first statement, so no write lock is held during the argon2 work.
    user = User(
        email=data["email"].lower(),
        password_hash=hash_password(data["password"]),
        name=data["name"],
        created_at=timestamp(utc_now()),
    )
    session = get_session()
    session.add(user)
    try:
        session.commit()
    except IntegrityError:
        # The unique email decides, so two concurrent registrations cannot both win.
        session.rollback()
        raise ApiProblem("email-taken", "A user with this email exists.") from None
    return make_response(user_json(user), 201, {"Location": "/users/me"})


@api.get("/users/me")
@login_required
def get_current_user() -> Response:
    """Get the current user"""
    return make_response(user_json(g.user))


@api.delete("/users/me")
@login_required
def delete_current_user() -> Response:
    """Delete the current user and everything they own"""
    session = get_session()
    session.execute(delete(User).where(User.id == g.user_id))  # tokens, projects, tasks, keys cascade
    session.commit()
    return no_content()


def _wrong_credentials() -> ApiProblem:
    # Every 401 carries a challenge (RFC 9110 15.5.2): the scheme of the token this would have issued.
    return ApiProblem(
        "invalid-credentials", "The email or password is wrong.", headers={"WWW-Authenticate": REALM}
    )


# concordance: login-limit
@api.post("/tokens")
def create_token() -> Response:
    """Log in and get a bearer token"""
    data = validate(read_json_body(), TOKEN_CREATE)
    email = data["email"].lower()
    session = get_session()
    login_limit.check(session, email)  # 429 after the 422, before any hashing
    row = session.execute(select(User.id, User.password_hash).where(User.email == email)).first()
    session.rollback()  # end the read: no transaction is held open during the password verification
    matches = verify_password(row.password_hash if row else None, data["password"])  # always one argon2 run
    if row is None or not matches:
        login_limit.record_failure(session, email)
        session.commit()
        raise _wrong_credentials()
    token, now = new_token(), utc_now()
    expires_at = timestamp(now + datetime.timedelta(seconds=current_app.config["TOKEN_TTL_SECONDS"]))
    login_limit.clear(session, email)
    session.add(
        Token(user_id=row.id, token_hash=hash_token(token), created_at=timestamp(now), expires_at=expires_at)
    )
    try:
        session.commit()
    except IntegrityError:
        session.rollback()  # the user was deleted during the verification
        raise _wrong_credentials() from None
    body = {"access_token": token, "token_type": "Bearer", "expires_at": expires_at}
    return make_response(body, 201, {"Cache-Control": "no-store"})  # RFC 6749: never cache a token


# end concordance


@api.delete("/tokens/current")
@login_required
def revoke_token() -> Response:
    """Log out (revoke the token used for this request)"""
    session = get_session()
    session.execute(delete(Token).where(Token.token_hash == g.token_hash))
    session.commit()
    return no_content()


# --- projects ------------------------------------------------------------------------------------


@api.get("/projects")
@login_required
def list_projects() -> Response:
    """List the current user's projects"""
    params = list_params(request.args, filters=False)
    scope = {"list": "projects", "user": g.user_id, "project": None, "done": None, "priority": None}
    after = _after(params, scope)
    rows = get_session().scalars(
        select(Project)
        .where(Project.owner_id == g.user_id, Project.id > after)
        .order_by(Project.id)
        .limit(params.page_size + 1)
    )
    return _page(list(rows), params, scope, project_json)


@api.post("/projects")
@login_required
def create_project() -> Response:
    """Create a project"""
    key = request.headers.get("Idempotency-Key")
    data = validate(read_json_body(), PROJECT_CREATE, idempotency_key_errors(key))

    def create() -> Response:
        session = get_session()
        lock_owner(session, g.user_id)  # first: one user's events commit in id order
        now = timestamp(utc_now())
        project = Project(
            owner_id=g.user_id,
            name=data["name"],
            description=data.get("description", ""),
            version=1,
            created_at=now,
            updated_at=now,
        )
        session.add(project)
        session.flush()  # the id, for Location; committed by run_create together with the idempotency record
        record_event(session, g.user_id, "project.created", changed(project_json(project)))
        return _with_etag(project_json(project), project.version, 201, Location=f"/projects/{project.id}")

    return run_create(key, create)


@api.get("/projects/<id:project_id>")
@token_checked_in_view
def get_project(project_id: int) -> Response:
    """Get a project"""
    # Hot path: the token check and the read are one statement (reads.py); 401, then 404, then 304.
    [project] = authenticated(PROJECT_BY_TOKEN, project_id=project_id)
    if project.id is None:
        raise _not_found("project", project_id)
    return _read(project_json(project), project.version)


# concordance: optimistic-concurrency
@api.patch("/projects/<id:project_id>")
@login_required
def update_project(project_id: int) -> Response:
    """Update a project (JSON merge patch)"""
    data = validate(read_json_body(merge_patch=True), PROJECT_PATCH)
    expected = expected_versions(request.headers.get("If-Match"))
    session = get_session()
    lock_owner(session, g.user_id)
    where = [Project.id == project_id, Project.owner_id == g.user_id]
    if expected is not None:
        where.append(Project.version.in_(expected))
    # One statement decides: of two writers holding the same ETag exactly one matches the version.
    statement = (
        update(Project)
        .where(*where)
        .values(**data, version=Project.version + 1, updated_at=timestamp(utc_now()))
        .returning(Project)
    )
    project = session.scalars(statement).first() if expected != set() else None
    if project is None:
        raise _refused("project", project_id, _project_version(project_id), expected)
    record_event(session, g.user_id, "project.updated", changed(project_json(project)))
    session.commit()
    return _with_etag(project_json(project), project.version)


# end concordance


@api.delete("/projects/<id:project_id>")
@login_required
def delete_project(project_id: int) -> Response:
    """Delete a project and its tasks"""
    expected = expected_versions(request.headers.get("If-Match"))
    session = get_session()
    lock_owner(session, g.user_id)
    where = [Project.id == project_id, Project.owner_id == g.user_id]
    if expected is not None:
        where.append(Project.version.in_(expected))
    statement = delete(Project).where(*where).returning(Project.version)  # the last version, for the event
    deleted = session.execute(statement).first() if expected != set() else None
    if deleted is None:
        raise _refused("project", project_id, _project_version(project_id), expected)
    # One project.deleted: its tasks go with it (ON DELETE CASCADE), without a task.deleted each.
    record_event(session, g.user_id, "project.deleted", project_deleted(project_id, deleted.version))
    session.commit()
    return no_content()


# --- tasks ---------------------------------------------------------------------------------------


@api.get("/projects/<id:project_id>/tasks")
@token_checked_in_view
def list_tasks(project_id: int) -> Response:
    """List a project's tasks"""
    params = list_params(request.args, filters=True)
    scope = {"list": "tasks", "project": project_id, "done": params.done, "priority": params.priority}
    # The cursor's user is compared once the statement has said who the caller is (its MAC and the rest of
    # its scope are checked now: the page is read after the position it names).
    cursor = read_cursor(current_app.config["SECRET_KEY"], params.cursor, scope) if params.cursor else None
    # Hot path: the token, the project and the page in one statement (reads.py).
    statement = TASK_PAGE_BY_TOKEN[params.done is not None, params.priority is not None]
    rows = authenticated(
        statement,
        project_id=project_id,
        after=cursor.after if cursor else 0,
        limit=params.page_size + 1,
        done=params.done,
        priority=params.priority,
    )
    scope["user"] = g.user_id
    if cursor is not None and not cursor.issued_for(g.user_id):
        raise invalid_cursor()
    if rows[0].owned_project is None:
        raise _not_found("project", project_id)
    items = [row for row in rows if row.id is not None]  # an empty page is one row without a task
    return _page(items, params, scope, task_json)


@api.post("/projects/<id:project_id>/tasks")
def create_task(project_id: int) -> Response:
    """Create a task in a project"""
    # Hot path: the token and the project in one statement, before the body is read (a 401 is answered
    # without waiting for it); the 404 comes after the 422, before idempotency (the spec's order of checks).
    [project] = authenticated(PROJECT_BY_TOKEN, project_id=project_id)
    key = request.headers.get("Idempotency-Key")
    data = validate(read_json_body(), TASK_CREATE, idempotency_key_errors(key))
    if project.id is None:
        raise _not_found("project", project_id)

    def create() -> Response:
        session = get_session()
        lock_owner(session, g.user_id)
        now = timestamp(utc_now())
        due_on = data.get("due_on")
        task = Task(
            project_id=project_id,
            title=data["title"],
            notes=data.get("notes", ""),
            done=data.get("done", False),
            priority=data.get("priority", "normal"),
            due_on=datetime.date.fromisoformat(due_on) if due_on is not None else None,
            version=1,
            created_at=now,
            updated_at=now,
        )
        session.add(task)
        try:
            session.flush()
        except IntegrityError:
            raise _not_found("project", project_id) from None  # deleted a moment ago (foreign key)
        record_event(session, g.user_id, "task.created", changed(task_json(task)))
        return _with_etag(task_json(task), task.version, 201, Location=f"/tasks/{task.id}")

    return run_create(key, create)


@api.get("/tasks/<id:task_id>")
@token_checked_in_view
def get_task(task_id: int) -> Response:
    """Get a task"""
    # Hot path: the token check and the read are one statement (reads.py); 401, then 404, then 304.
    [task] = authenticated(TASK_BY_TOKEN, task_id=task_id)
    if task.id is None:
        raise _not_found("task", task_id)
    return _read(task_json(task), task.version)


def _write_task(task_id: int, data: dict[str, Any]) -> Response:
    """PUT and PATCH: one conditional UPDATE of the members given (a PATCH names only some)."""
    values = dict(data)
    if values.get("due_on") is not None:
        values["due_on"] = datetime.date.fromisoformat(values["due_on"])
    expected = expected_versions(request.headers.get("If-Match"))
    where = [Task.id == task_id, Task.project_id.in_(_owned_projects())]
    if expected is not None:
        where.append(Task.version.in_(expected))
    if "project_id" in values:
        # The target must be one of the caller's projects; checked inside the same UPDATE.
        where.append(exists().where(Project.id == values["project_id"], Project.owner_id == g.user_id))
    statement = (
        update(Task)
        .where(*where)
        .values(**values, version=Task.version + 1, updated_at=timestamp(utc_now()))
        .returning(Task)
    )
    session = get_session()
    lock_owner(session, g.user_id)
    try:
        task = session.scalars(statement).first() if expected != set() else None
    except IntegrityError:
        # The target project was deleted between the check and the write (PostgreSQL's foreign key).
        session.rollback()
        raise _foreign_project() from None
    if task is None:
        raise _refused("task", task_id, _task_version(task_id), expected)
    record_event(session, g.user_id, "task.updated", changed(task_json(task)))
    session.commit()
    return _with_etag(task_json(task), task.version)


@api.put("/tasks/<id:task_id>")
@login_required
def replace_task(task_id: int) -> Response:
    """Replace a task"""
    return _write_task(task_id, validate(read_json_body(), TASK_REPLACE))


@api.patch("/tasks/<id:task_id>")
@login_required
def update_task(task_id: int) -> Response:
    """Update a task (JSON merge patch)"""
    return _write_task(task_id, validate(read_json_body(merge_patch=True), TASK_PATCH))


@api.delete("/tasks/<id:task_id>")
@login_required
def delete_task(task_id: int) -> Response:
    """Delete a task"""
    expected = expected_versions(request.headers.get("If-Match"))
    session = get_session()
    lock_owner(session, g.user_id)
    where = [Task.id == task_id, Task.project_id.in_(_owned_projects())]
    if expected is not None:
        where.append(Task.version.in_(expected))
    statement = delete(Task).where(*where).returning(Task.version, Task.project_id)
    deleted = session.execute(statement).first() if expected != set() else None
    if deleted is None:
        raise _refused("task", task_id, _task_version(task_id), expected)
    record_event(
        session, g.user_id, "task.deleted", task_deleted(task_id, deleted.version, deleted.project_id)
    )
    session.commit()
    return no_content()


# --- live events ---------------------------------------------------------------------------------


# concordance: event-stream
# HEAD listed explicitly: Flask would run the whole GET view (start point, stream) for HEAD; see below.
@api.route("/events", methods=["GET", "HEAD"])
@login_required
def stream_events() -> Response:
    """Stream the current user's changes (Server-Sent Events)"""
    after = resume_after(request.headers, request.args)  # 422 after the 401 of login_required
    if request.method == "HEAD":
        # The stream's headers at once, no body. An empty iterator, not b"": Werkzeug would add
        # Content-Length: 0, which GET (a stream) never sends.
        return Response(iter(()), headers=HEADERS, content_type=CONTENT_TYPE)
    user_id = g.user_id
    if after is None:
        # The start point is fixed before the first byte: every change committed after the client has the
        # headers is in its stream.
        after = latest_event_id(get_session(), user_id)
    # No stream_with_context: it would keep the request and app contexts alive for the whole stream, and
    # with them g.db_session and its pooled connection. The generator gets plain values instead; Flask's
    # teardown closes the request's session as soon as this view has returned the response.
    settings = StreamSettings.from_config(current_app.config, current_app.extensions["tasks_api.redis"])
    stream = event_stream(session_factory(), user_id, after, settings)
    return Response(stream, headers=HEADERS, content_type=CONTENT_TYPE)


# end concordance


# --- pages ---------------------------------------------------------------------------------------


# concordance: pages
@api.get("/")
def get_home() -> Response:
    """The live page (a small browser client of this API)"""
    return send_page("index.html")


@api.get("/docs")
def get_docs() -> Response:
    """This document rendered by Swagger UI (served offline, no outside requests)"""
    return send_page("docs.html")


@api.get("/static/<static_name:name>")
def get_static_file(name: str) -> Response:
    """A file of the pages (script, style sheet, Swagger UI)"""
    return send_static(name)


# end concordance


# --- operations ----------------------------------------------------------------------------------


# concordance: health
@api.get("/healthz")
def get_health() -> Response:
    """Liveness (the process answers; the database is not touched)"""
    return make_response({"status": "ok"})


@api.get("/readyz")
def get_readiness() -> Response:
    """Readiness (the database answers)"""
    # At most one second on the database (db.Readiness), so a probe never hangs with it.
    if not database_ready():
        raise ApiProblem(
            "service-unavailable", "The database did not answer within one second.", headers=RETRY_SOON
        )
    return make_response({"status": "ok", "checks": {"database": "ok"}})


# end concordance


@api.get("/openapi.yaml")
def get_openapi() -> Response:
    """This document, byte for byte"""
    spec = (current_app.config["SPEC_DIR"] / "openapi.yaml").read_bytes()
    return Response(spec, mimetype="application/yaml")
