"""Tag projects: list, create (idempotent), read (conditional), patch and delete (If-Match)."""

from __future__ import annotations

from flask import Blueprint, Response, g, request
from sqlalchemy import Select, delete, select, update

from .. import idempotency
from ..body import read_json
from ..clock import now, timestamp
from ..conditional import conditional_read, with_etag, write_if_match
from ..db import get_session
from ..errors import not_found
from ..models import Project
from ..outbox import changed, lock_owner, project_deleted, record_event
from ..pagination import page, position
from ..queries import PROJECT_BY_TOKEN
from ..routing import no_content
from ..schemas import (
    PROJECT_CREATE,
    PROJECT_PATCH,
    idempotency_key_errors,
    list_params,
    project_json,
    validate,
)
from ..security import authenticated, login_required, token_checked_in_view

bp = Blueprint("projects", __name__)


def _version(project_id: int) -> Select[tuple[int]]:
    """The current version of one of the caller's projects (no row: missing or someone else's)."""
    return select(Project.version).where(Project.id == project_id, Project.owner_id == g.caller.user_id)


@bp.get("/projects")
@login_required
def list_projects() -> Response:
    """List the current user's projects"""
    params = list_params(request.args, filters=False)
    user_id = g.caller.user_id
    scope = {"list": "projects", "user": user_id, "project": None, "done": None, "priority": None}
    rows = get_session().scalars(
        select(Project)
        .where(Project.owner_id == user_id, Project.id > position(params, scope))
        .order_by(Project.id)
        .limit(params.page_size + 1)
    )
    return page(list(rows), params, scope, project_json)


@bp.post("/projects")
@login_required
def create_project() -> Response:
    """Create a project"""
    key = request.headers.get("Idempotency-Key")
    data = validate(read_json(), PROJECT_CREATE, idempotency_key_errors(key))
    user_id = g.caller.user_id
    session = get_session()
    claim = idempotency.claim(session, user_id, key)
    if isinstance(claim, Response):
        return claim  # the stored answer of the first request with this key
    with idempotency.release_on_failure(session, claim):
        lock_owner(session, user_id)  # first: one user's events commit in id order
        moment = timestamp(now())
        project = Project(
            owner_id=user_id,
            name=data["name"],
            description=data.get("description", ""),
            version=1,
            created_at=moment,
            updated_at=moment,
        )
        session.add(project)
        session.flush()  # the id, for Location and the event
        record_event(session, user_id, "project.created", changed(project_json(project)))
        response = with_etag(project_json(project), project.version, 201, Location=f"/projects/{project.id}")
    idempotency.store(session, claim, response)  # in the same transaction as the project and its event
    session.commit()
    return response


@bp.get("/projects/<id:project_id>")
@token_checked_in_view
def get_project(project_id: int) -> Response:
    """Get a project"""
    # Hot path: the token check and the read are one statement (queries.py); 401, then 404, then 304.
    [project] = authenticated(PROJECT_BY_TOKEN, project_id=project_id)
    if project.id is None:
        raise not_found("project", project_id)
    return conditional_read(project_json(project), project.version)


# concordance: optimistic-concurrency
@bp.patch("/projects/<id:project_id>")
@login_required
def update_project(project_id: int) -> Response:
    """Update a project (JSON merge patch)"""
    data = validate(read_json(merge_patch=True), PROJECT_PATCH)
    user_id = g.caller.user_id
    session = get_session()
    lock_owner(session, user_id)
    statement = (
        update(Project)
        .where(Project.id == project_id, Project.owner_id == user_id)
        .values(**data, version=Project.version + 1, updated_at=timestamp(now()))
        .returning(Project)
    )
    [project] = write_if_match(
        session,
        statement,
        version=Project.version,
        current=_version(project_id),
        kind="project",
        ident=project_id,
    )
    record_event(session, user_id, "project.updated", changed(project_json(project)))
    session.commit()
    return with_etag(project_json(project), project.version)


# end concordance


@bp.delete("/projects/<id:project_id>")
@login_required
def delete_project(project_id: int) -> Response:
    """Delete a project and its tasks"""
    user_id = g.caller.user_id
    session = get_session()
    lock_owner(session, user_id)
    statement = (
        delete(Project)
        .where(Project.id == project_id, Project.owner_id == user_id)
        .returning(Project.version)  # the last version, for the event
    )
    [version] = write_if_match(
        session,
        statement,
        version=Project.version,
        current=_version(project_id),
        kind="project",
        ident=project_id,
    )
    # One project.deleted: its tasks go with it (ON DELETE CASCADE), without a task.deleted each.
    record_event(session, user_id, "project.deleted", project_deleted(project_id, version))
    session.commit()
    return no_content()
