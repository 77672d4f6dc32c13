"""Validation, conditional writes, pagination cursors and idempotency, through the whole application."""

import base64
import json

import pytest
from tasks_api.routing import MAX_ID


def errors_of(result):
    assert (result.status, result.problem_type) == (422, "validation-error"), result.body
    return result.json()["errors"]


def test_every_problem_is_reported_at_once(user):
    result = user.post(
        "/projects/1/tasks",
        {"title": "", "done": 0, "priority": "urgent", "due_on": "2026-02-30", "id": 3},
        headers={"Idempotency-Key": ""},
    )
    assert {
        next(iter(set(e) - {"detail"})) + "=" + (e.get("pointer") or e.get("header"))
        for e in errors_of(result)
    } == {
        "header=Idempotency-Key",
        "pointer=/title",
        "pointer=/done",
        "pointer=/priority",
        "pointer=/due_on",
        "pointer=/id",
    }


@pytest.mark.parametrize("value", [True, 1.0, "1", 0, MAX_ID + 1])
def test_ids_are_strict_json_integers(user, value):
    user.post("/projects", {"name": "Home"})
    user.post("/projects/1/tasks", {"title": "t"})
    assert errors_of(user.patch("/tasks/1", {"project_id": value}))[0]["pointer"] == "/project_id"


def test_a_body_that_is_not_an_object_points_at_the_root(user):
    assert errors_of(user.post("/projects", [1]))[0]["pointer"] == ""


def test_emails_are_lower_cased_and_unique_regardless_of_case(client):
    first = client.post("/users", {"email": "Ada@Example.COM", "password": "12345678", "name": "A"})
    assert first.json()["email"] == "ada@example.com"
    taken = client.post("/users", {"email": "ADA@example.com", "password": "12345678", "name": "B"})
    assert (taken.status, taken.problem_type) == (409, "email-taken")
    assert errors_of(
        client.post("/users", {"email": "ada@example.com\n", "password": "12345678", "name": "C"})
    )


def test_bad_credentials_are_401_with_the_bearer_challenge_and_tokens_are_not_cached(user):
    for email in ("ada@example.com", "nobody@example.com"):
        result = user.post("/tokens", {"email": email, "password": "wrong password"})
        assert (result.status, result.problem_type) == (401, "invalid-credentials")
        assert result.headers["www-authenticate"] == 'Bearer realm="tasks"'
    issued = user.post("/tokens", {"email": "ada@example.com", "password": "correct horse battery"})
    assert (issued.status, issued.headers["cache-control"]) == (201, "no-store")


def test_paths_that_serve_patch_name_their_patch_formats(user):
    accept_patch = "application/json, application/merge-patch+json"
    assert user.request("OPTIONS", "/projects/1").headers["accept-patch"] == accept_patch
    assert "accept-patch" not in user.request("OPTIONS", "/projects").headers
    user.post("/projects", {"name": "p"})
    refused = user.request("PATCH", "/projects/1", body=b"{}", headers={"Content-Type": "text/plain"})
    assert (refused.status, refused.headers["accept-patch"]) == (415, accept_patch)


@pytest.mark.parametrize(
    ("authorization", "problem"),
    [
        (None, "authentication-required"),
        ("Basic YTpi", "authentication-required"),
        ("Bearer", "invalid-token"),
        ("Bearer  " + "a" * 43, "invalid-token"),
        ("Bearer " + "a" * 42, "invalid-token"),
        ("bearer " + "a" * 43, "invalid-token"),
    ],
)
def test_authentication_problems(client, authorization, problem):
    headers = {"Authorization": authorization} if authorization else {}
    result = client.get("/users/me", headers=headers)
    assert (result.status, result.problem_type) == (401, problem)
    assert result.headers["www-authenticate"].startswith('Bearer realm="tasks"')


def test_order_of_checks_401_before_body_before_422_before_404(user):
    json_type = {"Content-Type": "application/json"}
    assert user.post("/projects/99/tasks", None, body=b"{", headers={"Authorization": "x"}).status == 401
    assert user.post("/projects/99/tasks", None, body=b"{").problem_type == "unsupported-media-type"
    assert (
        user.post("/projects/99/tasks", None, body=b"{", headers=json_type).problem_type == "malformed-json"
    )
    assert user.post("/projects/99/tasks", {}).problem_type == "validation-error"
    assert user.post("/projects/99/tasks", {"title": "t"}).problem_type == "not-found"


def test_another_users_resources_do_not_exist(client):
    client.login("ada@example.com")
    client.post("/projects", {"name": "Ada's"})
    client.post("/projects/1/tasks", {"title": "t"})
    client.login("bob@example.com")
    for method, path in [
        ("GET", "/projects/1"),
        ("GET", "/tasks/1"),
        ("DELETE", "/tasks/1"),
        ("GET", "/projects/1/tasks"),
    ]:
        assert client.request(method, path, headers={"If-Match": "*"}).status == 404
    own = client.post("/projects", {"name": "Bob's"}).json()["id"]
    client.post(f"/projects/{own}/tasks", {"title": "t"})
    # Moving a task into someone else's project is a business rule: 422 at /project_id.
    assert errors_of(client.patch("/tasks/2", {"project_id": 1}))[0]["pointer"] == "/project_id"


def test_if_match_is_strong_and_a_failed_precondition_changes_nothing(user):
    user.post("/projects", {"name": "Home"})
    for tag in ('W/"1"', '"2"', "garbage"):
        result = user.patch("/projects/1", {"name": "Away"}, headers={"If-Match": tag})
        assert (result.status, result.problem_type) == (412, "precondition-failed")
    assert user.get("/projects/1").json() | {} == user.get("/projects/1").json()
    assert user.get("/projects/1").json()["name"] == "Home"
    assert user.patch("/projects/1", {"name": "Away"}, headers={"If-Match": '"7", "1"'}).status == 200
    assert user.delete("/projects/1", headers={"If-Match": '"1"'}).status == 412
    assert user.delete("/projects/1", headers={"If-Match": "*"}).status == 204


def test_an_empty_patch_is_a_write_and_patches_touch_only_their_members(user):
    user.post("/projects", {"name": "Home", "description": "d"})
    assert user.patch("/projects/1", {}).json()["version"] == 2
    user.patch("/projects/1", {"name": "Away"})
    assert user.get("/projects/1").json()["description"] == "d"
    user.post("/projects/1/tasks", {"title": "t", "due_on": "2026-12-24"})
    assert user.patch("/tasks/1", {"due_on": None}).json()["due_on"] is None
    assert errors_of(user.patch("/tasks/1", {"title": None}))[0]["pointer"] == "/title"


def test_pages_link_and_cursors(user):
    user.post("/projects", {"name": "Home"})
    for index in range(5):
        user.post("/projects/1/tasks", {"title": f"t{index}", "done": index % 2 == 0})
    first = user.get("/projects/1/tasks", query="limit=2&done=true&priority=normal&x=1")
    cursor = first.json()["next_cursor"]
    assert [item["title"] for item in first.json()["items"]] == ["t0", "t2"]
    assert (
        first.headers["link"]
        == f'</projects/1/tasks?limit=2&done=true&priority=normal&cursor={cursor}>; rel="next"'
    )
    last = user.get("/projects/1/tasks", query=f"done=true&priority=normal&cursor={cursor}")
    assert [item["title"] for item in last.json()["items"]] == ["t4"]
    assert last.json()["next_cursor"] is None and "link" not in last.headers
    # The same cursor with another filter, or tampered with, is refused.
    assert user.get(
        "/projects/1/tasks", query=f"done=false&priority=normal&cursor={cursor}"
    ).problem_type == ("invalid-cursor")
    payload, mac = cursor.split(".")
    state = json.loads(base64.urlsafe_b64decode(payload + "=="))
    forged = base64.urlsafe_b64encode(json.dumps({**state, "after": 0}).encode()).rstrip(b"=").decode()
    assert (
        user.get("/projects/1/tasks", query=f"done=true&priority=normal&cursor={forged}.{mac}").status == 400
    )


@pytest.mark.parametrize(
    "query",
    ["limit=0", "limit=101", "limit=1.5", "limit=1&limit=2", "done=True", "cursor=", "limit=" + "9" * 21],
)
def test_bad_list_parameters_are_422(user, query):
    assert errors_of(user.get("/projects/1/tasks", query=query))[0]["parameter"]


def test_idempotent_creates_replay_the_stored_bytes(user):
    user.post("/projects", {"name": "Home"})
    headers = {"Idempotency-Key": "k-1"}
    first = user.post("/projects/1/tasks", {"title": "t"}, headers=headers)
    again = user.post("/projects/1/tasks", {"title": "t"}, headers=headers)
    assert (first.status, again.status) == (201, 201)
    assert again.body == first.body
    assert again.headers["idempotent-replayed"] == "true" and "idempotent-replayed" not in first.headers
    assert (again.headers["location"], again.headers["etag"]) == (
        first.headers["location"],
        first.headers["etag"],
    )
    other = user.post("/projects/1/tasks", {"title": "other"}, headers=headers)
    assert (other.status, other.problem_type) == (422, "idempotency-key-reused")
    # The same key in another list is another request (the fingerprint covers the path).
    assert user.post("/projects", {"title": "t"}, headers=headers).problem_type == "validation-error"


def test_a_failed_create_frees_its_idempotency_key(user, database, monkeypatch):
    from tasks_api import outbox

    user.post("/projects", {"name": "Home"})
    real_lock_owner = outbox.lock_owner

    def project_vanishes(connection, user_id, project_id=None):
        real_lock_owner(connection, user_id, project_id)
        return False  # the check inside the create's transaction: the project is gone

    monkeypatch.setattr(outbox, "lock_owner", project_vanishes)
    assert user.post("/projects/1/tasks", {"title": "t"}, headers={"Idempotency-Key": "k"}).status == 404
    monkeypatch.setattr(outbox, "lock_owner", real_lock_owner)
    retry = user.post("/projects/1/tasks", {"title": "t"}, headers={"Idempotency-Key": "k"})
    assert retry.status == 201 and "idempotent-replayed" not in retry.headers
