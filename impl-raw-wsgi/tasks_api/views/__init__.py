"""The handlers, one module per tag of spec/openapi.yaml, each named after its operationId; shared steps.

Each handler reads top to bottom in the order of checks of spec/README.md: authentication (401),
body (413, 415, 400), validation (422, all at once), the resource (404), preconditions (412),
idempotency, then business rules. A write is one transaction (the owner's lock, the change, its
outbox row, and for an idempotent create the stored response), then the event's publication once
it has committed. The steps below are shared by the projects and tasks modules; none calls back up.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, Table, delete, select, update

from tasks_api import conditional, models, pagination, schemas
from tasks_api.clock import now
from tasks_api.errors import ApiError, not_found
from tasks_api.http import Request, Response
from tasks_api.security import Caller

# `models.projects`, not `from tasks_api.models import projects`: in this package the names `projects`
# and `tasks` belong to the submodules views/projects.py and views/tasks.py.


# concordance: ownership
def project_of(caller: Caller, project_id: int) -> ColumnElement[bool]:
    """The project with this id, if the caller owns it: another user's project does not exist for them."""
    return (models.projects.c.id == project_id) & (models.projects.c.owner_id == caller.user_id)


def task_of(caller: Caller, task_id: int) -> ColumnElement[bool]:
    """The task with this id, if it is in one of the caller's projects."""
    owned_projects = select(models.projects.c.id).where(models.projects.c.owner_id == caller.user_id)
    return (models.tasks.c.id == task_id) & models.tasks.c.project_id.in_(owned_projects)


def find(
    connection: Connection, table: Table, condition: ColumnElement[bool], what: str, ident: int
) -> Row[Any]:
    """The one row the condition names, or 404."""
    row = connection.execute(select(table).where(condition)).one_or_none()
    if row is None:
        raise not_found(what, ident)
    return row


# end concordance


# concordance: conditional-get
def representation(document: dict[str, Any], version: int, if_none_match: str | None) -> Response:
    """200 with the ETag, or 304 (ETag, no body) when If-None-Match names the current version."""
    headers = [("ETag", conditional.etag(version))]
    if conditional.none_match(if_none_match, version):
        return Response.empty(304, headers)
    return Response.json(document, headers=headers)


# end concordance


def created(document: dict[str, Any], location: str, version: int) -> Response:
    """201 with the new resource, its Location and its ETag."""
    return Response.json(document, 201, [("Location", location), ("ETag", conditional.etag(version))])


def page(
    request: Request,
    query: schemas.ListParams,
    scope: dict[str, Any],
    rows: Sequence[Row[Any]],
    render: Callable[[Row[Any]], dict[str, Any]],
) -> Response:
    """A list's 200: the page's items, next_cursor, and a Link header when a next page exists."""
    items, more = pagination.page(rows, query.page_size)
    next_cursor = pagination.encode_cursor(request.settings.secret_key, scope, items[-1].id) if more else None
    headers = [("Link", pagination.next_link(request.path, query, next_cursor))] if next_cursor else []
    return Response.json(
        {"items": [render(row) for row in items], "next_cursor": next_cursor}, headers=headers
    )


# concordance: optimistic-concurrency
def update_owned(
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


def delete_owned(
    connection: Connection, table: Table, condition: ColumnElement[bool], expected: conditional.Expected
) -> Row[Any] | None:
    """DELETE ... WHERE <owned> AND version IN <If-Match> RETURNING *, in one statement like the updates.

    The row comes back for the event: its last version, and a task's project.
    """
    return connection.execute(
        delete(table)
        .where(condition, conditional.version_clause(table.c.version, expected))
        .returning(*table.c)
    ).one_or_none()


def why_unchanged(
    connection: Connection,
    table: Table,
    condition: ColumnElement[bool],
    expected: conditional.Expected,
    what: str,
    ident: int,
    otherwise: ApiError | None = None,
) -> ApiError:
    """A conditional write changed nothing: say why, in the order of checks (404, 412, then `otherwise`)."""
    version = connection.execute(select(table.c.version).where(condition)).scalar_one_or_none()
    if version is None:
        return not_found(what, ident)
    if otherwise is None or not conditional.matches(expected, version):
        # (With nothing else to blame, the row changed between the write and this read: also a 412.)
        return ApiError("precondition-failed", f'If-Match does not match the current ETag "{version}".')
    return otherwise
