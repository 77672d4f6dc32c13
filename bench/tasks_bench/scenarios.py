"""The requests a run repeats: the ports' five scenarios (after seeding over the API), hello, the waits."""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass, field

from tasks_bench.servers import HOST, Variant

SEED_TASKS = 50  # the read project holds more than one page of 20, so a page carries a cursor and Link
PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class Scenario:
    """One request, repeated by wrk, and the statuses that count as success for it."""

    name: str
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    ok: frozenset[int] = frozenset({200})


PORT_SCENARIOS = ["healthz", "get_task", "get_task_304", "list_page", "create_task"]
HELLO = Scenario("hello", "GET", "/")
WAITS = {
    "wait:sync": [Scenario("wait", "GET", "/")],
    "wait:gthread": [Scenario("wait", "GET", "/")],
    "wait:uvicorn": [Scenario("async", "GET", "/async"), Scenario("blocking", "GET", "/blocking")],
}


class SeedError(Exception):
    """The port did not accept the seed data: its benchmark cannot run."""


def _call(
    conn: http.client.HTTPConnection,
    method: str,
    path: str,
    body: dict | None = None,
    headers: dict[str, str] | None = None,
    expect: int = 201,
) -> tuple[dict, http.client.HTTPResponse]:
    sent = {**(headers or {}), **({"Content-Type": "application/json"} if body is not None else {})}
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=sent)
    response = conn.getresponse()
    payload = response.read()
    if response.status != expect:
        raise SeedError(f"{method} {path}: {response.status} {payload[:300]!r}")
    return (json.loads(payload) if payload else {}), response


def seed(variant: Variant) -> list[Scenario]:
    """Create a user, a token, a read project with tasks and a write project; return the scenarios."""
    conn = http.client.HTTPConnection(HOST, variant.port, timeout=30)
    try:
        email = f"bench-{variant.port}@example.com"
        _call(conn, "POST", "/users", {"email": email, "password": PASSWORD, "name": "Bench"})
        token, _ = _call(conn, "POST", "/tokens", {"email": email, "password": PASSWORD})
        auth = {"Authorization": f"Bearer {token['access_token']}"}
        read, _ = _call(conn, "POST", "/projects", {"name": "read"}, auth)
        tasks = [
            _call(conn, "POST", f"/projects/{read['id']}/tasks", {"title": f"task {i}"}, auth)[0]
            for i in range(SEED_TASKS)
        ]
        # The write project is a different one: the rows the write scenario adds never reach the page read.
        write, _ = _call(conn, "POST", "/projects", {"name": "write"}, auth)
        task_id = tasks[SEED_TASKS // 2]["id"]
        _, response = _call(conn, "GET", f"/tasks/{task_id}", headers=auth, expect=200)
        etag = response.getheader("ETag")
        if not etag:
            raise SeedError(f"GET /tasks/{task_id} has no ETag")
    finally:
        conn.close()
    json_body = {**auth, "Content-Type": "application/json"}
    return [
        Scenario("healthz", "GET", "/healthz"),
        Scenario("get_task", "GET", f"/tasks/{task_id}", auth),
        # A 304 is the success of a conditional GET: counted as success here, and only here.
        Scenario(
            "get_task_304", "GET", f"/tasks/{task_id}", {**auth, "If-None-Match": etag}, ok=frozenset({304})
        ),
        Scenario("list_page", "GET", f"/projects/{read['id']}/tasks?limit=20", auth),
        # No Idempotency-Key: every request is a new task, one transaction each.
        Scenario(
            "create_task",
            "POST",
            f"/projects/{write['id']}/tasks",
            json_body,
            json.dumps({"title": "bench", "priority": "high"}),
            ok=frozenset({201}),
        ),
    ]
