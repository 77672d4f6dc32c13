"""Hot-path statements built once: the bearer token joined to the resource it asks for, one round trip."""

from datetime import date
from typing import Any

from django.db import connection
from django.http import HttpRequest

from .clock import now
from .errors import not_found
from .models import Project, Task, Token, User
from .security import Caller, bearer_token, invalid_token, token_hash

# Hot path, written this way on purpose (issue 15): one round trip answers both "whose token is this?"
# and "is the resource theirs?". The token row LEFT JOIN the owned resource: no row is 401 (unknown,
# expired or revoked token), a row without the resource is 404, anything else is the resource. Nothing
# is cached in the process: a revoked token or an edited row shows on the very next request.
#
# Raw SQL because the ORM joins only along declared relations with their own ON clause; this join's
# ON clause carries the requested id and the ownership (FilteredRelation cannot reach the task through
# its project without one row per project of the caller). EXISTS rather than a parenthesised
# (tasks JOIN projects): SQLite materialises the latter on every call.
#
# A cursor and Model.from_db(), not Model.objects.raw(): raw() works out the column mapping and the
# field converters again on every call, which measured 40% of the read's CPU (cProfile, SQLite).

TASK_FIELDS = [field.attname for field in Task._meta.concrete_fields]
TASK_BY_TOKEN = f"""
SELECT tokens.user_id, {", ".join(f"tasks.{field.column}" for field in Task._meta.concrete_fields)}
FROM tokens
LEFT JOIN tasks ON tasks.id = %s AND EXISTS (
    SELECT 1 FROM projects WHERE projects.id = tasks.project_id AND projects.owner_id = tokens.user_id
)
WHERE tokens.token_hash = %s AND tokens.expires_at > %s
"""

PROJECT_FIELDS = [field.attname for field in Project._meta.concrete_fields]
PROJECT_BY_TOKEN = f"""
SELECT tokens.user_id, {", ".join(f"projects.{field.column}" for field in Project._meta.concrete_fields)}
FROM tokens
LEFT JOIN projects ON projects.id = %s AND projects.owner_id = tokens.user_id
WHERE tokens.token_hash = %s AND tokens.expires_at > %s
"""

# The page and the write only need the caller and whether the project is theirs: three numbers, no model.
PROJECT_ID_BY_TOKEN = """
SELECT tokens.user_id, tokens.id, projects.id
FROM tokens
LEFT JOIN projects ON projects.id = %s AND projects.owner_id = tokens.user_id
WHERE tokens.token_hash = %s AND tokens.expires_at > %s
"""


def _token_row(request: HttpRequest, sql: str, resource_id: int) -> tuple[Any, ...]:
    """The statement's one row (the caller's user id, then the resource's columns), or 401."""
    # bearer_token() answers a missing or malformed header (401) before the database is asked.
    params = (resource_id, token_hash(bearer_token(request)), now())
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        raise invalid_token()
    return row


def owned_task(request: HttpRequest, task_id: int) -> Task:
    """The caller's task `task_id`: 401 for a bad token, then 404 when the task is not theirs."""
    row = _token_row(request, TASK_BY_TOKEN, task_id)
    if row[1] is None:  # the token is good; the LEFT JOIN found no task of theirs
        raise not_found("task")
    task = Task.from_db(connection.alias, TASK_FIELDS, row[1:])
    # What Django's field converters make of SQLite's values (0/1 for a bool, text for a date);
    # psycopg already returns a bool and a date.
    task.done = bool(task.done)
    if isinstance(task.due_on, str):
        task.due_on = date.fromisoformat(task.due_on)
    return task


def owned_project(request: HttpRequest, project_id: int) -> Project:
    """The caller's project `project_id`: 401 for a bad token, then 404 when it is not theirs."""
    row = _token_row(request, PROJECT_BY_TOKEN, project_id)
    if row[1] is None:
        raise not_found("project")
    return Project.from_db(connection.alias, PROJECT_FIELDS, row[1:])  # text and integers: no converters


def caller_and_project(request: HttpRequest, project_id: int) -> tuple[Caller, bool]:
    """(the Caller, whether project `project_id` is theirs), or 401 for a bad token.

    The 404 is the handler's to raise: the spec checks the body, the query and the cursor in between.
    """
    user_id, token_id, owned_id = _token_row(request, PROJECT_ID_BY_TOKEN, project_id)
    return Caller(user_id, token_id), owned_id is not None


def current_user(request: HttpRequest) -> User:
    """The user of the request's bearer token, the token joined to its user in one statement, or 401."""
    token = (
        Token.objects.select_related("user")
        .filter(token_hash=token_hash(bearer_token(request)), expires_at__gt=now())
        .first()
    )
    if token is None:
        raise invalid_token()
    return token.user
