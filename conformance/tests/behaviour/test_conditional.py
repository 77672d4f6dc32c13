"""Strong ETags from the version column, If-None-Match and If-Match (spec: Conditional requests)."""

from typing import Any

import httpx
import pytest
from conformance.api import MAX_ID, TIMESTAMP, User, assert_json, assert_problem

FULL_TASK = {"title": "t2", "notes": "n", "done": True, "priority": "high", "due_on": "2026-11-28"}


def _etag(response: httpx.Response) -> str:
    return response.headers["etag"]


def test_create_carries_etag_and_location(client: httpx.Client, user: User) -> None:
    response = client.post("/projects", json={"name": "p"}, headers=user.auth)
    project = assert_json(response, 201)
    assert project["version"] == 1 and _etag(response) == '"1"'
    assert response.headers["location"] == f"/projects/{project['id']}"
    response = client.post(f"/projects/{project['id']}/tasks", json={"title": "t"}, headers=user.auth)
    task = assert_json(response, 201)
    assert task["version"] == 1 and _etag(response) == '"1"'
    assert response.headers["location"] == f"/tasks/{task['id']}"


def test_every_single_resource_response_carries_the_etag(
    client: httpx.Client, user: User, project: dict[str, Any], task: dict[str, Any]
) -> None:
    for path in (f"/projects/{project['id']}", f"/tasks/{task['id']}"):
        assert _etag(client.get(path, headers=user.auth)) == '"1"'
        assert _etag(client.head(path, headers=user.auth)) == '"1"'
    assert _etag(client.patch(f"/projects/{project['id']}", json={}, headers=user.auth)) == '"2"'
    assert _etag(client.patch(f"/tasks/{task['id']}", json={}, headers=user.auth)) == '"2"'
    put = client.put(
        f"/tasks/{task['id']}", json={**FULL_TASK, "project_id": project["id"]}, headers=user.auth
    )
    assert _etag(put) == '"3"' and put.json()["version"] == 3


def test_version_goes_up_by_one_per_write(client: httpx.Client, user: User, project: dict[str, Any]) -> None:
    path = f"/projects/{project['id']}"
    bodies: list[dict[str, Any]] = [
        {},
        {"name": project["name"]},
        {"description": "d"},
        {"name": "n", "description": ""},
    ]
    for expected, body in enumerate(bodies, start=2):
        updated = assert_json(client.patch(path, json=body, headers=user.auth), 200)
        assert updated["version"] == expected
        assert updated["created_at"] == project["created_at"]
        assert TIMESTAMP.match(updated["updated_at"]) and updated["updated_at"] >= project["updated_at"]
    assert client.get(path, headers=user.auth).json()["version"] == len(bodies) + 1


def test_failed_write_does_not_bump_the_version(
    client: httpx.Client, user: User, task: dict[str, Any]
) -> None:
    path = f"/tasks/{task['id']}"
    assert client.patch(path, json={"title": ""}, headers=user.auth).status_code == 422
    assert client.patch(path, json={}, headers={**user.auth, "If-Match": '"7"'}).status_code == 412
    assert client.get(path, headers=user.auth).json() == task


@pytest.mark.parametrize("header", ['"1"', 'W/"1"', "*", '"9", "1"', '"9",W/"1"'])
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_if_none_match_hit_is_304(
    client: httpx.Client, user: User, project: dict[str, Any], header: str, method: str
) -> None:
    response = client.request(
        method, f"/projects/{project['id']}", headers={**user.auth, "If-None-Match": header}
    )
    assert response.status_code == 304
    assert _etag(response) == '"1"'
    assert response.content == b""


@pytest.mark.parametrize("header", ['"2"', 'W/"2"', '"9", "10"', '"11"'])
def test_if_none_match_miss_is_200(
    client: httpx.Client, user: User, task: dict[str, Any], header: str
) -> None:
    response = client.get(f"/tasks/{task['id']}", headers={**user.auth, "If-None-Match": header})
    assert assert_json(response, 200) == task
    assert _etag(response) == '"1"'


def test_if_none_match_follows_the_version(client: httpx.Client, user: User, task: dict[str, Any]) -> None:
    path = f"/tasks/{task['id']}"
    client.patch(path, json={"notes": "x"}, headers=user.auth)
    assert client.get(path, headers={**user.auth, "If-None-Match": '"1"'}).status_code == 200
    assert client.get(path, headers={**user.auth, "If-None-Match": '"2"'}).status_code == 304


@pytest.mark.parametrize("header", ['"1"', "*", '"5", "1"', '"5","1"'])
def test_if_match_hit_writes(client: httpx.Client, user: User, task: dict[str, Any], header: str) -> None:
    response = client.patch(
        f"/tasks/{task['id']}", json={"done": True}, headers={**user.auth, "If-Match": header}
    )
    assert assert_json(response, 200)["done"] is True
    assert _etag(response) == '"2"'


@pytest.mark.parametrize("header", ['"2"', 'W/"1"', '"0"', '"5", "6"', "1", '""'])
@pytest.mark.parametrize("method", ["PATCH", "PUT", "DELETE"])
def test_if_match_miss_is_412_and_changes_nothing(
    client: httpx.Client, user: User, task: dict[str, Any], header: str, method: str
) -> None:
    path = f"/tasks/{task['id']}"
    body = {
        "PATCH": {"title": "changed"},
        "PUT": {**FULL_TASK, "project_id": task["project_id"]},
        "DELETE": None,
    }
    response = client.request(method, path, json=body[method], headers={**user.auth, "If-Match": header})
    assert_problem(response, "precondition-failed")
    assert client.get(path, headers=user.auth).json() == task


@pytest.mark.parametrize("header", ['"2"', 'W/"1"'])
def test_if_match_on_projects(client: httpx.Client, user: User, project: dict[str, Any], header: str) -> None:
    path = f"/projects/{project['id']}"
    response = client.patch(path, json={"name": "x"}, headers={**user.auth, "If-Match": header})
    assert_problem(response, "precondition-failed")
    assert_problem(client.delete(path, headers={**user.auth, "If-Match": header}), "precondition-failed")
    assert client.get(path, headers=user.auth).json() == project
    assert client.delete(path, headers={**user.auth, "If-Match": '"1"'}).status_code == 204
    assert_problem(client.get(path, headers=user.auth), "not-found")


def test_if_match_after_a_write(client: httpx.Client, user: User, project: dict[str, Any]) -> None:
    path = f"/projects/{project['id']}"
    etag = _etag(client.patch(path, json={"name": "a"}, headers={**user.auth, "If-Match": '"1"'}))
    assert_problem(
        client.patch(path, json={"name": "b"}, headers={**user.auth, "If-Match": '"1"'}),
        "precondition-failed",
    )
    assert (
        client.patch(path, json={"name": "b"}, headers={**user.auth, "If-Match": etag}).json()["version"] == 3
    )


@pytest.mark.parametrize("header", ['"1"', "*"])
def test_missing_resource_is_404_whatever_if_match(client: httpx.Client, user: User, header: str) -> None:
    headers = {**user.auth, "If-Match": header}
    assert_problem(client.patch(f"/projects/{MAX_ID}", json={}, headers=headers), "not-found")
    assert_problem(client.patch(f"/tasks/{MAX_ID}", json={}, headers=headers), "not-found")
    assert_problem(client.delete(f"/tasks/{MAX_ID}", headers=headers), "not-found")


def test_deleted_resource_is_404_with_if_match_star(
    client: httpx.Client, user: User, task: dict[str, Any]
) -> None:
    path = f"/tasks/{task['id']}"
    assert client.delete(path, headers=user.auth).status_code == 204
    assert_problem(client.delete(path, headers={**user.auth, "If-Match": "*"}), "not-found")
    assert_problem(client.patch(path, json={}, headers={**user.auth, "If-Match": "*"}), "not-found")


def test_if_none_match_on_missing_resource_is_404(client: httpx.Client, user: User) -> None:
    assert_problem(client.get(f"/tasks/{MAX_ID}", headers={**user.auth, "If-None-Match": "*"}), "not-found")
