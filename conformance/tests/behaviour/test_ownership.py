"""Another user's project or task is indistinguishable from a missing one: 404 (spec: Authentication)."""

from typing import Any

import httpx
import pytest
from conformance.api import User, assert_json, assert_problem, assert_validation, create_project, create_task

FULL_TASK = {"title": "t", "notes": "", "done": False, "priority": "normal", "due_on": None}


@pytest.fixture
def foreign_task(client: httpx.Client, other_user: User) -> dict[str, Any]:
    """A task (in a project) belonging to `other_user`."""
    project = create_project(client, other_user, "theirs")
    return create_task(client, other_user, project["id"], "their task")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/projects/{p}", None),
        ("PATCH", "/projects/{p}", {"name": "mine now"}),
        ("DELETE", "/projects/{p}", None),
        ("GET", "/projects/{p}/tasks", None),
        ("POST", "/projects/{p}/tasks", {"title": "intruder"}),
        ("GET", "/tasks/{t}", None),
        ("PUT", "/tasks/{t}", {**FULL_TASK, "project_id": 0}),
        ("PATCH", "/tasks/{t}", {"title": "mine now"}),
        ("DELETE", "/tasks/{t}", None),
    ],
)
def test_foreign_resource_is_not_found(
    client: httpx.Client,
    user: User,
    other_user: User,
    foreign_task: dict[str, Any],
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    own = create_project(client, user, "mine")
    target = path.format(p=foreign_task["project_id"], t=foreign_task["id"])
    if body is not None and "project_id" in body:
        body = {**body, "project_id": own["id"]}
    response = client.request(method, target, json=body, headers=user.auth)
    assert_problem(response, "not-found")
    # Nothing changed for the owner.
    task = assert_json(client.get(f"/tasks/{foreign_task['id']}", headers=other_user.auth), 200)
    assert task == foreign_task
    project = assert_json(client.get(f"/projects/{foreign_task['project_id']}", headers=other_user.auth), 200)
    assert project["version"] == 1 and project["name"] == "theirs"
    assert [
        t["id"]
        for t in client.get(f"/projects/{project['id']}/tasks", headers=other_user.auth).json()["items"]
    ] == [foreign_task["id"]]


@pytest.mark.parametrize("if_match", ['"1"', "*"])
def test_foreign_resource_is_not_found_whatever_if_match(
    client: httpx.Client, user: User, foreign_task: dict[str, Any], if_match: str
) -> None:
    headers = {**user.auth, "If-Match": if_match}
    assert_problem(client.patch(f"/tasks/{foreign_task['id']}", json={}, headers=headers), "not-found")
    assert_problem(client.delete(f"/projects/{foreign_task['project_id']}", headers=headers), "not-found")


def test_foreign_resource_and_missing_one_look_the_same(
    client: httpx.Client, user: User, foreign_task: dict[str, Any]
) -> None:
    foreign = client.get(f"/tasks/{foreign_task['id']}", headers=user.auth)
    missing = client.get(f"/tasks/{2**53 - 1}", headers=user.auth)
    assert foreign.status_code == missing.status_code == 404
    assert {k: v for k, v in foreign.json().items() if k != "detail"} == {
        k: v for k, v in missing.json().items() if k != "detail"
    }


def test_lists_hold_only_own_projects(client: httpx.Client, user: User, foreign_task: dict[str, Any]) -> None:
    own = create_project(client, user)
    items = assert_json(client.get("/projects", headers=user.auth), 200)["items"]
    assert [item["id"] for item in items] == [own["id"]]


@pytest.mark.parametrize("method", ["PATCH", "PUT"])
def test_moving_a_task_into_a_foreign_project_is_422(
    client: httpx.Client, user: User, task: dict[str, Any], foreign_task: dict[str, Any], method: str
) -> None:
    body: dict[str, Any] = {"project_id": foreign_task["project_id"]}
    if method == "PUT":
        body = {**FULL_TASK, **body}
    response = client.request(method, f"/tasks/{task['id']}", json=body, headers=user.auth)
    assert_validation(response, pointer=["/project_id"])
    assert client.get(f"/tasks/{task['id']}", headers=user.auth).json() == task


def test_moving_a_task_into_a_missing_project_is_422(
    client: httpx.Client, user: User, task: dict[str, Any]
) -> None:
    response = client.patch(f"/tasks/{task['id']}", json={"project_id": 2**53 - 1}, headers=user.auth)
    assert_validation(response, pointer=["/project_id"])


def test_moving_a_task_into_an_own_project(client: httpx.Client, user: User, task: dict[str, Any]) -> None:
    target = create_project(client, user, "target")
    moved = assert_json(
        client.patch(f"/tasks/{task['id']}", json={"project_id": target["id"]}, headers=user.auth), 200
    )
    assert moved["project_id"] == target["id"] and moved["version"] == 2
    assert [
        t["id"] for t in client.get(f"/projects/{target['id']}/tasks", headers=user.auth).json()["items"]
    ] == [task["id"]]
    assert client.get(f"/projects/{task['project_id']}/tasks", headers=user.auth).json()["items"] == []
