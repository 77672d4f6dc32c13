"""tasks: list (filters, keyset pages), create (idempotent), read, replace, patch, delete."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response
from sqlalchemy import ColumnElement, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tasks_api import clock, idempotency
from tasks_api.body import BodyRoute
from tasks_api.conditional import Precondition, etag, if_match, none_match
from tasks_api.config import get_settings
from tasks_api.db import one_statement, single_read, write_transaction
from tasks_api.deps import Bearer, Db, IdempotencyKeyHeader, IfMatch, IfNoneMatch, RawBody, TaskListParams
from tasks_api.errors import ApiError, not_found, validation_error
from tasks_api.models import Project, Task
from tasks_api.outbox import changed, lock_owner, record_event, task_deleted
from tasks_api.pagination import decode_cursor, encode_cursor, next_link
from tasks_api.queries import LOCK_OWNER_AND_PROJECT, PROJECT_BY_TOKEN, TASK_BY_TOKEN, TASK_PAGE
from tasks_api.schemas import (
    TaskCreate,
    TaskOut,
    TaskPage,
    TaskPatch,
    TaskReplace,
    json_response,
    no_content,
    render,
)
from tasks_api.security import authenticate, checked, invalid_token

router = APIRouter(route_class=BodyRoute, tags=["tasks"])


def task_response(task: Task, status_code: int = 200, body: bytes | None = None) -> Response:
    """A task with its strong ETag (`body`: the task already rendered)."""
    body = body if body is not None else render(TaskOut.model_validate(task))
    return json_response(body, status_code, {"ETag": etag(task.version)})


# concordance: ownership
def owned_project(project_id: int, owner_id: int) -> ColumnElement[bool]:
    """The project exists and belongs to the caller."""
    return select(Project.id).where(Project.id == project_id, Project.owner_id == owner_id).exists()


def owned_task(task_id: int, owner_id: int) -> ColumnElement[bool]:
    """The task exists and lies in one of the caller's projects."""
    return (Task.id == task_id) & Task.project_id.in_(select(Project.id).where(Project.owner_id == owner_id))


# end concordance


# Hot path: the token, the project and the page in one statement (queries.TASK_PAGE), on a
# connection of its own rather than the Db session (see get_task).
@router.api_route("/projects/{project_id:id}/tasks", methods=["GET", "HEAD"])
def list_tasks(
    request: Request,
    project_id: int,
    token: Bearer,
    params: TaskListParams,
) -> Response:
    """List a project's tasks"""
    secret = get_settings().secret_key
    identity = {"list": "tasks", "project": project_id, "done": params.done, "priority": params.priority}
    # The cursor is a parameter: judged (400) before the resource (404), like the other ports. Its
    # signature and list are checked now (a 400 from here still checks the token first: errors.py),
    # the user it was made for once the statement has told who calls.
    after = decode_cursor(secret, params.cursor, identity) if params.cursor else 0
    values = {
        "digest": token.token_hash,
        "now": clock.now(),
        "project_id": project_id,
        "after": after,
        "done": params.done,
        "priority": params.priority,
        "limit": params.limit + 1,
    }
    statement = TASK_PAGE[params.done is not None, params.priority is not None]
    with single_read() as conn:  # one statement: one snapshot, no BEGIN on SQLite
        rows = conn.execute(statement, values).all()
    caller = checked(token, rows[0].user_id if rows else None)
    identity["user"] = caller.user_id
    if params.cursor:
        decode_cursor(secret, params.cursor, identity)  # 400 for another user's cursor
    if rows[0].found_project is None:
        raise not_found("project", project_id)
    items = [row for row in rows[: params.limit] if row.id is not None]
    next_cursor = (
        encode_cursor(secret, {**identity, "after": items[-1].id}) if len(rows) > params.limit else None
    )
    headers = {"Link": next_link(request.url.path, params, next_cursor)} if next_cursor else {}
    page = TaskPage(items=[TaskOut.model_validate(row) for row in items], next_cursor=next_cursor)
    return json_response(render(page), headers=headers)


@router.post("/projects/{project_id:id}/tasks")
def create_task(
    request: Request,
    project_id: int,
    token: Bearer,
    payload: Annotated[TaskCreate, Body()],
    body: RawBody,
    db: Db,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Create a task in a project"""
    # Hot path: the token and the project (401, then 404, before idempotency) in one statement.
    with one_statement(db):
        row = db.execute(
            PROJECT_BY_TOKEN, {"digest": token.token_hash, "now": clock.now(), "project_id": project_id}
        ).first()
    caller = checked(token, row.user_id if row else None)
    if row.found_project is None:
        raise not_found("project", project_id)
    print_ = idempotency.fingerprint(request.url.path, body)
    owned = idempotency.claim(db, caller.user_id, idempotency_key, print_)
    if isinstance(owned, Response):
        return owned  # the stored response of the first request, replayed
    with idempotency.release_on_failure(db, owned), write_transaction(db):
        # As lock_owner() then the ownership check (the project may have gone since the check above),
        # in one statement: the write's first.
        owner = db.execute(
            LOCK_OWNER_AND_PROJECT, {"user_id": caller.user_id, "project_id": project_id}
        ).first()
        if owner is None:
            raise invalid_token()  # the user was deleted (with the token) since the token was checked
        if owner.found_project is None:
            raise not_found("project", project_id)
        now = clock.now()
        task = Task(project_id=project_id, **payload.model_dump(), version=1, created_at=now, updated_at=now)
        db.add(task)
        try:
            db.flush()
        except IntegrityError:
            # PostgreSQL: the project was deleted between our check and the insert (FK violation).
            raise not_found("project", project_id) from None
        rendered = render(TaskOut.model_validate(task))
        record_event(db, caller.user_id, "task.created", changed(task.id, 1, rendered))
        response = idempotency.store_created(db, owned, rendered, f"/tasks/{task.id}", etag(1))
    return response


# Hot path: the token and the task in one statement (queries.TASK_BY_TOKEN), no BEGIN on SQLite. A
# plain connection opened inside the endpoint, not the Db dependency: a yield dependency costs an exit
# stack per request and a Session its bookkeeping, together about a fifth of this read's CPU here.
@router.api_route("/tasks/{task_id:id}", methods=["GET", "HEAD"])
def get_task(task_id: int, token: Bearer, if_none_match: IfNoneMatch = None) -> Response:
    """Get a task"""
    with single_read() as conn:
        row = conn.execute(
            TASK_BY_TOKEN, {"digest": token.token_hash, "now": clock.now(), "task_id": task_id}
        ).first()
    checked(token, row.user_id if row else None)  # no row: 401
    if row.id is None:
        raise not_found("task", task_id)
    if none_match(if_none_match, row.version):
        return Response(status_code=304, headers={"ETag": etag(row.version)})
    return json_response(render(TaskOut.model_validate(row)), headers={"ETag": etag(row.version)})


def _write(
    db: Session, task_id: int, owner_id: int, changes: dict[str, Any], wanted: Precondition | None
) -> Response:
    """Apply `changes` with one conditional UPDATE and write its event; on no row, raise the problem
    that explains why."""
    with write_transaction(db):
        lock_owner(db, owner_id)
        target_ok = "project_id" not in changes or bool(
            db.scalar(select(owned_project(changes["project_id"], owner_id)))
        )
        if target_ok:
            statement = update(Task).where(owned_task(task_id, owner_id))
            if wanted is not None and not wanted.any_version:
                statement = statement.where(Task.version.in_(wanted.versions))
            values = {**changes, "version": Task.version + 1, "updated_at": clock.now()}
            try:
                # A savepoint, so that after a failed statement PostgreSQL still lets us explain why.
                with db.begin_nested():
                    # One atomic statement: compare (WHERE version ...) and write (version + 1) together.
                    task = db.scalar(statement.values(**values).returning(Task))
            except IntegrityError:
                task, target_ok = None, False  # PostgreSQL: the target project was just deleted
            if task is not None:
                body = render(TaskOut.model_validate(task))
                record_event(db, owner_id, "task.updated", changed(task.id, task.version, body))
                return task_response(task, body=body)
        raise _why_unchanged(db, task_id, owner_id, wanted, target_ok)


def _why_unchanged(
    db: Session, task_id: int, owner_id: int, wanted: Precondition | None, target_ok: bool
) -> ApiError:
    # In the spec's order of checks: the resource (404), the precondition (412), business rules (422).
    version = db.scalar(select(Task.version).where(owned_task(task_id, owner_id)))
    if version is None:
        return not_found("task", task_id)
    if wanted is not None and not wanted.matches(version):
        return ApiError(
            "precondition-failed", f"If-Match does not match: the current ETag is {etag(version)}."
        )
    if not target_ok:
        return validation_error(
            [{"pointer": "/project_id", "detail": "must be the id of one of your projects"}]
        )
    # Only under concurrency: the row changed between the UPDATE and this read.
    return ApiError("precondition-failed", "If-Match does not match: the task changed meanwhile.")


@router.put("/tasks/{task_id:id}")
def replace_task(
    task_id: int,
    token: Bearer,
    payload: Annotated[TaskReplace, Body()],
    db: Db,
    if_match_header: IfMatch = None,
) -> Response:
    """Replace a task"""
    caller = authenticate(db, token)
    return _write(db, task_id, caller.user_id, payload.model_dump(), if_match(if_match_header))


@router.patch("/tasks/{task_id:id}")
def update_task(
    task_id: int,
    token: Bearer,
    payload: Annotated[TaskPatch, Body()],
    db: Db,
    if_match_header: IfMatch = None,
) -> Response:
    """Update a task (JSON merge patch)"""
    caller = authenticate(db, token)
    # Only the members the patch names: two unconditional patches of different members both survive.
    changes = payload.model_dump(include=payload.model_fields_set)
    return _write(db, task_id, caller.user_id, changes, if_match(if_match_header))


@router.delete("/tasks/{task_id:id}")
def delete_task(task_id: int, token: Bearer, db: Db, if_match_header: IfMatch = None) -> Response:
    """Delete a task"""
    caller = authenticate(db, token)
    wanted = if_match(if_match_header)
    statement = delete(Task).where(owned_task(task_id, caller.user_id))
    if wanted is not None and not wanted.any_version:
        statement = statement.where(Task.version.in_(wanted.versions))
    with write_transaction(db):
        lock_owner(db, caller.user_id)
        deleted = db.execute(statement.returning(Task.version, Task.project_id)).first()
        if deleted is None:
            raise _why_unchanged(db, task_id, caller.user_id, wanted, target_ok=True)
        record_event(db, caller.user_id, "task.deleted", task_deleted(task_id, *deleted))
    return no_content()
