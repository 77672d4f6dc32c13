"""Strict bodies and query parameters: 422 with one located errors[] item per problem (spec: Validation)."""

import json
import string
from typing import Any

import httpx
import pytest
from conformance.api import (
    PASSWORD,
    User,
    assert_json,
    assert_problem,
    assert_validation,
    list_all_projects,
    unique_email,
)

JSON = {"Content-Type": "application/json"}
FULL_TASK = {"title": "t", "notes": "", "done": False, "priority": "normal", "due_on": None}


def _post_raw(client: httpx.Client, user: User, path: str, body: bytes) -> httpx.Response:
    return client.post(path, content=body, headers={**user.auth, **JSON})


@pytest.mark.parametrize("member", ["color", "id", "version", "created_at", "owner_id", "Name"])
def test_unknown_member_is_422_with_its_pointer(client: httpx.Client, user: User, member: str) -> None:
    response = client.post("/projects", json={"name": "p", member: 1}, headers=user.auth)
    assert_validation(response, pointer=[f"/{member}"])


def test_unknown_member_in_task_patch(client: httpx.Client, user: User, task: dict[str, Any]) -> None:
    response = client.patch(f"/tasks/{task['id']}", json={"version": 7}, headers=user.auth)
    assert_validation(response, pointer=["/version"])


def test_pointer_escapes_special_characters(client: httpx.Client, user: User) -> None:
    # RFC 6901: "~" is written "~0" and "/" is written "~1".
    response = client.post("/projects", json={"name": "p", "a/b~c": 1}, headers=user.auth)
    assert_validation(response, pointer=["/a~1b~0c"])


@pytest.mark.parametrize("body", [b"[]", b'"name"', b"null", b"42", b"true", b'[{"name": "p"}]'])
def test_body_that_is_not_an_object_points_at_the_root(client: httpx.Client, user: User, body: bytes) -> None:
    assert_validation(_post_raw(client, user, "/projects", body), pointer=[""])


def test_missing_required_member_points_where_it_should_be(
    client: httpx.Client, user: User, project: dict[str, Any]
) -> None:
    assert_validation(
        client.post("/projects", json={"description": "d"}, headers=user.auth), pointer=["/name"]
    )
    response = client.post(f"/projects/{project['id']}/tasks", json={}, headers=user.auth)
    assert_validation(response, pointer=["/title"])


def test_put_requires_every_writable_member(client: httpx.Client, user: User, task: dict[str, Any]) -> None:
    response = client.put(f"/tasks/{task['id']}", json={"title": "t"}, headers=user.auth)
    assert_validation(response, pointer=["/project_id", "/notes", "/done", "/priority", "/due_on"])


def test_all_problems_are_reported_at_once(client: httpx.Client, user: User, project: dict[str, Any]) -> None:
    body = {"title": "", "priority": "urgent", "done": "yes", "extra": 1}
    response = client.post(f"/projects/{project['id']}/tasks", json=body, headers=user.auth)
    assert_validation(response, pointer=["/title", "/priority", "/done", "/extra"])


@pytest.mark.parametrize(
    ("raw", "pointer"),
    [
        (b"true", "/project_id"),
        (b"1.0", "/project_id"),
        (b"1e0", "/project_id"),
        (b'"1"', "/project_id"),
        (b"0", "/project_id"),
        (b"-1", "/project_id"),
    ],
)
def test_integer_members_are_strict(
    client: httpx.Client, user: User, task: dict[str, Any], raw: bytes, pointer: str
) -> None:
    # The own project's id in a non-integer spelling: a lax parser would move nothing and answer 200.
    spelled = (
        raw.replace(b"1", str(task["project_id"]).encode()) if raw not in (b"true", b"0", b"-1") else raw
    )
    body = b'{"project_id": ' + spelled + b"}"
    response = client.patch(f"/tasks/{task['id']}", content=body, headers={**user.auth, **JSON})
    assert_validation(response, pointer=[pointer])


@pytest.mark.parametrize(
    ("member", "value"),
    [
        ("done", 0),
        ("done", 1),
        ("done", "true"),
        ("done", None),
        ("title", 5),
        ("title", None),
        ("title", ["t"]),
        ("notes", None),
        ("notes", {"a": 1}),
        ("priority", "NORMAL"),
        ("priority", "urgent"),
        ("priority", None),
        ("due_on", 20261128),
        ("project_id", None),
    ],
)
def test_wrong_types_in_task_patch(
    client: httpx.Client, user: User, task: dict[str, Any], member: str, value: Any
) -> None:
    response = client.patch(f"/tasks/{task['id']}", json={member: value}, headers=user.auth)
    assert_validation(response, pointer=[f"/{member}"])
    assert client.get(f"/tasks/{task['id']}", headers=user.auth).json()["version"] == 1


@pytest.mark.parametrize(
    ("member", "value"), [("name", 1), ("name", None), ("description", None), ("description", 1)]
)
def test_wrong_types_in_project(client: httpx.Client, user: User, member: str, value: Any) -> None:
    body = {"name": "p", member: value}
    assert_validation(client.post("/projects", json=body, headers=user.auth), pointer=[f"/{member}"])


@pytest.mark.parametrize(
    ("path", "member", "limit"), [("/projects", "name", 100), ("/projects", "description", 2000)]
)
def test_project_length_bounds_count_code_points(
    client: httpx.Client, user: User, path: str, member: str, limit: int
) -> None:
    # U+1F600 is 1 code point, 2 UTF-16 units and 4 UTF-8 bytes: only code points may be counted.
    base = {"name": "p"}
    at_limit = "\U0001f600" * limit
    created = assert_json(client.post(path, json={**base, member: at_limit}, headers=user.auth), 201)
    assert created[member] == at_limit
    response = client.post(path, json={**base, member: at_limit + "x"}, headers=user.auth)
    assert_validation(response, pointer=[f"/{member}"])


@pytest.mark.parametrize(("member", "limit"), [("title", 200), ("notes", 10000)])
def test_task_length_bounds_count_code_points(
    client: httpx.Client, user: User, project: dict[str, Any], member: str, limit: int
) -> None:
    path = f"/projects/{project['id']}/tasks"
    # "e" + COMBINING ACUTE ACCENT: two code points that render as one character, never normalised.
    at_limit = "e\u0301" * (limit // 2)
    created = assert_json(client.post(path, json={"title": "t", member: at_limit}, headers=user.auth), 201)
    assert created[member] == at_limit
    response = client.post(path, json={"title": "t", member: at_limit + "e"}, headers=user.auth)
    assert_validation(response, pointer=[f"/{member}"])


def test_escaped_surrogate_pair_is_one_code_point(client: httpx.Client, user: User) -> None:
    body = b'{"name": "' + b"\\ud83d\\ude00" * 100 + b'"}'
    created = assert_json(_post_raw(client, user, "/projects", body), 201)
    assert created["name"] == "\U0001f600" * 100


def test_empty_required_strings_are_too_short(
    client: httpx.Client, user: User, project: dict[str, Any]
) -> None:
    assert_validation(client.post("/projects", json={"name": ""}, headers=user.auth), pointer=["/name"])
    response = client.post(f"/projects/{project['id']}/tasks", json={"title": ""}, headers=user.auth)
    assert_validation(response, pointer=["/title"])


def test_strings_are_stored_as_sent(client: httpx.Client, user: User) -> None:
    created = assert_json(
        client.post("/projects", json={"name": "  padded\t", "description": " "}, headers=user.auth), 201
    )
    assert created["name"] == "  padded\t" and created["description"] == " "
    assert client.get(f"/projects/{created['id']}", headers=user.auth).json()["name"] == "  padded\t"


@pytest.mark.parametrize("value", ["a\u0000b", "\u0000"])
def test_nul_character_is_422(client: httpx.Client, user: User, project: dict[str, Any], value: str) -> None:
    assert_validation(client.post("/projects", json={"name": value}, headers=user.auth), pointer=["/name"])
    response = client.post(
        f"/projects/{project['id']}/tasks", json={"title": "t", "notes": value}, headers=user.auth
    )
    assert_validation(response, pointer=["/notes"])


@pytest.mark.parametrize("value", ["2024-02-29", "0001-01-01", "9999-12-31", None])
def test_valid_due_on(client: httpx.Client, user: User, project: dict[str, Any], value: str | None) -> None:
    response = client.post(
        f"/projects/{project['id']}/tasks", json={"title": "t", "due_on": value}, headers=user.auth
    )
    assert assert_json(response, 201)["due_on"] == value


@pytest.mark.parametrize(
    "value",
    [
        "2026-02-30",
        "2025-02-29",
        "20261128",
        "2026-11-28T00:00:00Z",
        "2026-11-28 ",
        "2026-1-28",
        "0000-01-01",
        "10000-01-01",
        "2026-W48-6",
        "2026-13-01",
        "",
        "\uff12\uff10\uff12\uff16-11-28",
    ],
)
def test_invalid_due_on_is_422(client: httpx.Client, user: User, project: dict[str, Any], value: str) -> None:
    response = client.post(
        f"/projects/{project['id']}/tasks", json={"title": "t", "due_on": value}, headers=user.auth
    )
    assert_validation(response, pointer=["/due_on"])


def test_null_clears_due_on(client: httpx.Client, user: User, project: dict[str, Any]) -> None:
    created = assert_json(
        client.post(
            f"/projects/{project['id']}/tasks", json={"title": "t", "due_on": "2026-11-28"}, headers=user.auth
        ),
        201,
    )
    patched = assert_json(
        client.patch(f"/tasks/{created['id']}", json={"due_on": None}, headers=user.auth), 200
    )
    assert patched["due_on"] is None


@pytest.mark.parametrize(
    ("query", "parameters"),
    [
        ("limit=0", ["limit"]),
        ("limit=101", ["limit"]),
        ("limit=-1", ["limit"]),
        ("limit=abc", ["limit"]),
        ("limit=1.0", ["limit"]),
        ("limit=1e1", ["limit"]),
        ("limit=", ["limit"]),
        ("limit=2&limit=3", ["limit"]),
        ("limit=2&limit=2", ["limit"]),
        ("done=yes", ["done"]),
        ("done=True", ["done"]),
        ("done=1", ["done"]),
        ("done=true&done=false", ["done"]),
        ("priority=urgent", ["priority"]),
        ("priority=HIGH", ["priority"]),
        ("priority=low&priority=low", ["priority"]),
        ("cursor=", ["cursor"]),
        ("cursor=" + "a" * 513, ["cursor"]),
        ("cursor=a&cursor=b", ["cursor"]),
        ("limit=0&done=maybe&priority=x", ["limit", "done", "priority"]),
    ],
)
def test_bad_task_list_parameters(
    client: httpx.Client, user: User, project: dict[str, Any], query: str, parameters: list[str]
) -> None:
    response = client.get(f"/projects/{project['id']}/tasks?{query}", headers=user.auth)
    assert_validation(response, parameter=parameters)


@pytest.mark.parametrize("query", ["limit=0", "limit=x", "limit=5&limit=5", "cursor="])
def test_bad_project_list_parameters(client: httpx.Client, user: User, query: str) -> None:
    name = query.split("=")[0]
    assert_validation(client.get(f"/projects?{query}", headers=user.auth), parameter=[name])


def test_unknown_query_parameters_are_ignored(
    client: httpx.Client, user: User, project: dict[str, Any]
) -> None:
    assert assert_json(client.get("/projects?foo=bar&foo=baz&sort=name", headers=user.auth), 200)["items"]
    assert client.get(f"/projects/{project['id']}/tasks?x=1", headers=user.auth).status_code == 200


def test_query_parameters_on_single_resources_are_ignored(
    client: httpx.Client, user: User, project: dict[str, Any]
) -> None:
    # limit belongs to the list operations only; elsewhere it is an unknown parameter.
    assert client.get(f"/projects/{project['id']}?limit=0", headers=user.auth).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        b'{"name": NaN}',
        b'{"name": "p", "description": Infinity}',
        b'{"name": -Infinity}',
        b'{"name": "\\ud800"}',
        b'{"name": "\\udc00x"}',
        b'{"name": "\\ude00\\ud83d"}',
        b'{"name": "p"',
        b'{"name": "p"} x',
        b"{'name': 'p'}",
        b'{"name": "p",}',
        b"",
        b"\xff",
        b'{"name": "\xc3"}',
    ],
)
def test_malformed_json_is_400(client: httpx.Client, user: User, body: bytes) -> None:
    assert_problem(_post_raw(client, user, "/projects", body), "malformed-json")
    assert client.get("/projects", headers=user.auth).json()["items"] == []


def test_json_with_charset_parameter_is_accepted(client: httpx.Client, user: User) -> None:
    headers = {**user.auth, "Content-Type": "application/json; charset=utf-8"}
    assert client.post("/projects", content=b'{"name": "p"}', headers=headers).status_code == 201


# Member names that are framework or language words (a port that binds body members to function
# parameters, attributes or a prototype trips on them), very long and non-ASCII names, and names that
# need JSON Pointer escaping. Each is an unknown member like any other: 422 pointing at it, never 500.
HOSTILE_NAMES = [
    "user",
    "db",
    "data",
    "request",
    "self",
    "session",
    "__proto__",
    "constructor",
    "prototype",
    "__class__",
    "__dict__",
    "toString",
    "response",
    "background_tasks",
    "settings",
    "g",
    "",
    "x" * 10_000,
    "\u540d\u524d",
    "pr\u00e9nom",
    "\U0001f600",
    "\u0627\u0633\u0645",
    "nul\u0000",
    "~",
    "/",
    "a~b",
    "a/b",
    "~0",
    "~1",
    "/title",
]
# Values of every JSON type, so that a member bound to a parameter meets each kind of value.
HOSTILE_VALUES: list[Any] = [1, None, {"id": 1}, "x", [1], True]


def _pointer(name: str) -> str:
    """RFC 6901: the pointer to a top-level member ("~" is written "~0", then "/" is written "~1")."""
    return "/" + name.replace("~", "~0").replace("/", "~1")


def _body_operations(
    client: httpx.Client, user: User, project: dict[str, Any], task: dict[str, Any]
) -> dict[str, tuple[str, str, dict[str, Any], dict[str, str]]]:
    """Every operation that takes a body: (method, path, a valid body, headers)."""
    full_task = {**FULL_TASK, "project_id": project["id"]}
    return {
        "createUser": ("POST", "/users", {"email": unique_email(), "password": PASSWORD, "name": "N"}, {}),
        "createToken": ("POST", "/tokens", {"email": user.email, "password": PASSWORD}, {}),
        "createProject": ("POST", "/projects", {"name": "p"}, user.auth),
        "updateProject": ("PATCH", f"/projects/{project['id']}", {}, user.auth),
        "createTask": ("POST", f"/projects/{project['id']}/tasks", {"title": "t"}, user.auth),
        "replaceTask": ("PUT", f"/tasks/{task['id']}", full_task, user.auth),
        "updateTask": ("PATCH", f"/tasks/{task['id']}", {}, user.auth),
    }


@pytest.mark.parametrize(
    "operation",
    [
        "createUser",
        "createToken",
        "createProject",
        "updateProject",
        "createTask",
        "replaceTask",
        "updateTask",
    ],
)
def test_hostile_member_names_are_unknown_members(
    client: httpx.Client, user: User, project: dict[str, Any], task: dict[str, Any], operation: str
) -> None:
    method, path, valid, headers = _body_operations(client, user, project, task)[operation]
    for index, name in enumerate(HOSTILE_NAMES):
        body = {**valid, name: HOSTILE_VALUES[index % len(HOSTILE_VALUES)]}
        # Raw UTF-8 on the wire, as most clients send it (no \\u escapes).
        content = json.dumps(body, ensure_ascii=False).encode()
        response = client.request(method, path, content=content, headers={**headers, **JSON})
        assert response.status_code == 422, f"{name[:40]!r}: {response.status_code} {response.text[:300]}"
        assert_validation(response, pointer=[_pointer(name)])
    # Nothing was created or changed by any of them.
    assert list_all_projects(client, user) == [project]
    assert client.get(f"/tasks/{task['id']}", headers=user.auth).json()["version"] == 1
    assert client.get(f"/projects/{project['id']}", headers=user.auth).json()["version"] == 1
    if operation == "createUser":
        login = {"email": valid["email"], "password": PASSWORD}
        assert_problem(client.post("/tokens", json=login), "invalid-credentials")


def _unknown_members(count: int) -> dict[str, int]:
    return {f"unknown{number:02d}": number for number in range(count)}


def test_twenty_problems_are_all_listed(client: httpx.Client, user: User) -> None:
    members = _unknown_members(20)
    response = client.post("/projects", json={"name": "p", **members}, headers=user.auth)
    body = assert_validation(response, pointer=[_pointer(name) for name in members])
    assert len(body["errors"]) == 20, body


def test_errors_are_capped_at_twenty(client: httpx.Client, user: User) -> None:
    members = _unknown_members(30)
    response = client.post("/projects", json={"name": "p", **members}, headers=user.auth)
    body = assert_problem(response, "validation-error")
    pointers = [item.get("pointer") for item in body["errors"]]
    assert len(pointers) == 20, body
    # The first 20 found, in whatever order the port found them: 20 different members of the 30.
    assert len(set(pointers)) == 20 and set(pointers) <= {_pointer(name) for name in members}, body


def _many_members(valid: dict[str, Any], count: int) -> bytes:
    """A compact JSON object: `valid` plus `count` unknown members of three characters ("000": 0, ...)."""
    digits = string.digits + string.ascii_letters
    names = (digits[n // 3844] + digits[n // 62 % 62] + digits[n % 62] for n in range(count))
    members = "".join(f',"{name}":0' for name in names)
    return json.dumps(valid, separators=(",", ":")).encode()[:-1] + members.encode() + b"}"


@pytest.mark.parametrize("operation", ["createToken", "createProject"])
def test_a_body_of_100000_unknown_members_gets_a_small_422(
    client: httpx.Client, user: User, project: dict[str, Any], task: dict[str, Any], operation: str
) -> None:
    # The amplification attack of issue 14: without the cap the 422 lists every member, 7 times the
    # request; POST /tokens needs no login.
    method, path, valid, headers = _body_operations(client, user, project, task)[operation]
    content = _many_members(valid, 100_000)
    assert len(content) < 1024 * 1024, len(content)
    response = client.request(method, path, content=content, headers={**headers, **JSON}, timeout=60.0)
    body = assert_problem(response, "validation-error")
    assert len(body["errors"]) == 20, len(body["errors"])
    assert len(response.content) < len(content), (len(response.content), len(content))


def _item_member_order(response: httpx.Response) -> list[list[str]]:
    """The member names of each `errors` item in the order the bytes list them."""
    body = json.loads(response.content, object_pairs_hook=lambda pairs: pairs)
    errors = next(value for name, value in body if name == "errors")
    return [[name for name, _ in item] for item in errors]


def test_error_items_list_the_locator_then_the_detail(client: httpx.Client, user: User) -> None:
    # Compact JSON lists members in the schema's order (spec: Media types, Validation): locator first.
    # A missing member, a wrong type, an unknown member, a query parameter and a header, one each.
    responses = [
        _post_raw(client, user, "/projects", b'{"description": 5, "extra": 1}'),
        client.get("/projects?limit=0", headers=user.auth),
        client.post("/projects", json={"name": "p"}, headers={**user.auth, "Idempotency-Key": "bad key"}),
    ]
    orders = [order for response in responses for order in _item_member_order(response)]
    assert sorted(map(tuple, orders)) == sorted(
        [("pointer", "detail")] * 3 + [("parameter", "detail"), ("header", "detail")]
    ), orders
