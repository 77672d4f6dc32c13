"""Idempotency-Key on creates: claim, byte-exact replay, reuse, in-flight (spec: Idempotent retries)."""

import uuid
from typing import Any

import httpx
import pytest
from conformance.api import (
    User,
    assert_json,
    assert_problem,
    assert_retry_after,
    assert_validation,
    list_all_projects,
    list_all_tasks,
)
from conformance.race import race

JSON = {"Content-Type": "application/json"}

# IDEMPOTENCY_LEASE_SECONDS' default: a 409 in flight says to come back by the end of the claim's lease.
LEASE_SECONDS = 60


def _key() -> str:
    return f"key-{uuid.uuid4()}"


def _post(client: httpx.Client, user: User, path: str, body: bytes, key: str) -> httpx.Response:
    return client.post(path, content=body, headers={**user.auth, **JSON, "Idempotency-Key": key})


def test_replay_is_byte_identical(client: httpx.Client, user: User) -> None:
    key, body = _key(), b'{"name": "once"}'
    first = _post(client, user, "/projects", body, key)
    assert_json(first, 201)
    assert "idempotent-replayed" not in first.headers
    second = _post(client, user, "/projects", body, key)
    assert second.status_code == 201
    assert second.headers.get("idempotent-replayed") == "true"
    assert second.content == first.content
    assert second.headers["content-type"] == "application/json"
    assert second.headers["location"] == first.headers["location"]
    assert second.headers["etag"] == first.headers["etag"]
    assert [p["name"] for p in list_all_projects(client, user)] == ["once"]


def test_replay_returns_the_stored_response_not_the_current_state(client: httpx.Client, user: User) -> None:
    key, body = _key(), b'{"name": "v1"}'
    first = _post(client, user, "/projects", body, key)
    project_id = first.json()["id"]
    assert client.patch(f"/projects/{project_id}", json={"name": "v2"}, headers=user.auth).status_code == 200
    replay = _post(client, user, "/projects", body, key)
    assert replay.content == first.content
    assert replay.headers["etag"] == '"1"'


def test_task_create_replay(client: httpx.Client, user: User, project: dict[str, Any]) -> None:
    key, body, path = _key(), b'{"title": "once", "priority": "high"}', f"/projects/{project['id']}/tasks"
    first = _post(client, user, path, body, key)
    assert_json(first, 201)
    replay = _post(client, user, path, body, key)
    assert replay.status_code == 201 and replay.headers.get("idempotent-replayed") == "true"
    assert replay.content == first.content and replay.headers["location"] == first.headers["location"]
    assert len(list_all_tasks(client, user, project["id"])) == 1


@pytest.mark.parametrize(
    "second_body",
    [b'{"name": "other"}', b'{"name":"once"}', b'{"name": "once"} ', b'{"name": "once", "description": ""}'],
)
def test_same_key_other_body_is_reused(client: httpx.Client, user: User, second_body: bytes) -> None:
    # The fingerprint hashes the raw bytes: even a whitespace change is another request.
    key = _key()
    assert _post(client, user, "/projects", b'{"name": "once"}', key).status_code == 201
    assert_problem(_post(client, user, "/projects", second_body, key), "idempotency-key-reused")
    assert len(list_all_projects(client, user)) == 1


def test_same_key_other_path_is_reused(client: httpx.Client, user: User) -> None:
    key = _key()
    first = _post(client, user, "/projects", b'{"name": "p"}', key)
    project_id = first.json()["id"]
    response = _post(client, user, f"/projects/{project_id}/tasks", b'{"name": "p"}', key)
    # The task body is invalid too: validation answers before idempotency (order of checks).
    assert_validation(response, pointer=["/name", "/title"])
    response = _post(client, user, f"/projects/{project_id}/tasks", b'{"title": "p"}', key)
    assert_problem(response, "idempotency-key-reused")
    assert list_all_tasks(client, user, project_id) == []


def test_keys_are_scoped_per_user(client: httpx.Client, user: User, other_user: User) -> None:
    key, body = _key(), b'{"name": "shared key"}'
    mine = _post(client, user, "/projects", body, key)
    theirs = _post(client, other_user, "/projects", body, key)
    assert mine.status_code == theirs.status_code == 201
    assert "idempotent-replayed" not in theirs.headers
    assert mine.json()["id"] != theirs.json()["id"]
    assert len(list_all_projects(client, other_user)) == 1


def test_failed_validation_does_not_claim_the_key(client: httpx.Client, user: User) -> None:
    key = _key()
    assert_validation(_post(client, user, "/projects", b'{"name": ""}', key), pointer=["/name"])
    created = _post(client, user, "/projects", b'{"name": "p"}', key)
    assert created.status_code == 201 and "idempotent-replayed" not in created.headers


def test_missing_project_does_not_claim_the_key(
    client: httpx.Client, user: User, project: dict[str, Any]
) -> None:
    key = _key()
    assert_problem(_post(client, user, f"/projects/{2**53 - 1}/tasks", b'{"title": "t"}', key), "not-found")
    created = _post(client, user, f"/projects/{project['id']}/tasks", b'{"title": "t"}', key)
    assert created.status_code == 201 and "idempotent-replayed" not in created.headers


@pytest.mark.parametrize("key", ["", "a b", "a" * 256, "tab\there", "caf\u00e9"])
def test_invalid_key_is_422_pointing_at_the_header(client: httpx.Client, user: User, key: str) -> None:
    headers = {**user.auth, **JSON, "Idempotency-Key": key.encode("utf-8")}
    response = client.post("/projects", content=b'{"name": "p"}', headers=headers)
    assert_validation(response, header=["Idempotency-Key"])
    assert list_all_projects(client, user) == []


@pytest.mark.parametrize("key", ["a" * 255, "!", "~" * 10, '{"json":[1]}'])
def test_valid_key_bounds(client: httpx.Client, user: User, key: str) -> None:
    first = _post(client, user, "/projects", b'{"name": "p"}', key)
    assert first.status_code == 201
    assert (
        _post(client, user, "/projects", b'{"name": "p"}', key).headers.get("idempotent-replayed") == "true"
    )


def test_key_is_ignored_elsewhere(client: httpx.Client, user: User, project: dict[str, Any]) -> None:
    # An invalid key on an operation that does not take one changes nothing.
    headers = {**user.auth, "Idempotency-Key": "not valid here"}
    response = client.patch(f"/projects/{project['id']}", json={"name": "x"}, headers=headers)
    assert assert_json(response, 200)["version"] == 2
    assert "idempotent-replayed" not in response.headers


def _duplicates_round(client: httpx.Client, user: User, base_url: str, name: str) -> None:
    key, body = _key(), f'{{"name": "{name}"}}'.encode()
    responses = race(base_url, [lambda http: _post(http, user, "/projects", body, key)] * 5)
    firsts = [r for r in responses if r.status_code == 201 and "idempotent-replayed" not in r.headers]
    assert len(firsts) == 1, [(r.status_code, r.text) for r in responses]
    for response in responses:
        if response is firsts[0]:
            continue
        if response.status_code == 409:
            assert_problem(response, "idempotency-in-flight")
            assert_retry_after(response, LEASE_SECONDS)
        else:
            assert response.status_code == 201, response.text
            assert response.headers.get("idempotent-replayed") == "true"
            assert response.content == firsts[0].content
    assert [p["name"] for p in list_all_projects(client, user)].count(name) == 1


def test_concurrent_duplicates(client: httpx.Client, user: User, base_url: str) -> None:
    for round_ in range(3):
        _duplicates_round(client, user, base_url, f"race {round_}")
