"""State made by one port works on every other: passwords, tokens, cursors, ETags, idempotency records."""

from __future__ import annotations

import uuid

import httpx
from conformance.api import (
    User,
    assert_json,
    assert_problem,
    create_project,
    list_all_projects,
    login,
    new_user,
    register,
)


def _port(clients: list[httpx.Client], index: int) -> httpx.Client:
    """Port A, B, C, D... by index; with fewer ports the letters wrap around."""
    return clients[index % len(clients)]


def test_password_hashed_by_one_port_verifies_on_every_port(clients: list[httpx.Client]) -> None:
    body = register(_port(clients, 0))
    for client in clients:
        assert login(client, body["email"])


def test_token_from_one_port_works_on_another_and_revocation_is_seen_everywhere(
    clients: list[httpx.Client],
) -> None:
    user = new_user(_port(clients, 0))
    for client in clients:
        me = assert_json(client.get("/users/me", headers=user.auth), 200)
        assert me["id"] == user.id
    response = _port(clients, 1).delete("/tokens/current", headers=user.auth)
    assert response.status_code == 204, response.text
    for client in clients:
        assert_problem(client.get("/users/me", headers=user.auth), "invalid-token")


def test_cursor_from_one_port_continues_on_the_next(clients: list[httpx.Client]) -> None:
    user = new_user(_port(clients, 0))
    created = [create_project(_port(clients, i), user, name=f"p{i}")["id"] for i in range(4)]
    seen: list[int] = []
    params = {"limit": "1"}
    # Page 1 from port B, page 2 from C, page 3 from D, page 4 from A: one walk across every port.
    for page in range(4):
        body = assert_json(_port(clients, page + 1).get("/projects", params=params, headers=user.auth), 200)
        seen.extend(item["id"] for item in body["items"])
        if page < 3:
            assert body["next_cursor"], body
            params["cursor"] = body["next_cursor"]
    assert body["next_cursor"] is None
    assert sorted(seen) == sorted(created) and len(set(seen)) == 4


def test_etag_from_one_port_is_a_precondition_on_another(clients: list[httpx.Client]) -> None:
    user = new_user(_port(clients, 0))
    project = create_project(_port(clients, 1), user)
    path = f"/projects/{project['id']}"
    etag = _port(clients, 2).get(path, headers=user.auth).headers["etag"]
    assert etag == '"1"'
    # C's ETag is D's If-Match: the write succeeds and bumps the version for everyone.
    patched = _port(clients, 3).patch(path, json={"name": "renamed"}, headers={**user.auth, "If-Match": etag})
    assert assert_json(patched, 200)["version"] == 2
    assert patched.headers["etag"] == '"2"'
    # The stale ETag loses on A; the new one is a 304 on B.
    stale = _port(clients, 0).patch(path, json={"name": "lost"}, headers={**user.auth, "If-Match": etag})
    assert_problem(stale, "precondition-failed")
    fresh = _port(clients, 1).get(path, headers={**user.auth, "If-None-Match": patched.headers["etag"]})
    assert fresh.status_code == 304
    assert assert_json(_port(clients, 2).get(path, headers=user.auth), 200)["name"] == "renamed"


def test_idempotent_post_is_replayed_by_another_port(clients: list[httpx.Client]) -> None:
    user = new_user(_port(clients, 0))
    key = {"Idempotency-Key": f"mixed-{uuid.uuid4()}"}
    body = b'{"name": "once"}'
    headers = {**user.auth, **key, "Content-Type": "application/json"}
    first = _port(clients, 0).post("/projects", content=body, headers=headers)
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    for index in range(1, len(clients) + 1):
        replay = _port(clients, index).post("/projects", content=body, headers=headers)
        assert replay.status_code == 201, replay.text
        assert replay.content == first.content
        assert replay.headers["idempotent-replayed"] == "true"
        assert (replay.headers["location"], replay.headers["etag"]) == (
            first.headers["location"],
            first.headers["etag"],
        )
    reused = _port(clients, 2).post("/projects", content=b'{"name": "other"}', headers=headers)
    assert_problem(reused, "idempotency-key-reused")
    assert [project["name"] for project in list_all_projects(_port(clients, 3), user)] == ["once"]


def test_writes_through_the_gateway_are_seen_by_every_port(
    gateway: httpx.Client, clients: list[httpx.Client]
) -> None:
    # Whichever port the gateway picked for each request, every port sees the result at once.
    user: User = new_user(gateway)
    project = create_project(gateway, user)
    for client in clients:
        assert (
            assert_json(client.get(f"/projects/{project['id']}", headers=user.auth), 200)["id"]
            == project["id"]
        )
