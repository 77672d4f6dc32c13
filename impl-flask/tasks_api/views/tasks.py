"""Tag tasks: list (filters, keyset pages), create (idempotent), read, replace, patch, delete."""

from __future__ import annotations

import datetime
from typing import Any

from flask import Blueprint, Response, current_app, g, request
from sqlalchemy import Select, delete, exists, select, update
from sqlalchemy.exc import IntegrityError

from .. import idempotency
from ..body import read_json
from ..clock import now, timestamp
from ..conditional import conditional_read, with_etag, write_if_match
from ..db import get_session
from ..errors import ApiError, not_found, validation_error
from ..models import Project, Task
from ..outbox import changed, lock_owner, record_event, task_deleted
from ..pagination import invalid_cursor, page, read_cursor
from ..queries import PROJECT_BY_TOKEN, TASK_BY_TOKEN, TASK_PAGE
from ..routing import no_content
from ..schemas import (
    TASK_CREATE,
    TASK_PATCH,
    TASK_REPLACE,
    idempotency_key_errors,
    list_params,
    task_json,
    validate,
)
from ..security import authenticated, login_required, token_checked_in_view

bp = Blueprint("tasks", __name__)


# concordance: ownership
def _owned_projects() -> Select[tuple[int]]:
    """Ids of the caller's projects: another user's resource is the same as a missing one (404)."""
    return select(Project.id).where(Project.owner_id == g.caller.user_id)


# end concordance


def _version(task_id: int) -> Select[tuple[int]]:
    """The current version of one of the caller's tasks (no row: missing or someone else's)."""
    return select(Task.version).where(Task.id == task_id, Task.project_id.in_(_owned_projects()))


def _foreign_project() -> ApiError:
    """422 for a project_id that is missing or someone else's (a business rule, checked last)."""
    return validation_error([{"pointer": "/project_id", "detail": "must be one of your projects"}])


@bp.get("/projects/<id:project_id>/tasks")
@token_checked_in_view
def list_tasks(project_id: int) -> Response:
    """List a project's tasks"""
    params = list_params(request.args, filters=True)
    scope = {"list": "tasks", "project": project_id, "done": params.done, "priority": params.priority}
    # The cursor's user is compared once the statement has said who the caller is (its MAC and the rest of
    # its scope are checked now: the page is read after the position it names).
    cursor = read_cursor(current_app.config["SECRET_KEY"], params.cursor, scope) if params.cursor else None
    # Hot path: the token, the project and the page in one statement (queries.py).
    statement = TASK_PAGE[params.done is not None, params.priority is not None]
    rows = authenticated(
        statement,
        project_id=project_id,
        after=cursor.after if cursor else 0,
        limit=params.page_size + 1,
        done=params.done,
        priority=params.priority,
    )
    scope["user"] = g.caller.user_id
    if cursor is not None and not cursor.issued_for(g.caller.user_id):
        raise invalid_cursor()
    if rows[0].owned_project is None:
        raise not_found("project", project_id)
    items = [row for row in rows if row.id is not None]  # an empty page is one row without a task
    return page(items, params, scope, task_json)


@bp.post("/projects/<id:project_id>/tasks")
def create_task(project_id: int) -> Response:
    """Create a task in a project"""
    # Hot path: the token and the project in one statement, before the body is read (a 401 is answered
    # without waiting for it); the 404 comes after the 422, before idempotency (the spec's order of checks).
    [project] = authenticated(PROJECT_BY_TOKEN, project_id=project_id)
    key = request.headers.get("Idempotency-Key")
    data = validate(read_json(), TASK_CREATE, idempotency_key_errors(key))
    if project.id is None:
        raise not_found("project", project_id)
    user_id = g.caller.user_id
    session = get_session()
    claim = idempotency.claim(session, user_id, key)
    if isinstance(claim, Response):
        return claim  # the stored answer of the first request with this key
    with idempotency.release_on_failure(session, claim):
        lock_owner(session, user_id)  # first: one user's events commit in id order
        moment = timestamp(now())
        due_on = data.get("due_on")
        task = Task(
            project_id=project_id,
            title=data["title"],
            notes=data.get("notes", ""),
            done=data.get("done", False),
            priority=data.get("priority", "normal"),
            due_on=datetime.date.fromisoformat(due_on) if due_on is not None else None,
            version=1,
            created_at=moment,
            updated_at=moment,
        )
        session.add(task)
        try:
            session.flush()  # the id, for Location and the event
        except IntegrityError:
            raise not_found("project", project_id) from None  # deleted a moment ago (foreign key)
        record_event(session, user_id, "task.created", changed(task_json(task)))
        response = with_etag(task_json(task), task.version, 201, Location=f"/tasks/{task.id}")
    idempotency.store(session, claim, response)  # in the same transaction as the task and its event
    session.commit()
    return response


@bp.get("/tasks/<id:task_id>")
@token_checked_in_view
def get_task(task_id: int) -> Response:
    """Get a task"""
    # Hot path: the token check and the read are one statement (queries.py); 401, then 404, then 304.
    [task] = authenticated(TASK_BY_TOKEN, task_id=task_id)
    if task.id is None:
        raise not_found("task", task_id)
    return conditional_read(task_json(task), task.version)


def _write_task(task_id: int, data: dict[str, Any]) -> Response:
    """PUT and PATCH: one conditional UPDATE of the members given (a PATCH names only some)."""
    values = dict(data)
    if values.get("due_on") is not None:
        values["due_on"] = datetime.date.fromisoformat(values["due_on"])
    user_id = g.caller.user_id
    where = [Task.id == task_id, Task.project_id.in_(_owned_projects())]
    if "project_id" in values:
        # The target must be one of the caller's projects; checked inside the same UPDATE.
        where.append(exists().where(Project.id == values["project_id"], Project.owner_id == user_id))
    statement = (
        update(Task)
        .where(*where)
        .values(**values, version=Task.version + 1, updated_at=timestamp(now()))
        .returning(Task)
    )
    session = get_session()
    lock_owner(session, user_id)
    try:
        [task] = write_if_match(
            session,
            statement,
            version=Task.version,
            current=_version(task_id),
            kind="task",
            ident=task_id,
            otherwise=_foreign_project(),
        )
    except IntegrityError:
        # The target project was deleted between the check and the write (PostgreSQL's foreign key).
        session.rollback()
        raise _foreign_project() from None
    record_event(session, user_id, "task.updated", changed(task_json(task)))
    session.commit()
    return with_etag(task_json(task), task.version)


@bp.put("/tasks/<id:task_id>")
@login_required
def replace_task(task_id: int) -> Response:
    """Replace a task"""
    return _write_task(task_id, validate(read_json(), TASK_REPLACE))


@bp.patch("/tasks/<id:task_id>")
@login_required
def update_task(task_id: int) -> Response:
    """Update a task (JSON merge patch)"""
    return _write_task(task_id, validate(read_json(merge_patch=True), TASK_PATCH))


@bp.delete("/tasks/<id:task_id>")
@login_required
def delete_task(task_id: int) -> Response:
    """Delete a task"""
    user_id = g.caller.user_id
    session = get_session()
    lock_owner(session, user_id)
    statement = (
        delete(Task)
        .where(Task.id == task_id, Task.project_id.in_(_owned_projects()))
        .returning(Task.version, Task.project_id)
    )
    deleted = write_if_match(
        session, statement, version=Task.version, current=_version(task_id), kind="task", ident=task_id
    )
    record_event(session, user_id, "task.deleted", task_deleted(task_id, deleted.version, deleted.project_id))
    session.commit()
    return no_content()
