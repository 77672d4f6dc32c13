"""Every error is application/problem+json with the fixed type, title and status (spec: Problem details)."""

from typing import Any

import httpx
import pytest
from conformance.api import MAX_ID, User, assert_problem, assert_validation
from conformance.rawhttp import large_request
from conformance.routes import assert_allow


# "/" is the live page (getHome) since the pages were added; "/static" alone and "/docs/" are not routes.
@pytest.mark.parametrize(
    "path", ["/nope", "/projects/1/nope", "/users/you", "/api/projects", "/static", "/static/", "/docs/"]
)
def test_unknown_path_is_not_found(client: httpx.Client, user: User, path: str) -> None:
    assert_problem(client.get(path, headers=user.auth), "not-found")


@pytest.mark.parametrize("path", ["/projects/", "/healthz/", "/users/me/", "/tasks/1/", "/projects/1/tasks/"])
def test_trailing_slash_is_not_found_not_a_redirect(client: httpx.Client, user: User, path: str) -> None:
    response = client.get(path, headers=user.auth)
    assert "location" not in response.headers
    assert_problem(response, "not-found")


def test_unknown_path_is_not_found_before_authentication(client: httpx.Client) -> None:
    assert_problem(client.get("/nope"), "not-found")


def test_method_not_allowed_is_a_problem_with_allow(client: httpx.Client) -> None:
    response = client.delete("/healthz")
    assert_problem(response, "method-not-allowed")
    assert_allow(response.headers.get("allow"), "/healthz")


def test_malformed_json_is_a_problem(client: httpx.Client, user: User) -> None:
    response = client.post(
        "/projects", content=b'{"name": ', headers={**user.auth, "Content-Type": "application/json"}
    )
    assert_problem(response, "malformed-json")


def test_payload_too_large_is_a_problem(base_url: str, user: User) -> None:
    body = b'{"name": "' + b"x" * (1024 * 1024) + b'"}'
    headers = {**user.auth, "Content-Type": "application/json"}
    assert_problem(large_request(base_url, "POST", "/projects", headers, body), "payload-too-large")


def test_unsupported_media_type_is_a_problem(client: httpx.Client, user: User) -> None:
    response = client.post(
        "/projects", content=b'{"name": "x"}', headers={**user.auth, "Content-Type": "text/plain"}
    )
    assert_problem(response, "unsupported-media-type")


def test_validation_error_is_a_problem_with_errors(client: httpx.Client, user: User) -> None:
    assert_validation(client.post("/projects", json={}, headers=user.auth), pointer=["/name"])


def test_authentication_errors_are_problems(client: httpx.Client) -> None:
    assert_problem(client.get("/projects"), "authentication-required")
    assert_problem(client.get("/projects", headers={"Authorization": "Bearer x"}), "invalid-token")


def test_conflict_is_a_problem(client: httpx.Client, user: User) -> None:
    response = client.post("/users", json={"email": user.email, "password": "another password", "name": "N"})
    assert_problem(response, "email-taken")


def test_precondition_failed_is_a_problem(client: httpx.Client, user: User, project: dict[str, Any]) -> None:
    response = client.patch(f"/projects/{project['id']}", json={}, headers={**user.auth, "If-Match": '"99"'})
    assert_problem(response, "precondition-failed")


# Inputs that commonly crash a naive implementation; each has an exact answer in the spec, and none is a 500.
def test_largest_id_is_a_plain_not_found(client: httpx.Client, user: User) -> None:
    assert_problem(client.get(f"/projects/{MAX_ID}", headers=user.auth), "not-found")
    assert_problem(client.get(f"/tasks/{MAX_ID}", headers=user.auth), "not-found")
    assert_problem(client.get(f"/projects/{MAX_ID}/tasks", headers=user.auth), "not-found")


def test_invalid_utf8_is_malformed_json(client: httpx.Client, user: User) -> None:
    body = b'{"name": "\xff\xfe"}'
    response = client.post(
        "/projects", content=body, headers={**user.auth, "Content-Type": "application/json"}
    )
    assert_problem(response, "malformed-json")


def test_id_beyond_the_id_range_is_a_validation_error(
    client: httpx.Client, user: User, task: dict[str, Any]
) -> None:
    # Too large for a 64-bit column: a driver overflow must surface as 422, not 500.
    body = b'{"project_id": 99999999999999999999999999}'
    headers = {**user.auth, "Content-Type": "application/json"}
    response = client.patch(f"/tasks/{task['id']}", content=body, headers=headers)
    assert_validation(response, pointer=["/project_id"])


def test_huge_number_in_a_string_member_is_a_validation_error(client: httpx.Client, user: User) -> None:
    body = b'{"name": "x", "description": 1e400}'
    response = client.post(
        "/projects", content=body, headers={**user.auth, "Content-Type": "application/json"}
    )
    assert_validation(response, pointer=["/description"])
