"""Optimistic concurrency under truly parallel requests: one atomic conditional write (spec: Conditional)."""

from typing import Any

import httpx
from conformance.api import User, assert_json, create_project, create_task
from conformance.race import Call, race

# Races are probabilistic: several rounds make an unprotected read-compare-write very likely to show.
ROUNDS = 5


def _patch(path: str, body: dict[str, Any], headers: dict[str, str]) -> Call:
    return lambda http: http.patch(path, json=body, headers=headers)


def _put(path: str, body: dict[str, Any], headers: dict[str, str]) -> Call:
    return lambda http: http.put(path, json=body, headers=headers)


def _project_round(client: httpx.Client, user: User, base_url: str, name: str) -> None:
    path = f"/projects/{create_project(client, user, name)['id']}"
    headers = {**user.auth, "If-Match": '"1"'}
    responses = race(base_url, [_patch(path, {"name": new}, headers) for new in ("a", "b")])
    assert sorted(r.status_code for r in responses) == [200, 412], [r.text for r in responses]
    winner = next(r for r in responses if r.status_code == 200).json()
    final = client.get(path, headers=user.auth).json()
    assert final["version"] == 2 and final["name"] == winner["name"]


def test_same_etag_writers_on_a_project(client: httpx.Client, user: User, base_url: str) -> None:
    for round_ in range(ROUNDS):
        _project_round(client, user, base_url, f"race {round_}")


def _task_round(client: httpx.Client, user: User, base_url: str, project_id: int) -> None:
    path = f"/tasks/{create_task(client, user, project_id)['id']}"
    headers = {**user.auth, "If-Match": '"1"'}
    bodies = [
        {
            "project_id": project_id,
            "title": title,
            "notes": "",
            "done": False,
            "priority": "low",
            "due_on": None,
        }
        for title in ("a", "b", "c")
    ]
    responses = race(base_url, [_put(path, body, headers) for body in bodies])
    assert sorted(r.status_code for r in responses) == [200, 412, 412], [r.text for r in responses]
    winner = next(r for r in responses if r.status_code == 200).json()
    final = client.get(path, headers=user.auth).json()
    assert final["version"] == 2 and final["title"] == winner["title"]


def test_same_etag_writers_on_a_task(
    client: httpx.Client, user: User, project: dict[str, Any], base_url: str
) -> None:
    for _ in range(ROUNDS):
        _task_round(client, user, base_url, project["id"])


def _merge_round(client: httpx.Client, user: User, base_url: str, project_id: int) -> None:
    path = f"/tasks/{create_task(client, user, project_id)['id']}"
    patches: list[dict[str, Any]] = [{"title": "new title"}, {"notes": "new notes"}, {"done": True}]
    responses = race(base_url, [_patch(path, body, user.auth) for body in patches])
    assert [r.status_code for r in responses] == [200, 200, 200], [r.text for r in responses]
    # Each response shows the version its own write produced.
    assert sorted(r.json()["version"] for r in responses) == [2, 3, 4]
    final = assert_json(client.get(path, headers=user.auth), 200)
    assert (final["title"], final["notes"], final["done"], final["version"]) == (
        "new title",
        "new notes",
        True,
        4,
    )


def test_unconditional_patches_to_different_members_all_survive(
    client: httpx.Client, user: User, project: dict[str, Any], base_url: str
) -> None:
    for _ in range(ROUNDS):
        _merge_round(client, user, base_url, project["id"])


def _project_merge_round(client: httpx.Client, user: User, base_url: str) -> None:
    path = f"/projects/{create_project(client, user)['id']}"
    patches: list[dict[str, Any]] = [{"name": "new name"}, {"description": "new description"}]
    responses = race(base_url, [_patch(path, body, user.auth) for body in patches])
    assert [r.status_code for r in responses] == [200, 200], [r.text for r in responses]
    final = client.get(path, headers=user.auth).json()
    assert (final["name"], final["description"], final["version"]) == ("new name", "new description", 3)


def test_unconditional_project_patches_both_survive(client: httpx.Client, user: User, base_url: str) -> None:
    for _ in range(ROUNDS):
        _project_merge_round(client, user, base_url)
