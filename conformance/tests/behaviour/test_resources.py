"""Shapes, defaults, PUT/PATCH semantics and cascades of projects and tasks (spec: Resources)."""

import json
from pathlib import Path
from typing import Any

import httpx
import yaml
from conformance.api import MAX_ID, TIMESTAMP, User, assert_json, assert_problem, create_task

PROJECT_KEYS = {"id", "name", "description", "created_at", "updated_at", "version"}
TASK_KEYS = {
    "id",
    "project_id",
    "title",
    "notes",
    "done",
    "priority",
    "due_on",
    "created_at",
    "updated_at",
    "version",
}


def test_project_defaults_and_shape(client: httpx.Client, user: User) -> None:
    project = assert_json(client.post("/projects", json={"name": "p"}, headers=user.auth), 201)
    assert set(project) == PROJECT_KEYS
    assert (project["name"], project["description"], project["version"]) == ("p", "", 1)
    assert TIMESTAMP.match(project["created_at"]) and project["updated_at"] == project["created_at"]
    assert 1 <= project["id"] <= MAX_ID
    assert assert_json(client.get(f"/projects/{project['id']}", headers=user.auth), 200) == project


def test_task_defaults_and_shape(client: httpx.Client, user: User, project: dict[str, Any]) -> None:
    response = client.post(f"/projects/{project['id']}/tasks", json={"title": "t"}, headers=user.auth)
    task = assert_json(response, 201)
    assert set(task) == TASK_KEYS
    expected = {
        "project_id": project["id"],
        "title": "t",
        "notes": "",
        "done": False,
        "priority": "normal",
        "due_on": None,
        "version": 1,
    }
    assert {key: task[key] for key in expected} == expected
    assert TIMESTAMP.match(task["created_at"]) and task["updated_at"] == task["created_at"]
    assert assert_json(client.get(f"/tasks/{task['id']}", headers=user.auth), 200) == task


def test_task_create_takes_every_member(client: httpx.Client, user: User, project: dict[str, Any]) -> None:
    body = {"title": "t", "notes": "n", "done": True, "priority": "high", "due_on": "2030-01-31"}
    task = assert_json(client.post(f"/projects/{project['id']}/tasks", json=body, headers=user.auth), 201)
    assert {key: task[key] for key in body} == body


def test_project_id_is_not_a_create_member(client: httpx.Client, user: User, project: dict[str, Any]) -> None:
    # The project comes from the path.
    response = client.post(
        f"/projects/{project['id']}/tasks",
        json={"title": "t", "project_id": project["id"]},
        headers=user.auth,
    )
    assert response.status_code == 422


def test_put_replaces_every_writable_member(
    client: httpx.Client, user: User, project: dict[str, Any]
) -> None:
    task = create_task(
        client, user, project["id"], notes="old", done=True, priority="low", due_on="2020-01-01"
    )
    body = {
        "project_id": project["id"],
        "title": "new",
        "notes": "",
        "done": False,
        "priority": "normal",
        "due_on": None,
    }
    replaced = assert_json(client.put(f"/tasks/{task['id']}", json=body, headers=user.auth), 200)
    assert {key: replaced[key] for key in body} == body
    assert replaced["version"] == 2 and replaced["created_at"] == task["created_at"]


def test_patch_changes_only_named_members(client: httpx.Client, user: User, project: dict[str, Any]) -> None:
    task = create_task(client, user, project["id"], notes="keep", priority="high", due_on="2031-05-06")
    patched = assert_json(client.patch(f"/tasks/{task['id']}", json={"done": True}, headers=user.auth), 200)
    assert patched == {**task, "done": True, "version": 2, "updated_at": patched["updated_at"]}


def test_project_patch(client: httpx.Client, user: User, project: dict[str, Any]) -> None:
    patched = assert_json(
        client.patch(f"/projects/{project['id']}", json={"description": "d"}, headers=user.auth), 200
    )
    assert (patched["name"], patched["description"], patched["version"]) == (project["name"], "d", 2)


def test_delete_answers_204_without_body(client: httpx.Client, user: User, project: dict[str, Any]) -> None:
    task = create_task(client, user, project["id"])
    response = client.delete(f"/tasks/{task['id']}", headers=user.auth)
    assert response.status_code == 204 and response.content == b""
    assert_problem(client.get(f"/tasks/{task['id']}", headers=user.auth), "not-found")
    assert_problem(client.delete(f"/tasks/{task['id']}", headers=user.auth), "not-found")


def test_deleting_a_project_deletes_its_tasks(
    client: httpx.Client, user: User, project: dict[str, Any]
) -> None:
    tasks = [create_task(client, user, project["id"], f"t{i}") for i in range(3)]
    response = client.delete(f"/projects/{project['id']}", headers=user.auth)
    assert response.status_code == 204 and response.content == b""
    for task in tasks:
        assert_problem(client.get(f"/tasks/{task['id']}", headers=user.auth), "not-found")
    assert_problem(client.get(f"/projects/{project['id']}/tasks", headers=user.auth), "not-found")
    assert_problem(
        client.post(f"/projects/{project['id']}/tasks", json={"title": "t"}, headers=user.auth), "not-found"
    )


def test_ids_are_never_reused(client: httpx.Client, user: User) -> None:
    first = client.post("/projects", json={"name": "a"}, headers=user.auth).json()["id"]
    client.delete(f"/projects/{first}", headers=user.auth)
    second = client.post("/projects", json={"name": "b"}, headers=user.auth).json()["id"]
    assert second > first


def _schema_members(spec_dir: Path, name: str) -> list[str]:
    components = yaml.safe_load((spec_dir / "openapi.yaml").read_text(encoding="utf-8"))["components"]
    return list(components["schemas"][name]["properties"])


def test_json_is_compact_utf8_in_schema_order(client: httpx.Client, user: User, spec_dir: Path) -> None:
    # The same state is the same bytes on every port (spec: Media types): what a strong ETag promises.
    project = client.post("/projects", json={"name": 'Café ☕ "q"'}, headers=user.auth)
    task = create_task(client, user, project.json()["id"], title="naïve")
    for response, schema in (
        (client.get(f"/projects/{project.json()['id']}", headers=user.auth), "Project"),
        (client.get(f"/tasks/{task['id']}", headers=user.auth), "Task"),
    ):
        body = response.json()
        assert response.content == json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        assert list(body) == _schema_members(spec_dir, schema)
