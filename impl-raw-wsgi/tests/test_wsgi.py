"""The application under wsgiref's validator: routing, HEAD, OPTIONS, request ids, access log, CORS, 500."""

import json
import logging

from tasks_api.app import create_app
from tasks_api.views import operations


def test_a_whole_session_passes_the_pep_3333_validator(user):
    project = user.post("/projects", {"name": "Home"})
    assert project.status == 201
    assert project.headers["location"] == "/projects/1"
    assert project.headers["etag"] == '"1"'
    task = user.post("/projects/1/tasks", {"title": "Fix the sink", "due_on": "2026-12-24"})
    assert task.status == 201
    assert task.json()["due_on"] == "2026-12-24"
    assert user.patch("/tasks/1", {"done": True}, headers={"If-Match": '"1"'}).json()["version"] == 2
    assert (
        user.put(
            "/tasks/1",
            {"project_id": 1, "title": "t", "notes": "", "done": False, "priority": "low", "due_on": None},
        ).json()["priority"]
        == "low"
    )
    assert user.get("/projects/1/tasks").json()["items"][0]["version"] == 3
    assert user.get("/tasks/1", headers={"If-None-Match": 'W/"3"'}).status == 304
    assert user.delete("/tasks/1").status == 204
    assert user.delete("/projects/1").status == 204
    assert user.delete("/tokens/current").status == 204
    assert user.get("/users/me").problem_type == "invalid-token"


def test_unknown_paths_and_ids_out_of_range_are_404(client):
    for path in ("/nope", "/projects/", "/tasks/abc", "/tasks/0", "/tasks/007", "/tasks/9007199254740992"):
        result = client.get(path)
        assert (result.status, result.problem_type) == (404, "not-found"), path
        assert result.headers["content-type"] == "application/problem+json"


def test_405_names_the_allowed_methods_before_authentication(client):
    result = client.request("PUT", "/projects")
    assert (result.status, result.problem_type) == (405, "method-not-allowed")
    assert result.headers["allow"] == "GET, HEAD, POST, OPTIONS"


def test_options_answers_204_with_allow_and_no_authentication(client):
    result = client.request("OPTIONS", "/tasks/9")
    assert result.status == 204
    assert result.body == b""
    assert result.headers["allow"] == "GET, HEAD, PUT, PATCH, DELETE, OPTIONS"


def test_head_has_the_headers_of_get_and_no_body(user):
    user.post("/projects", {"name": "Home"})
    get, head = user.get("/projects/1"), user.request("HEAD", "/projects/1")
    assert head.status == 200
    assert head.body == b""
    assert head.headers["content-length"] == get.headers["content-length"] == str(len(get.body))
    assert head.headers["etag"] == get.headers["etag"]


def test_request_id_is_adopted_when_valid_and_replaced_otherwise(client):
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"] == "abc-123"
    for bad in ("", "has space", "x" * 129):
        generated = client.get("/nope", headers={"X-Request-ID": bad}).headers["x-request-id"]
        assert len(generated) == 36 and generated != bad


def test_one_json_access_log_line_per_request(make_client, capsys):
    logger = logging.getLogger("test.access")
    logger.addHandler(logging.StreamHandler())  # stderr, captured by capsys
    logger.setLevel(logging.INFO)
    from tasks_api.middleware import access_log

    app = access_log(
        lambda environ, start: (start("200 OK", [("Content-Type", "text/plain")]), [b"x"])[1], logger
    )
    make_client(app).get("/healthz", headers={"Authorization": "Bearer secret-token"})
    line = capsys.readouterr().err.strip()
    record = json.loads(line)
    assert {"time", "method", "path", "status", "duration_ms", "request_id"} <= set(record)
    assert (record["method"], record["path"], record["status"]) == ("GET", "/healthz", 200)
    assert "secret-token" not in line


def test_cors_for_an_allowed_origin_and_none_for_others(client):
    preflight = client.request(
        "OPTIONS",
        "/projects",
        headers={"Origin": "https://allowed.example", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status == 204
    assert preflight.headers["access-control-allow-origin"] == "https://allowed.example"
    assert preflight.headers["access-control-allow-methods"] == "GET, HEAD, POST, OPTIONS"
    assert preflight.headers["access-control-max-age"] == "600"
    assert preflight.headers["vary"] == "Origin"
    other = client.get("/healthz", headers={"Origin": "https://evil.example"})
    assert other.headers["vary"] == "Origin"
    assert not [name for name in other.headers if name.startswith("access-control-")]


def test_an_unexpected_error_is_a_500_problem_without_traceback(settings, database, make_client, monkeypatch):
    def broken(request):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(operations, "get_health", broken)
    result = make_client(create_app(settings, database)).get("/healthz")
    assert (result.status, result.problem_type) == (500, "internal-error")
    assert b"secret internals" not in result.body
    assert b"Traceback" not in result.body
