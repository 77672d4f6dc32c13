"""When a request breaks several rules, the first in the spec's list answers (spec: Order of checks)."""

from typing import Any

import httpx
from conformance.api import MAX_ID, PASSWORD, User, assert_problem, assert_validation
from conformance.rawhttp import large_request

JSON = {"Content-Type": "application/json"}
TOO_LARGE = b"{" * (1024 * 1024 + 1)


def test_routing_before_authentication(client: httpx.Client) -> None:
    assert_problem(client.get("/projects/"), "not-found")
    assert_problem(
        client.put("/projects", content=b"{", headers={"Content-Type": "text/plain"}), "method-not-allowed"
    )


def test_authentication_before_the_body(client: httpx.Client, base_url: str) -> None:
    assert_problem(large_request(base_url, "POST", "/projects", JSON, TOO_LARGE), "authentication-required")
    assert_problem(
        client.post("/projects", content=b"{", headers={"Content-Type": "text/plain"}),
        "authentication-required",
    )
    bad = {"Authorization": "Bearer nope", **JSON}
    assert_problem(client.post("/projects", content=b"{", headers=bad), "invalid-token")


def test_too_large_before_media_type(base_url: str, user: User) -> None:
    headers = {**user.auth, "Content-Type": "text/plain"}
    response = large_request(base_url, "POST", "/projects", headers, TOO_LARGE)
    assert_problem(response, "payload-too-large")


def test_media_type_before_malformed_json(client: httpx.Client, user: User) -> None:
    response = client.post("/projects", content=b"{", headers={**user.auth, "Content-Type": "text/plain"})
    assert_problem(response, "unsupported-media-type")


def test_malformed_json_before_validation(client: httpx.Client, user: User) -> None:
    headers = {**user.auth, **JSON, "Idempotency-Key": "bad key"}
    assert_problem(client.post("/projects", content=b"{", headers=headers), "malformed-json")


def test_validation_collects_header_and_body_problems(client: httpx.Client, user: User) -> None:
    headers = {**user.auth, **JSON, "Idempotency-Key": "bad key"}
    response = client.post("/projects", content=b'{"name": ""}', headers=headers)
    assert_validation(response, header=["Idempotency-Key"], pointer=["/name"])


def test_validation_before_missing_resource(client: httpx.Client, user: User) -> None:
    assert_validation(
        client.patch(f"/projects/{MAX_ID}", json={"name": 5}, headers=user.auth), pointer=["/name"]
    )
    assert_validation(
        client.post(f"/projects/{MAX_ID}/tasks", json={}, headers=user.auth), pointer=["/title"]
    )
    assert_validation(client.get(f"/projects/{MAX_ID}/tasks?limit=0", headers=user.auth), parameter=["limit"])


def test_validation_before_foreign_resource(client: httpx.Client, user: User, other_user: User) -> None:
    theirs = client.post("/projects", json={"name": "theirs"}, headers=other_user.auth).json()
    response = client.patch(f"/projects/{theirs['id']}", json={"colour": "red"}, headers=user.auth)
    assert_validation(response, pointer=["/colour"])


def test_validation_before_cursor(client: httpx.Client, user: User, project: dict[str, Any]) -> None:
    response = client.get(f"/projects/{project['id']}/tasks?limit=0&cursor=forged", headers=user.auth)
    assert_validation(response, parameter=["limit"])


def test_cursor_before_missing_or_foreign_project(client: httpx.Client, user: User, other_user: User) -> None:
    theirs = client.post("/projects", json={"name": "theirs"}, headers=other_user.auth).json()
    for project_id in (theirs["id"], MAX_ID):
        response = client.get(f"/projects/{project_id}/tasks?cursor=forged", headers=user.auth)
        assert_problem(response, "invalid-cursor")


def test_validation_before_precondition(client: httpx.Client, user: User, project: dict[str, Any]) -> None:
    headers = {**user.auth, "If-Match": '"42"'}
    assert_validation(
        client.patch(f"/projects/{project['id']}", json={"name": ""}, headers=headers), pointer=["/name"]
    )


def test_missing_resource_before_precondition(client: httpx.Client, user: User) -> None:
    headers = {**user.auth, "If-Match": '"42"'}
    assert_problem(client.patch(f"/tasks/{MAX_ID}", json={}, headers=headers), "not-found")


def test_precondition_before_business_rules(
    client: httpx.Client, user: User, other_user: User, task: dict[str, Any]
) -> None:
    theirs = client.post("/projects", json={"name": "theirs"}, headers=other_user.auth).json()
    headers = {**user.auth, "If-Match": '"42"'}
    response = client.patch(f"/tasks/{task['id']}", json={"project_id": theirs["id"]}, headers=headers)
    assert_problem(response, "precondition-failed")


def test_validation_before_email_taken(client: httpx.Client, user: User) -> None:
    response = client.post(
        "/users", json={"email": user.email, "password": PASSWORD, "name": "N", "admin": True}
    )
    assert_validation(response, pointer=["/admin"])


def test_validation_before_idempotency_key_reuse(client: httpx.Client, user: User) -> None:
    headers = {**user.auth, **JSON, "Idempotency-Key": "order-key"}
    assert client.post("/projects", content=b'{"name": "a"}', headers=headers).status_code == 201
    assert_validation(client.post("/projects", content=b'{"name": 1}', headers=headers), pointer=["/name"])
