"""projects: list (keyset pages), create (idempotent), read (conditional), patch and delete (If-Match)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Request, Response
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from tasks_api import clock, idempotency
from tasks_api.body import BodyRoute
from tasks_api.conditional import Precondition, etag, if_match, none_match
from tasks_api.config import get_settings
from tasks_api.db import read_transaction, write_transaction
from tasks_api.deps import Bearer, Db, IdempotencyKeyHeader, IfMatch, IfNoneMatch, ProjectListParams, RawBody
from tasks_api.errors import ApiError, not_found
from tasks_api.models import Project
from tasks_api.outbox import changed, lock_owner, project_deleted, record_event
from tasks_api.pagination import decode_cursor, encode_cursor, next_link
from tasks_api.schemas import (
    ProjectCreate,
    ProjectOut,
    ProjectPage,
    ProjectPatch,
    json_response,
    no_content,
    render,
)
from tasks_api.security import authenticate

router = APIRouter(route_class=BodyRoute, tags=["projects"])


def project_response(project: Project, status_code: int = 200, body: bytes | None = None) -> Response:
    """A project with its strong ETag (`body`: the project already rendered)."""
    body = body if body is not None else render(ProjectOut.model_validate(project))
    return json_response(body, status_code, {"ETag": etag(project.version)})


# concordance: pagination
@router.api_route("/projects", methods=["GET", "HEAD"])
def list_projects(request: Request, token: Bearer, params: ProjectListParams, db: Db) -> Response:
    """List the current user's projects"""
    caller = authenticate(db, token)
    secret = get_settings().secret_key
    identity = {"list": "projects", "user": caller.user_id, "project": None, "done": None, "priority": None}
    after = decode_cursor(secret, params.cursor, identity) if params.cursor else 0
    with read_transaction(db):
        # Keyset: walks the (owner_id, id) index; one row more than the page tells whether another exists.
        rows = db.scalars(
            select(Project)
            .where(Project.owner_id == caller.user_id, Project.id > after)
            .order_by(Project.id)
            .limit(params.limit + 1)
        ).all()
    items = rows[: params.limit]
    next_cursor = (
        encode_cursor(secret, {**identity, "after": items[-1].id}) if len(rows) > params.limit else None
    )
    headers = {"Link": next_link(request.url.path, params, next_cursor)} if next_cursor else {}
    page = ProjectPage(items=[ProjectOut.model_validate(row) for row in items], next_cursor=next_cursor)
    return json_response(render(page), headers=headers)


# end concordance


# The write path, top-down: the caller; the key's claim (or its replay); then one transaction with the
# project, its outbox row and the stored response; the answer. A failure releases the claim.
@router.post("/projects")
def create_project(
    request: Request,
    token: Bearer,
    payload: Annotated[ProjectCreate, Body()],
    body: RawBody,
    db: Db,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Create a project"""
    caller = authenticate(db, token)
    print_ = idempotency.fingerprint(request.url.path, body)
    owned = idempotency.claim(db, caller.user_id, idempotency_key, print_)
    if isinstance(owned, Response):
        return owned  # the stored response of the first request, replayed
    with idempotency.release_on_failure(db, owned), write_transaction(db):
        lock_owner(db, caller.user_id)
        now = clock.now()
        project = Project(
            owner_id=caller.user_id,
            name=payload.name,
            description=payload.description,
            version=1,
            created_at=now,
            updated_at=now,
        )
        db.add(project)
        db.flush()  # the id, for Location
        rendered = render(ProjectOut.model_validate(project))
        record_event(db, caller.user_id, "project.created", changed(project.id, 1, rendered))
        response = idempotency.store_created(db, owned, rendered, f"/projects/{project.id}", etag(1))
    return response


# concordance: conditional-get
@router.api_route("/projects/{project_id:id}", methods=["GET", "HEAD"])
def get_project(project_id: int, token: Bearer, db: Db, if_none_match: IfNoneMatch = None) -> Response:
    """Get a project"""
    caller = authenticate(db, token)
    with read_transaction(db):
        project = db.scalar(
            select(Project).where(Project.id == project_id, Project.owner_id == caller.user_id)
        )
    if project is None:
        raise not_found("project", project_id)
    if none_match(if_none_match, project.version):
        return Response(status_code=304, headers={"ETag": etag(project.version)})
    return project_response(project)


# end concordance


def _precondition_failed_or_missing(
    db: Session, project_id: int, owner_id: int, wanted: Precondition | None
) -> ApiError:
    # The conditional statement changed no row: say why, in the spec's order (404 before 412).
    version = db.scalar(select(Project.version).where(Project.id == project_id, Project.owner_id == owner_id))
    if version is None:
        return not_found("project", project_id)
    current = f"the current ETag is {etag(version)}"
    if wanted is not None and wanted.matches(version):
        current = "the project changed meanwhile"  # only under concurrency: lost the race
    return ApiError("precondition-failed", f"If-Match does not match: {current}.")


# concordance: optimistic-concurrency
@router.patch("/projects/{project_id:id}")
def update_project(
    project_id: int,
    token: Bearer,
    payload: Annotated[ProjectPatch, Body()],
    db: Db,
    if_match_header: IfMatch = None,
) -> Response:
    """Update a project (JSON merge patch)"""
    caller = authenticate(db, token)
    wanted = if_match(if_match_header)
    # Only the members the patch names: two unconditional patches of different members both survive.
    changes = payload.model_dump(include=payload.model_fields_set)
    statement = update(Project).where(Project.id == project_id, Project.owner_id == caller.user_id)
    if wanted is not None and not wanted.any_version:
        statement = statement.where(Project.version.in_(wanted.versions))
    with write_transaction(db):
        lock_owner(db, caller.user_id)
        # One atomic statement: compare (WHERE version ...) and write (version + 1) together.
        values = {**changes, "version": Project.version + 1, "updated_at": clock.now()}
        project = db.scalar(statement.values(**values).returning(Project))
        if project is None:
            raise _precondition_failed_or_missing(db, project_id, caller.user_id, wanted)
        body = render(ProjectOut.model_validate(project))
        record_event(db, caller.user_id, "project.updated", changed(project.id, project.version, body))
    return project_response(project, body=body)


# end concordance


@router.delete("/projects/{project_id:id}")
def delete_project(project_id: int, token: Bearer, db: Db, if_match_header: IfMatch = None) -> Response:
    """Delete a project and its tasks"""
    caller = authenticate(db, token)
    wanted = if_match(if_match_header)
    statement = delete(Project).where(Project.id == project_id, Project.owner_id == caller.user_id)
    if wanted is not None and not wanted.any_version:
        statement = statement.where(Project.version.in_(wanted.versions))
    with write_transaction(db):
        lock_owner(db, caller.user_id)
        # Its tasks go by ON DELETE CASCADE, without a task.deleted event each.
        last_version = db.scalar(statement.returning(Project.version))
        if last_version is None:
            raise _precondition_failed_or_missing(db, project_id, caller.user_id, wanted)
        record_event(db, caller.user_id, "project.deleted", project_deleted(project_id, last_version))
    return no_content()
