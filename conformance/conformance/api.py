"""Client-side helpers the behaviour tests share: users, resources and problem+json assertions."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from conformance import spec

PASSWORD = "correct horse battery staple"
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")
MAX_ID = 2**53 - 1


def __getattr__(name: str) -> Any:
    """PROBLEM_BASE and PROBLEMS ({slug: (status, title)}), read from the spec when first imported."""
    # Read lazily, so that --spec-dir (tests/conftest.py) is in force before the spec is read.
    if name == "PROBLEM_BASE":
        return spec.problem_base()
    if name == "PROBLEMS":
        return spec.problems()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass
class User:
    """A registered user and one bearer token of theirs."""

    id: int
    email: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        """The Authorization header for this user's token."""
        return {"Authorization": f"Bearer {self.token}"}


def affinity() -> dict[str, str]:
    """A fresh X-Upstream-Affinity header: behind the gateway, requests that carry the same value reach
    the same port (deploy/nginx/gateway.conf); a port alone ignores it. For checks that compare two
    responses of one origin server, such as HEAD against GET."""
    return {"X-Upstream-Affinity": uuid.uuid4().hex}


def unique_email(prefix: str = "user") -> str:
    """An address no other test (or earlier run against the same database) uses."""
    return f"{prefix}-{uuid.uuid4().hex}@example.com"


def register(client: httpx.Client, email: str | None = None, name: str = "Test User") -> dict[str, Any]:
    """POST /users and return the created user's body."""
    response = client.post(
        "/users", json={"email": email or unique_email(), "password": PASSWORD, "name": name}
    )
    assert response.status_code == 201, response.text
    return response.json()


def login(client: httpx.Client, email: str, password: str = PASSWORD) -> str:
    """POST /tokens and return the access token."""
    response = client.post("/tokens", json={"email": email, "password": password})
    assert response.status_code == 201, response.text
    return response.json()["access_token"]


def new_user(client: httpx.Client) -> User:
    """Register a fresh user and log them in."""
    body = register(client)
    return User(id=body["id"], email=body["email"], token=login(client, body["email"]))


def create_project(client: httpx.Client, user: User, name: str = "Project", **fields: Any) -> dict[str, Any]:
    """POST /projects and return the project."""
    response = client.post("/projects", json={"name": name, **fields}, headers=user.auth)
    assert response.status_code == 201, response.text
    return response.json()


def create_task(
    client: httpx.Client, user: User, project_id: int, title: str = "Task", **fields: Any
) -> dict[str, Any]:
    """POST /projects/{id}/tasks and return the task."""
    response = client.post(
        f"/projects/{project_id}/tasks", json={"title": title, **fields}, headers=user.auth
    )
    assert response.status_code == 201, response.text
    return response.json()


def assert_problem(response: httpx.Response, slug: str) -> dict[str, Any]:
    """Assert that the response is exactly the problem `slug` and return its body."""
    status, title = spec.problems()[slug]
    assert response.status_code == status, (
        f"expected {status} {slug}, got {response.status_code}: {response.text}"
    )
    assert response.headers.get("content-type") == "application/problem+json", response.headers
    body = response.json()
    assert body.get("type") == spec.problem_base() + slug, body
    assert body.get("title") == title, body
    assert body.get("status") == status, body
    assert isinstance(body.get("detail"), str), body
    # `errors` belongs to validation-error alone; other problems carry the four RFC 9457 members.
    if slug == "validation-error":
        assert isinstance(body.get("errors"), list) and body["errors"], body
        for item in body["errors"]:
            assert_error_item(item)
    else:
        assert "errors" not in body, body
    return body


def assert_error_item(item: dict[str, Any]) -> None:
    """An errors[] item has a detail and exactly one of pointer, parameter or header."""
    assert isinstance(item, dict), item
    assert isinstance(item.get("detail"), str), item
    locators = [key for key in ("pointer", "parameter", "header") if key in item]
    assert len(locators) == 1, item
    assert isinstance(item[locators[0]], str), item


def assert_validation(response: httpx.Response, **expected: list[str]) -> dict[str, Any]:
    """Assert a 422 validation-error whose errors[] point exactly at the expected places.

    Keyword arguments name the locator kind (pointer, parameter, header) and list the values that
    must appear; the errors[] may not point anywhere else.
    """
    body = assert_problem(response, "validation-error")
    found = {kind: sorted({item[kind] for item in body["errors"] if kind in item}) for kind in expected}
    wanted = {kind: sorted(set(values)) for kind, values in expected.items()}
    assert found == wanted, body
    others = [item for item in body["errors"] if not any(kind in item for kind in expected)]
    assert not others, body
    return body


def assert_retry_after(response: httpx.Response, most: int) -> int:
    """Assert one Retry-After of whole seconds (RFC 9110 10.2.3) from 1 to `most`, and return it."""
    values = response.headers.get_list("retry-after")
    assert len(values) == 1, f"expected one Retry-After, got {values!r}: {response.headers}"
    assert re.fullmatch(r"[0-9]+", values[0]), f"Retry-After is not whole seconds: {values[0]!r}"
    seconds = int(values[0])
    assert 1 <= seconds <= most, f"Retry-After {seconds} is not from 1 to {most}"
    return seconds


def assert_json(response: httpx.Response, status: int) -> Any:
    """Assert a successful JSON response with the exact media type and return its body."""
    assert response.status_code == status, f"expected {status}, got {response.status_code}: {response.text}"
    assert response.headers.get("content-type") == "application/json", response.headers
    return response.json()


def list_all_projects(client: httpx.Client, user: User) -> list[dict[str, Any]]:
    """Every project of `user`, walking all pages."""
    items: list[dict[str, Any]] = []
    params: dict[str, str] = {"limit": "100"}
    while True:
        body = assert_json(client.get("/projects", params=params, headers=user.auth), 200)
        items.extend(body["items"])
        if body["next_cursor"] is None:
            return items
        params["cursor"] = body["next_cursor"]


def list_all_tasks(client: httpx.Client, user: User, project_id: int) -> list[dict[str, Any]]:
    """Every task of one project, walking all pages."""
    items: list[dict[str, Any]] = []
    params: dict[str, str] = {"limit": "100"}
    while True:
        response = client.get(f"/projects/{project_id}/tasks", params=params, headers=user.auth)
        body = assert_json(response, 200)
        items.extend(body["items"])
        if body["next_cursor"] is None:
            return items
        params["cursor"] = body["next_cursor"]
