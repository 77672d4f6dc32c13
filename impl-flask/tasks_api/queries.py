"""The hot paths' statements: the bearer token joined to the resource, so one round trip answers 401/404/200.

Hot path, written this way on purpose (a reader diffs the ports side by side):
- ONE statement per request: `tokens LEFT JOIN <the caller's resource>`. No row: the token is unknown, expired
  or revoked (401); a row whose resource columns are NULL: missing or someone else's (404); else the resource.
  The spec's order of checks (401, then 404, then 304) is kept, and revocation is seen on the next request.
- Built once, at import, with bind parameters: SQLAlchemy's statement cache then finds the compiled SQL by a
  cache key computed on an unchanging object, and no request pays for building the expression.
- Core statements over the mapped tables (`Model.__table__`), run by the request's session: rows, not ORM
  instances. The views only render the columns, and the ORM's per-row machinery (identity map, instance
  state) cost more than the whole rest of the read (measured: about 100 µs a request).
"""

from __future__ import annotations

from sqlalchemy import Select, and_, bindparam, exists, select

from .models import Project, Task, Token, User

tokens = Token.__table__
projects = Project.__table__
tasks = Task.__table__

# The caller's token: unknown, expired and revoked tokens all match no row.
_TOKEN_VALID = and_(tokens.c.token_hash == bindparam("token_hash"), tokens.c.expires_at > bindparam("now"))


# Every other authenticated request (security.authenticate): the user of a valid token, one statement.
USER_BY_TOKEN = (
    select(User)
    .join(Token, Token.user_id == User.id)
    .where(Token.token_hash == bindparam("token_hash"), Token.expires_at > bindparam("now"))
)


# concordance: ownership
def _owned_project(project_id: object) -> object:
    """The caller's project with this id (another user's is the same as a missing one: 404)."""
    return and_(projects.c.id == project_id, projects.c.owner_id == tokens.c.user_id)


# GET /tasks/{id}: the task, if one of the caller's projects holds it.
TASK_BY_TOKEN = (
    select(tokens.c.user_id, *tasks.c)
    .select_from(
        tokens.outerjoin(
            tasks,
            and_(
                tasks.c.id == bindparam("task_id"),
                exists().where(_owned_project(tasks.c.project_id)),
            ),
        )
    )
    .where(_TOKEN_VALID)
)

# GET /projects/{id}, and the 404 check of POST /projects/{id}/tasks.
PROJECT_BY_TOKEN = (
    select(tokens.c.user_id, *projects.c)
    .select_from(tokens.outerjoin(projects, _owned_project(bindparam("project_id"))))
    .where(_TOKEN_VALID)
)
# end concordance


def _page_statement(done: bool, priority: bool) -> Select:
    """GET /projects/{id}/tasks: the token, the caller's project and one page of its tasks (limit + 1 rows).

    The page is a derived table (ORDER BY id LIMIT inside), joined only when the project is the caller's:
    both databases then read at most limit + 1 index entries (a plain LEFT JOIN of tasks made PostgreSQL
    sort every task of the project after the cursor). One statement is also one snapshot: the project and
    its tasks agree.
    """
    page = select(tasks).where(tasks.c.project_id == bindparam("project_id"), tasks.c.id > bindparam("after"))
    if done:
        page = page.where(tasks.c.done == bindparam("done"))
    if priority:
        page = page.where(tasks.c.priority == bindparam("priority"))
    page = page.order_by(tasks.c.id).limit(bindparam("limit")).subquery("page")
    return (
        select(tokens.c.user_id, projects.c.id.label("owned_project"), *page.c)
        .select_from(
            tokens.outerjoin(projects, _owned_project(bindparam("project_id"))).outerjoin(
                page, projects.c.id.is_not(None)
            )
        )
        .where(_TOKEN_VALID)
        .order_by(page.c.id)
    )


# One statement per combination of the optional filters, built once.
TASK_PAGE = {
    (done, priority): _page_statement(done, priority) for done in (False, True) for priority in (False, True)
}
