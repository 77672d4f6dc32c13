"""The floors' shared part: routes, SQL, and the exact bytes of every answer (no I/O here).

A floor is the smallest correct app doing a port's real work with the driver directly: the bearer token's
SHA-256 looked up with its expiry, ownership, the row(s), compact JSON as the ports write it, ETag and
If-None-Match, 401 and 404 as problem+json. No framework, no ORM, no access log, no X-Request-ID, no CORS.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from urllib.parse import parse_qsl

DATABASE_URL = os.environ["FLOOR_DATABASE_URL"]  # sqlite:///path or postgresql://...
POSTGRES = DATABASE_URL.startswith("postgres")
SQLITE_PATH = DATABASE_URL.removeprefix("sqlite:///")
BUSY_TIMEOUT_MS = 5000  # the ports' DATABASE_TIMEOUT_SECONDS default
POSTGRES_POOL = 4  # connections per worker process on PostgreSQL (floor_sync.py says why)
PAGE_DEFAULT, PAGE_MAX = 20, 100

TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
TASK_PATH = re.compile(r"/tasks/([0-9]{1,18})")
PROJECT_TASKS_PATH = re.compile(r"/projects/([0-9]{1,18})/tasks")
PRIORITIES = frozenset({"low", "normal", "high"})
TASK_COLUMNS = "t.id, t.project_id, t.title, t.notes, t.done, t.priority, t.due_on, t.created_at, "
TASK_COLUMNS += "t.updated_at, t.version"


def _sql(text: str) -> str:
    # One statement text for both drivers: sqlite3 takes qmark parameters, psycopg takes %s.
    return text.replace("?", "%s") if POSTGRES else text


# The read: ONE statement. No token row -> 401; a token row without a task or with a foreign one -> 404.
READ = _sql(
    f"SELECT k.user_id, p.id, {TASK_COLUMNS} FROM tokens k "
    "LEFT JOIN tasks t ON t.id = ? "
    "LEFT JOIN projects p ON p.id = t.project_id AND p.owner_id = k.user_id "
    "WHERE k.token_hash = ? AND k.expires_at > ?"
)
# Auth and the project's ownership in one statement (the page and the write).
OWNER = (
    "SELECT k.user_id, p.id FROM tokens k "
    "LEFT JOIN projects p ON p.id = ? AND p.owner_id = k.user_id "
    "WHERE k.token_hash = ? AND k.expires_at > ?"
)
PAGE_OWNER = _sql(OWNER)
# In the write, PostgreSQL also locks the owner's users row, as the ports do (one user's event ids commit
# in order); SQLite's BEGIN IMMEDIATE already serialises writers.
WRITE_OWNER = _sql(
    "SELECT k.user_id, p.id FROM tokens k JOIN users u ON u.id = k.user_id "
    "LEFT JOIN projects p ON p.id = ? AND p.owner_id = k.user_id "
    "WHERE k.token_hash = ? AND k.expires_at > ? FOR UPDATE OF u"
    if POSTGRES
    else OWNER
)
PAGE = _sql(f"SELECT {TASK_COLUMNS} FROM tasks t WHERE t.project_id = ? AND t.id > ? ORDER BY t.id LIMIT ?")
INSERT_TASK = _sql(
    "INSERT INTO tasks (project_id, title, notes, done, priority, due_on, version, created_at, updated_at) "
    f"VALUES (?, ?, ?, ?, ?, NULL, 1, ?, ?) RETURNING {TASK_COLUMNS.replace('t.', '')}"
)
INSERT_EVENT = _sql("INSERT INTO events (user_id, type, data, created_at) VALUES (?, 'task.created', ?, ?)")

HEALTH_BODY = b'{"status":"ok"}'
JSON = "application/json"
PROBLEM = "application/problem+json"


def now() -> str:
    """RFC 3339 UTC, whole seconds, "Z": the schema's timestamp text (its text order is time order)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def token_hash(authorization: str | None) -> str | bool | None:
    """The token's hash; None when there is no bearer header; False when it is not of the token syntax."""
    if not authorization or not authorization.startswith("Bearer "):
        return None
    token = authorization[7:]
    return hashlib.sha256(token.encode()).hexdigest() if TOKEN.fullmatch(token) else False


def dumps(document: object) -> bytes:
    """Compact UTF-8 JSON, as every port writes it."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def task(row: tuple) -> dict:
    """The spec's Task, members in the ports' order (SQLite gives done as 0/1 and due_on as text)."""
    due = row[6]
    return {
        "id": row[0],
        "project_id": row[1],
        "title": row[2],
        "notes": row[3],
        "done": bool(row[4]),
        "priority": row[5],
        "due_on": due if due is None or isinstance(due, str) else due.isoformat(),
        "created_at": row[7],
        "updated_at": row[8],
        "version": row[9],
    }


Answer = tuple[int, list[tuple[str, str]], bytes]


def _problem(status: int, slug: str, title: str, detail: str, headers: list[tuple[str, str]]) -> Answer:
    body = dumps(
        {
            "type": f"https://tasks-api.example/problems/{slug}",
            "title": title,
            "status": status,
            "detail": detail,
        }
    )
    return status, [("Content-Type", PROBLEM), ("Content-Length", str(len(body))), *headers], body


NO_TOKEN = _problem(
    401,
    "authentication-required",
    "Authentication required",
    "This request needs a bearer token.",
    [("WWW-Authenticate", 'Bearer realm="tasks"')],
)
BAD_TOKEN = _problem(
    401,
    "invalid-token",
    "Invalid token",
    "The token is unknown, expired or revoked.",
    [("WWW-Authenticate", 'Bearer realm="tasks", error="invalid_token"')],
)
NOT_FOUND = _problem(404, "not-found", "Not found", "No such resource.", [])
NO_ROUTE = _problem(404, "not-found", "Not found", "No such route.", [])
BAD_BODY = _problem(422, "validation-error", "Validation failed", "title: a string of 1 to 200.", [])
BAD_QUERY = _problem(400, "bad-request", "Bad request", "limit or cursor is not valid.", [])


def refused(owner: tuple | None) -> Answer:
    """401 for no token row, 404 for a project that is absent or not the caller's, else the body's 422."""
    return BAD_TOKEN if owner is None else NOT_FOUND if owner[1] is None else BAD_BODY


def ok(document: object, status: int = 200, headers: list[tuple[str, str]] | None = None) -> Answer:
    body = dumps(document)
    return status, [("Content-Type", JSON), ("Content-Length", str(len(body))), *(headers or [])], body


def read_answer(row: tuple | None, if_none_match: str | None) -> Answer:
    """The read's answer from the one row: 401, 404, 304 or 200."""
    if row is None:
        return BAD_TOKEN
    if row[1] is None:
        return NOT_FOUND
    etag = f'"{row[11]}"'
    if if_none_match is not None and etag in (v.strip() for v in if_none_match.split(",")):
        return 304, [("ETag", etag)], b""
    return ok(task(row[2:]), headers=[("ETag", etag)])


def page_query(query: str) -> tuple[int, int] | None:
    """(limit, after id) from the query string; None when invalid. The floor's cursor is simply the last
    id of the page in decimal (the ports' is an HMAC-signed token: a few µs more, see bench/README.md)."""
    limit, after = PAGE_DEFAULT, 0
    for name, value in parse_qsl(query):
        if name == "limit":
            if not value.isdigit() or not 1 <= int(value) <= PAGE_MAX:
                return None
            limit = int(value)
        elif name == "cursor":
            if not value.isdigit():
                return None
            after = int(value)
    return limit, after


def page_answer(path: str, limit: int, owner: tuple | None, rows: list[tuple]) -> Answer:
    """items + next_cursor, and a Link to the next page when there is one (limit + 1 rows were asked)."""
    if owner is None or owner[1] is None:
        return refused(owner)
    more = len(rows) > limit
    items = [task(row) for row in rows[:limit]]
    cursor = str(items[-1]["id"]) if more else None
    headers = [("Link", f'<{path}?limit={limit}&cursor={cursor}>; rel="next"')] if cursor else []
    return ok({"items": items, "next_cursor": cursor}, headers=headers)


def new_task(body: bytes) -> tuple[str, str, str, bool] | None:
    """(title, notes, priority, done) from a create body, or None when it is not valid."""
    try:
        document = json.loads(body)
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None
    title, notes = document.get("title"), document.get("notes", "")
    priority, done = document.get("priority", "normal"), document.get("done", False)
    valid = isinstance(title, str) and 1 <= len(title) <= 200 and isinstance(notes, str)
    if not valid or priority not in PRIORITIES or not isinstance(done, bool):
        return None
    return title, notes, priority, done


def created(row: tuple) -> tuple[Answer, str]:
    """201 with Location and ETag, and the event's data (the resource as GET returns it)."""
    document = task(row)
    event = dumps({"id": document["id"], "version": document["version"], "resource": document}).decode()
    headers = [("Location", f"/tasks/{document['id']}"), ("ETag", f'"{document["version"]}"')]
    return ok(document, 201, headers), event


HEALTHY: Answer = (200, [("Content-Type", JSON), ("Content-Length", str(len(HEALTH_BODY)))], HEALTH_BODY)


def plan(method: str, path: str, query: str, authorization: str | None, body: bytes) -> tuple:
    """What a request needs: ("answer", Answer) at once, or a database job with its arguments:
    ("read", task id, hash), ("page", project id, hash, limit, after), ("create", project id, hash,
    fields), ("refuse", project id, hash) for a body that is invalid once auth and ownership pass."""
    task_path = TASK_PATH.fullmatch(path) if method == "GET" else None
    project = None if task_path else PROJECT_TASKS_PATH.fullmatch(path)
    if task_path is None and project is None:
        return ("answer", HEALTHY if path == "/healthz" else NO_ROUTE)
    digest = token_hash(authorization)
    if not digest:
        return ("answer", NO_TOKEN if digest is None else BAD_TOKEN)
    if task_path is not None:
        return ("read", int(task_path.group(1)), digest)
    project_id = int(project.group(1))
    if method == "POST":
        fields = new_task(body)
        # Auth (401) and the project (404) come before the body's 422 in the spec's order of checks.
        return ("refuse", project_id, digest) if fields is None else ("create", project_id, digest, fields)
    parsed = page_query(query)
    return ("answer", BAD_QUERY) if parsed is None else ("page", project_id, digest, *parsed)
