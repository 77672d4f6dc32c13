"""Keyset pagination with signed cursors and Link headers (spec: Pagination)."""

import base64
import hashlib
import hmac
import json
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest
from conformance.api import User, assert_json, assert_problem, create_project, create_task


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(payload: bytes, secret_key: str) -> str:
    encoded = _b64(payload)
    mac = hmac.new(secret_key.encode(), encoded.encode("ascii"), hashlib.sha256).digest()
    return f"{encoded}.{_b64(mac)}"


def _page(client: httpx.Client, user: User, url: str) -> tuple[dict[str, Any], httpx.Response]:
    response = client.get(url, headers=user.auth)
    return assert_json(response, 200), response


def _projects(client: httpx.Client, user: User, count: int) -> list[int]:
    return [create_project(client, user, f"p{i}")["id"] for i in range(count)]


def test_walk_by_next_cursor(client: httpx.Client, user: User) -> None:
    ids = _projects(client, user, 5)
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        query = "limit=2" + (f"&cursor={cursor}" if cursor else "")
        body, response = _page(client, user, f"/projects?{query}")
        assert set(body) == {"items", "next_cursor"}
        seen.extend(item["id"] for item in body["items"])
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            assert "link" not in response.headers
            break
        assert response.headers["link"] == f'</projects?limit=2&cursor={cursor}>; rel="next"'
    assert seen == ids == sorted(ids)
    assert pages == 3


def test_walk_by_link(client: httpx.Client, user: User, base_url: str) -> None:
    ids = _projects(client, user, 7)
    seen: list[int] = []
    url = f"{base_url}/projects?limit=3"
    while True:
        body, response = _page(client, user, url)
        seen.extend(item["id"] for item in body["items"])
        link = response.headers.get("link")
        if link is None:
            break
        target, rel = link.split("; ")
        assert rel == 'rel="next"' and target.startswith("<") and target.endswith(">")
        # The URL is a path, resolved against the request URL.
        url = urljoin(url, target[1:-1])
    assert seen == ids


def test_exact_last_page_has_no_next(client: httpx.Client, user: User) -> None:
    # 4 items, limit 2: the second page is full and yet last, so it has no cursor (limit + 1 rows fetched).
    _projects(client, user, 4)
    first, _ = _page(client, user, "/projects?limit=2")
    second, response = _page(client, user, f"/projects?limit=2&cursor={first['next_cursor']}")
    assert len(second["items"]) == 2
    assert second["next_cursor"] is None
    assert "link" not in response.headers


def test_empty_list(client: httpx.Client, user: User) -> None:
    body, response = _page(client, user, "/projects")
    assert body == {"items": [], "next_cursor": None}
    assert "link" not in response.headers


def test_default_limit_is_20(client: httpx.Client, user: User) -> None:
    _projects(client, user, 21)
    body, response = _page(client, user, "/projects")
    assert len(body["items"]) == 20
    # No limit in the request, so none in the Link.
    assert response.headers["link"] == f'</projects?cursor={body["next_cursor"]}>; rel="next"'
    rest, _ = _page(client, user, f"/projects?cursor={body['next_cursor']}")
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None


@pytest.mark.parametrize("limit", [1, 100])
def test_limit_bounds_are_accepted(client: httpx.Client, user: User, limit: int) -> None:
    _projects(client, user, 2)
    body, _ = _page(client, user, f"/projects?limit={limit}")
    assert len(body["items"]) == min(limit, 2)


def test_limit_with_leading_zeros_is_that_number(client: httpx.Client, user: User) -> None:
    # "limit=05" is the decimal integer 5 (spec: Validation); the Link writes it back without the zero.
    _projects(client, user, 6)
    body, response = _page(client, user, "/projects?limit=05")
    assert len(body["items"]) == 5
    assert response.headers["link"] == f'</projects?limit=5&cursor={body["next_cursor"]}>; rel="next"'


def test_inserts_and_deletes_between_pages(client: httpx.Client, user: User) -> None:
    ids = _projects(client, user, 4)
    first, _ = _page(client, user, "/projects?limit=2")
    assert [item["id"] for item in first["items"]] == ids[:2]
    # Delete the last item of the page (the cursor's position) and one ahead, insert one at the end.
    assert client.delete(f"/projects/{ids[1]}", headers=user.auth).status_code == 204
    assert client.delete(f"/projects/{ids[2]}", headers=user.auth).status_code == 204
    added = create_project(client, user, "late")["id"]
    seen = [item["id"] for item in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        body, _ = _page(client, user, f"/projects?limit=2&cursor={cursor}")
        seen.extend(item["id"] for item in body["items"])
        cursor = body["next_cursor"]
    assert seen == [ids[0], ids[1], ids[3], added]


def test_limit_may_change_between_pages(client: httpx.Client, user: User) -> None:
    ids = _projects(client, user, 5)
    first, _ = _page(client, user, "/projects?limit=1")
    rest, _ = _page(client, user, f"/projects?limit=10&cursor={first['next_cursor']}")
    assert [item["id"] for item in rest["items"]] == ids[1:]


@pytest.fixture
def mixed_tasks(client: httpx.Client, user: User, project: dict[str, Any]) -> list[dict[str, Any]]:
    """Eight tasks covering every done/priority combination used by the filters."""
    return [
        create_task(
            client, user, project["id"], f"t{i}", done=i % 2 == 0, priority=["low", "high"][i // 2 % 2]
        )
        for i in range(8)
    ]


def test_task_filters_and_link(
    client: httpx.Client, user: User, project: dict[str, Any], mixed_tasks: list[dict[str, Any]]
) -> None:
    wanted = [t["id"] for t in mixed_tasks if not t["done"] and t["priority"] == "high"]
    assert len(wanted) == 2
    # Parameters in a scrambled order: the Link still lists limit, done, priority, cursor.
    body, response = _page(client, user, f"/projects/{project['id']}/tasks?priority=high&done=false&limit=1")
    assert [item["id"] for item in body["items"]] == wanted[:1]
    cursor = body["next_cursor"]
    assert response.headers["link"] == (
        f'</projects/{project["id"]}/tasks?limit=1&done=false&priority=high&cursor={cursor}>; rel="next"'
    )
    rest, response = _page(
        client, user, f"/projects/{project['id']}/tasks?limit=1&done=false&priority=high&cursor={cursor}"
    )
    assert [item["id"] for item in rest["items"]] == wanted[1:]
    assert rest["next_cursor"] is None and "link" not in response.headers


def test_each_filter_alone(
    client: httpx.Client, user: User, project: dict[str, Any], mixed_tasks: list[dict[str, Any]]
) -> None:
    done, _ = _page(client, user, f"/projects/{project['id']}/tasks?done=true")
    assert [t["id"] for t in done["items"]] == [t["id"] for t in mixed_tasks if t["done"]]
    low, _ = _page(client, user, f"/projects/{project['id']}/tasks?priority=low")
    assert [t["id"] for t in low["items"]] == [t["id"] for t in mixed_tasks if t["priority"] == "low"]
    normal, _ = _page(client, user, f"/projects/{project['id']}/tasks?priority=normal")
    assert normal["items"] == []
    first, response = _page(client, user, f"/projects/{project['id']}/tasks?done=true&limit=2")
    assert response.headers["link"] == (
        f'</projects/{project["id"]}/tasks?limit=2&done=true&cursor={first["next_cursor"]}>; rel="next"'
    )


def test_cursor_format(client: httpx.Client, user: User, project: dict[str, Any], secret_key: str) -> None:
    tasks = [create_task(client, user, project["id"], f"t{i}") for i in range(3)]
    body, _ = _page(client, user, f"/projects/{project['id']}/tasks?limit=2&done=false")
    payload, mac = body["next_cursor"].split(".")
    assert json.loads(_unb64(payload)) == {
        "list": "tasks",
        "user": user.id,
        "project": project["id"],
        "done": False,
        "priority": None,
        "after": tasks[1]["id"],
    }
    # The MAC is HMAC-SHA256 keyed with SECRET_KEY over the payload's ASCII: cursors work across ports.
    assert body["next_cursor"] == _sign(_unb64(payload), secret_key)
    assert len(mac) == 43


def _projects_cursor_payload(user_id: int, after: int) -> dict[str, Any]:
    """The JSON object spec/README.md puts inside a listProjects cursor."""
    return {
        "list": "projects",
        "user": user_id,
        "project": None,
        "done": None,
        "priority": None,
        "after": after,
    }


def test_cursor_of_projects_list(client: httpx.Client, user: User) -> None:
    ids = _projects(client, user, 2)
    body, _ = _page(client, user, "/projects?limit=1")
    payload = json.loads(_unb64(body["next_cursor"].split(".")[0]))
    assert payload == _projects_cursor_payload(user.id, ids[0])


def test_forged_cursor_with_free_member_order_and_spacing_is_honoured(
    client: httpx.Client, user: User, secret_key: str
) -> None:
    ids = _projects(client, user, 4)
    # Another port may serialise the payload differently; the MAC covers the bytes as sent.
    raw = json.dumps(
        {
            "after": ids[1],
            "priority": None,
            "done": None,
            "project": None,
            "user": user.id,
            "list": "projects",
        },
        indent=2,
    ).encode()
    body, _ = _page(client, user, f"/projects?cursor={_sign(raw, secret_key)}")
    assert [item["id"] for item in body["items"]] == ids[2:]


def _tampered(cursor: str) -> list[str]:
    payload, mac = cursor.split(".")
    flipped = "A" if mac[0] != "A" else "B"
    return [
        f"{payload}.{flipped}{mac[1:]}",
        f"{payload[:-1]}{'A' if payload[-1] != 'A' else 'B'}.{mac}",
        payload,
        f"{payload}.",
        f".{mac}",
        "not-a-cursor",
        f"{payload}.{mac}.{mac}",
        f"{payload}={mac}",
        "!!!.???",
    ]


def test_tampered_cursor_is_invalid(client: httpx.Client, user: User) -> None:
    _projects(client, user, 2)
    body, _ = _page(client, user, "/projects?limit=1")
    for cursor in _tampered(body["next_cursor"]):
        response = client.get("/projects", params={"cursor": cursor}, headers=user.auth)
        assert_problem(response, "invalid-cursor")


@pytest.mark.parametrize(
    "payload",
    [
        {"list": "projects", "user": 0, "project": None, "done": None, "priority": None},
        [1, 2, 3],
        "projects",
    ],
)
def test_signed_but_meaningless_cursor_is_invalid(
    client: httpx.Client, user: User, secret_key: str, payload: Any
) -> None:
    # A valid MAC over a payload that is not a cursor object (no "after", or not an object at all).
    if isinstance(payload, dict):
        payload = {**payload, "user": user.id}
    cursor = _sign(json.dumps(payload).encode(), secret_key)
    assert_problem(client.get("/projects", params={"cursor": cursor}, headers=user.auth), "invalid-cursor")


def test_signed_cursor_that_is_not_json_is_invalid(client: httpx.Client, user: User, secret_key: str) -> None:
    for raw in (b"\xff\xfe", b"{", b"", b"NaN"):
        cursor = _sign(raw, secret_key)
        assert_problem(
            client.get("/projects", params={"cursor": cursor}, headers=user.auth), "invalid-cursor"
        )


def test_longest_cursor_reaches_the_application(client: httpx.Client, user: User) -> None:
    # spec/README.md, "Problem details": the longest cursor the schema allows (512 characters, here
    # 4-byte ones, about 6 KiB percent-encoded) fits every server's request line: 400, never a 414.
    cursor = "\U0001f600" * 512
    response = client.get("/projects", params={"cursor": cursor}, headers=user.auth)
    assert len(str(response.request.url)) > 6000
    assert_problem(response, "invalid-cursor")


def test_cursor_from_another_user_is_invalid(client: httpx.Client, user: User, other_user: User) -> None:
    _projects(client, other_user, 2)
    _projects(client, user, 2)
    theirs, _ = _page(client, other_user, "/projects?limit=1")
    response = client.get(f"/projects?cursor={theirs['next_cursor']}", headers=user.auth)
    assert_problem(response, "invalid-cursor")


def test_cursor_from_another_project_is_invalid(client: httpx.Client, user: User) -> None:
    first, second = (create_project(client, user, name)["id"] for name in ("a", "b"))
    for project_id in (first, second):
        for i in range(2):
            create_task(client, user, project_id, f"t{i}")
    body, _ = _page(client, user, f"/projects/{first}/tasks?limit=1")
    response = client.get(f"/projects/{second}/tasks?limit=1&cursor={body['next_cursor']}", headers=user.auth)
    assert_problem(response, "invalid-cursor")


def test_cursor_from_another_list_is_invalid(
    client: httpx.Client, user: User, project: dict[str, Any]
) -> None:
    _projects(client, user, 2)
    create_task(client, user, project["id"])
    body, _ = _page(client, user, "/projects?limit=1")
    response = client.get(f"/projects/{project['id']}/tasks?cursor={body['next_cursor']}", headers=user.auth)
    assert_problem(response, "invalid-cursor")


@pytest.mark.parametrize(
    ("issued", "reused"),
    [
        ("done=true", "done=false"),
        ("done=true", ""),
        ("", "done=false"),
        ("priority=low", "priority=high"),
        ("priority=low", ""),
        ("", "priority=low"),
        ("done=true&priority=low", "done=true"),
    ],
)
def test_cursor_with_other_filters_is_invalid(
    client: httpx.Client,
    user: User,
    project: dict[str, Any],
    mixed_tasks: list[dict[str, Any]],
    issued: str,
    reused: str,
) -> None:
    path = f"/projects/{project['id']}/tasks"
    body, _ = _page(client, user, f"{path}?limit=1&{issued}")
    assert body["next_cursor"]
    response = client.get(f"{path}?limit=1&{reused}&cursor={body['next_cursor']}", headers=user.auth)
    assert_problem(response, "invalid-cursor")


def test_cursor_signed_with_another_key_is_invalid(client: httpx.Client, user: User, secret_key: str) -> None:
    ids = _projects(client, user, 2)
    raw = json.dumps(_projects_cursor_payload(user.id, ids[0])).encode()
    response = client.get(f"/projects?cursor={_sign(raw, secret_key + 'x')}", headers=user.auth)
    assert_problem(response, "invalid-cursor")
