"""Work per body is bounded: nesting at 32 levels, at most 20 errors, any member name is just a member."""

import json

import pytest
from conftest import register


def _post(client, path: str, body: bytes, auth: dict[str, str] | None = None):
    return client.post(path, data=body, content_type="application/json", headers=auth or {})


def test_nesting_up_to_32_is_parsed_and_33_is_malformed(client, auth) -> None:
    deep_ok = {"name": "p", "description": json.loads("[" * 31 + "]" * 31)}  # 32 levels with the object
    assert _post(client, "/projects", json.dumps(deep_ok).encode(), auth).status_code == 422  # parsed
    too_deep = b'{"name": "p", "description": ' + b"[" * 32 + b"]" * 32 + b"}"  # 33 levels
    response = _post(client, "/projects", too_deep, auth)
    assert response.status_code == 400
    assert response.json["type"].endswith("/malformed-json")


def test_a_mebibyte_of_brackets_is_400_not_a_crash(client) -> None:
    for opener in (b"[", b'{"a":'):
        body = opener * ((1_048_576 - 1) // len(opener))
        response = _post(client, "/tokens", body)
        assert response.status_code == 400
        assert response.json["type"].endswith("/malformed-json")


def test_errors_are_capped_at_20(client) -> None:
    body = {"email": "x", "password": 1, **{f"m{i}": i for i in range(60_000)}}  # about 800 KB
    response = client.post("/users", json=body)
    assert response.status_code == 422
    errors = response.json["errors"]
    assert len(errors) == 20
    # The order found: the documented members first, then the unknown ones.
    assert [e["pointer"] for e in errors[:3]] == ["/email", "/password", "/name"]
    assert errors[3] == {"pointer": "/m0", "detail": "is not a known member"}
    assert len(response.get_data()) < 4096


def test_a_header_problem_counts_towards_the_cap(client, auth) -> None:
    body = {f"m{i}": i for i in range(50)}
    response = client.post("/projects", json=body, headers={**auth, "Idempotency-Key": "a b"})
    errors = response.json["errors"]
    assert len(errors) == 20
    assert errors[0]["header"] == "Idempotency-Key"


HOSTILE = [
    "user",
    "db",
    "data",
    "request",
    "self",
    "session",
    "__proto__",
    "a" * 10_000,
    "prénom",
    "a/b~c",
    "",
]


@pytest.mark.parametrize("name", HOSTILE, ids=lambda n: n[:12] or "empty")
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/users", {"email": "e@example.com", "password": "12345678", "name": "n"}),
        ("POST", "/tokens", {"email": "e@example.com", "password": "12345678"}),
        ("POST", "/projects", {"name": "p"}),
        ("PATCH", "/projects/{project}", {"name": "p"}),
        ("POST", "/projects/{project}/tasks", {"title": "t"}),
        (
            "PUT",
            "/tasks/{task}",
            {"project_id": 0, "title": "t", "notes": "", "done": False, "priority": "low", "due_on": None},
        ),
        ("PATCH", "/tasks/{task}", {"title": "t"}),
    ],
)
def test_hostile_member_names_are_422_with_their_pointer(client, method, path, body, name) -> None:
    auth = register(client, "hostile@example.com")
    project = client.post("/projects", json={"name": "p"}, headers=auth).json["id"]
    task = client.post(f"/projects/{project}/tasks", json={"title": "t"}, headers=auth).json["id"]
    if "project_id" in body:
        body = {**body, "project_id": project}
    response = client.open(
        path.format(project=project, task=task), method=method, json={**body, name: 1}, headers=auth
    )
    assert response.status_code == 422, response.get_data()
    expected = "/" + name.replace("~", "~0").replace("/", "~1")
    assert response.json["errors"] == [{"pointer": expected, "detail": "is not a known member"}]
