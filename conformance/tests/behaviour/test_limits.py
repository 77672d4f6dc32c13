"""Body size limit (413), nesting depth and media types (415) (spec: Conventions, Media types)."""

import json
from typing import Any

import httpx
import pytest
from conformance.api import User, assert_json, assert_problem, assert_validation, list_all_projects
from conformance.rawhttp import large_request

from conformance import rawhttp

MIB = 1024 * 1024


def _padded_project(size: int) -> bytes:
    """A JSON project body of exactly `size` bytes (its description is far too long, which 413 beats)."""
    head, tail = b'{"name": "p", "description": "', b'"}'
    return head + b"d" * (size - len(head) - len(tail)) + tail


def test_body_over_1_mib_is_413_and_creates_nothing(client: httpx.Client, base_url: str, user: User) -> None:
    headers = {**user.auth, "Content-Type": "application/json"}
    response = large_request(base_url, "POST", "/projects", headers, _padded_project(MIB + 1))
    assert_problem(response, "payload-too-large")
    assert list_all_projects(client, user) == []


def test_body_of_exactly_1_mib_is_read(client: httpx.Client, user: User) -> None:
    # At the limit the body is parsed and validated: too long a description, not too large a body.
    body = _padded_project(MIB)
    response = client.post(
        "/projects", content=body, headers={**user.auth, "Content-Type": "application/json"}
    )
    assert_validation(response, pointer=["/description"])


def test_declared_length_over_limit_is_refused_before_the_body(
    address: tuple[str, int], client: httpx.Client, user: User
) -> None:
    # Only the head is sent: a server that waited for the 2 MiB body would time out instead of answering.
    headers = {**user.auth, "Content-Type": "application/json", "Content-Length": str(2 * MIB)}
    head = rawhttp.request_bytes("POST", "/projects", f"{address[0]}:{address[1]}", headers)
    with rawhttp.connect(address) as sock:
        rawhttp.send_all(sock, head)
        response = rawhttp.as_httpx(rawhttp.Reader(sock).read_response())
    assert_problem(response, "payload-too-large")
    assert list_all_projects(client, user) == []


def test_chunked_body_over_limit_is_413_and_creates_nothing(
    address: tuple[str, int], client: httpx.Client, user: User
) -> None:
    headers = {**user.auth, "Content-Type": "application/json", "Transfer-Encoding": "chunked"}
    head = rawhttp.request_bytes("POST", "/projects", f"{address[0]}:{address[1]}", headers)
    # The server must stop reading once the body passes 1 MiB; the client stops sending when it answers.
    body = rawhttp.chunked(_padded_project(MIB + 64 * 1024))
    response = rawhttp.as_httpx(rawhttp.send_streaming(address, head + body))
    assert_problem(response, "payload-too-large")
    assert list_all_projects(client, user) == []


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/jsonx",
        "application/merge-patch+json",
        "application/problem+json",
        "json",
    ],
)
def test_post_with_other_media_type_is_415(client: httpx.Client, user: User, content_type: str) -> None:
    response = client.post(
        "/projects", content=b'{"name": "p"}', headers={**user.auth, "Content-Type": content_type}
    )
    assert_problem(response, "unsupported-media-type")
    assert list_all_projects(client, user) == []


def test_post_without_content_type_is_415(client: httpx.Client, user: User) -> None:
    response = client.post("/projects", content=b'{"name": "p"}', headers=user.auth)
    assert "content-type" not in response.request.headers
    assert_problem(response, "unsupported-media-type")


def test_registration_without_json_is_415(client: httpx.Client) -> None:
    response = client.post(
        "/users", content=b"email=a@b.c", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert_problem(response, "unsupported-media-type")


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", "application/json;charset=UTF-8"]
)
def test_json_media_type_with_parameters(client: httpx.Client, user: User, content_type: str) -> None:
    response = client.post(
        "/projects", content=b'{"name": "p"}', headers={**user.auth, "Content-Type": content_type}
    )
    assert_json(response, 201)


def test_merge_patch_is_accepted_on_patch(client: httpx.Client, user: User, task: dict[str, Any]) -> None:
    headers = {**user.auth, "Content-Type": "application/merge-patch+json"}
    response = client.patch(f"/tasks/{task['id']}", content=b'{"due_on": "2026-01-02"}', headers=headers)
    assert assert_json(response, 200)["due_on"] == "2026-01-02"
    project = client.patch(f"/projects/{task['project_id']}", content=b'{"name": "m"}', headers=headers)
    assert assert_json(project, 200)["name"] == "m"


def test_merge_patch_is_refused_on_put(client: httpx.Client, user: User, task: dict[str, Any]) -> None:
    body = (
        f'{{"project_id": {task["project_id"]}, "title": "t", "notes": "", "done": false, "priority": "low", '
        '"due_on": null}'
    ).encode()
    headers = {**user.auth, "Content-Type": "application/merge-patch+json"}
    assert_problem(
        client.put(f"/tasks/{task['id']}", content=body, headers=headers), "unsupported-media-type"
    )
    assert (
        client.put(
            f"/tasks/{task['id']}", content=body, headers={**user.auth, "Content-Type": "application/json"}
        ).status_code
        == 200
    )


@pytest.mark.parametrize("content_type", ["text/plain", "application/json-patch+json", None])
def test_patch_with_other_media_type_is_415(
    client: httpx.Client, user: User, task: dict[str, Any], content_type: str | None
) -> None:
    headers = {**user.auth} if content_type is None else {**user.auth, "Content-Type": content_type}
    response = client.patch(f"/tasks/{task['id']}", content=b'{"title": "x"}', headers=headers)
    assert_problem(response, "unsupported-media-type")
    # RFC 5789 3.1: a 415 to a PATCH names the patch formats the path accepts.
    assert response.headers.get_list("accept-patch") == ["application/json, application/merge-patch+json"]
    assert client.get(f"/tasks/{task['id']}", headers=user.auth).json()["version"] == 1


def test_bodies_of_bodiless_operations_are_ignored(
    client: httpx.Client, user: User, task: dict[str, Any]
) -> None:
    junk = {"content": b"{not json", "headers": {**user.auth, "Content-Type": "text/plain"}}
    assert client.request("GET", f"/tasks/{task['id']}", **junk).status_code == 200
    assert client.request("GET", "/projects", **junk).status_code == 200
    assert (
        client.request(
            "OPTIONS", "/projects", content=b"{", headers={"Content-Type": "text/plain"}
        ).status_code
        == 204
    )
    response = client.request("DELETE", f"/tasks/{task['id']}", **junk)
    assert response.status_code == 204


# JSON nesting: at most 32 arrays or objects deep (spec: Media types). The top-level value is level 1.
def _nested_in_name(levels: int) -> bytes:
    """A project body whose `name` holds arrays down to `levels` levels, counting the body object."""
    return b'{"name": ' + b"[" * (levels - 1) + b"]" * (levels - 1) + b"}"


def _nested_objects(levels: int) -> bytes:
    """`levels` objects, each the only member "a" of the one around it."""
    return b'{"a": ' * (levels - 1) + b"{}" + b"}" * (levels - 1)


def _post(client: httpx.Client, user: User, body: bytes) -> httpx.Response:
    return client.post("/projects", content=body, headers={**user.auth, "Content-Type": "application/json"})


@pytest.mark.parametrize(
    "body",
    [_nested_in_name(33), b"[" * 33 + b"]" * 33, _nested_objects(33), _nested_in_name(1000)],
    ids=["33-arrays-in-name", "33-arrays", "33-objects", "1000-arrays-in-name"],
)
def test_json_nested_deeper_than_32_is_malformed(client: httpx.Client, user: User, body: bytes) -> None:
    assert_problem(_post(client, user, body), "malformed-json")
    assert list_all_projects(client, user) == []


def test_json_nested_32_deep_is_validated(client: httpx.Client, user: User) -> None:
    # 32 levels are within the limit, so the body is JSON and its rules apply: `name` must be a string;
    # an array body is not an object; an unknown member is unknown however deep its value.
    assert_validation(_post(client, user, _nested_in_name(32)), pointer=["/name"])
    assert_validation(_post(client, user, b"[" * 32 + b"]" * 32), pointer=[""])
    assert_validation(_post(client, user, _nested_objects(32)), pointer=["/a", "/name"])


def test_a_mebibyte_of_open_brackets_is_malformed(client: httpx.Client, user: User) -> None:
    # Exactly at the size limit, so the body is read: it must cost the parser neither its stack nor a 500.
    assert_problem(_post(client, user, b"[" * MIB), "malformed-json")
    assert_problem(_post(client, user, b'{"a":' * (MIB // 5)), "malformed-json")


def test_brackets_inside_strings_are_not_nesting(client: httpx.Client, user: User) -> None:
    body = json.dumps({"name": "[" * 100, "description": '{"a": ' * 300 + "\\" + '"' + "[" * 100}).encode()
    created = assert_json(_post(client, user, body), 201)
    assert created["name"] == "[" * 100
