"""Every error handler, the Flask defaults we override, request ids, the access log and CORS."""

import json
import logging
import re

import pytest
from flask import Flask
from tasks_api.accesslog import access_log
from tasks_api.routing import MAX_ID, decimal_up_to

JSON = {"Content-Type": "application/json"}


def assert_problem(response, slug: str, status: int) -> dict:
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.json
    assert body["type"] == f"https://tasks-api.example/problems/{slug}"
    assert body["status"] == status and body["title"] and body["detail"]
    return body


@pytest.mark.parametrize("path", ["/nope", "/projects/", "/healthz/", "/projects//tasks", "/static/x"])
def test_unknown_paths_are_problem_404_never_a_redirect(client, path: str) -> None:
    response = client.get(path)
    assert "Location" not in response.headers
    assert_problem(response, "not-found", 404)


@pytest.mark.parametrize("segment", ["0", "007", "-1", "+1", "abc", "9007199254740992", "1.0", "%201"])
def test_path_ids_outside_the_grammar_match_no_route(client, segment: str) -> None:
    assert_problem(client.get(f"/tasks/{segment}"), "not-found", 404)
    assert_problem(client.options(f"/tasks/{segment}"), "not-found", 404)


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_id_past_the_range_is_404_for_every_method(client, method: str) -> None:
    # Werkzeug would answer 405 had the range check been a ValidationError in to_python.
    assert_problem(client.open("/tasks/9007199254740992", method=method), "not-found", 404)
    assert_problem(client.open("/projects/99999999999999999999", method=method), "not-found", 404)


def test_id_regex_is_exactly_the_range() -> None:
    pattern = re.compile(decimal_up_to(MAX_ID))
    for n in (1, 9, 10, 10**15 - 1, 10**15, 8999999999999999, 9006999999999999, MAX_ID - 1, MAX_ID):
        assert pattern.fullmatch(str(n)), n
    for text in ("0", "01", "-1", str(MAX_ID + 1), "9007199254740999", "9100000000000000", str(10**16)):
        assert not pattern.fullmatch(text), text


def test_largest_id_is_routed(client) -> None:
    assert_problem(client.get("/tasks/9007199254740991"), "authentication-required", 401)


def test_405_is_a_problem_with_allow_in_canonical_order(client) -> None:
    response = client.put("/projects")
    assert_problem(response, "method-not-allowed", 405)
    assert response.headers["Allow"] == "GET, HEAD, POST, OPTIONS"
    assert client.head("/users").headers["Allow"] == "POST, OPTIONS"


def test_options_is_204_with_allow_and_no_body(client) -> None:
    response = client.options("/tasks/1")
    assert response.status_code == 204
    assert response.headers["Allow"] == "GET, HEAD, PUT, PATCH, DELETE, OPTIONS"
    assert response.data == b""
    assert "Content-Type" not in response.headers


def test_413_over_one_mib(client, auth) -> None:
    body = b'{"name": "' + b"x" * (1024 * 1024) + b'"}'
    response = client.post("/projects", data=body, headers={**auth, "Content-Type": "text/plain"})
    assert_problem(response, "payload-too-large", 413)


def test_body_of_exactly_one_mib_is_parsed(client, auth) -> None:
    head, tail = b'{"name": "p", "description": "', b'"}'
    body = head + b"d" * (1024 * 1024 - len(head) - len(tail)) + tail
    response = client.post("/projects", data=body, headers={**auth, **JSON})
    assert assert_problem(response, "validation-error", 422)["errors"][0]["pointer"] == "/description"


def test_500_is_a_problem_without_traceback(make_app) -> None:
    app: Flask = make_app()

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret internals")

    response = app.test_client().get("/boom")
    body = assert_problem(response, "internal-error", 500)
    assert "secret" not in response.get_data(as_text=True) and "Traceback" not in body["detail"]
    assert response.headers["X-Request-ID"]


@pytest.mark.parametrize(
    "body",
    [
        b'{"name": NaN}',
        b'{"name": Infinity}',
        b'{"name": "\\ud800"}',
        b"\xff",
        b"",
        b'{"name": "p",}',
        b"[" * 100000,
    ],
)
def test_malformed_json(client, auth, body: bytes) -> None:
    assert_problem(client.post("/projects", data=body, headers={**auth, **JSON}), "malformed-json", 400)


def test_huge_integer_is_a_validation_error(client, auth) -> None:
    project = client.post("/projects", json={"name": "p"}, headers=auth).json
    task = client.post(f"/projects/{project['id']}/tasks", json={"title": "t"}, headers=auth).json
    body = b'{"project_id": ' + b"9" * 5000 + b"}"
    response = client.patch(f"/tasks/{task['id']}", data=body, headers={**auth, **JSON})
    assert assert_problem(response, "validation-error", 422)["errors"][0]["pointer"] == "/project_id"


def test_415_before_400(client, auth) -> None:
    response = client.post(
        "/projects", data=b"{", headers={**auth, "Content-Type": "application/problem+json"}
    )
    assert_problem(response, "unsupported-media-type", 415)


def test_readiness_is_503_when_the_database_is_unreachable(make_app) -> None:
    for url in ("postgresql://postgres@127.0.0.1:1/none", "sqlite:////nonexistent/missing-dir/x.db"):
        response = make_app(DATABASE_URL=url).test_client().get("/readyz")
        assert_problem(response, "service-unavailable", 503)


def test_other_requests_are_503_when_the_database_is_unreachable(make_app) -> None:
    client = make_app(DATABASE_URL="postgresql://postgres@127.0.0.1:1/none").test_client()
    response = client.get("/users/me", headers={"Authorization": "Bearer " + "a" * 43})
    assert_problem(response, "service-unavailable", 503)
    assert client.get("/healthz").status_code == 200  # liveness never touches the database


def test_request_id_is_echoed_or_made(client) -> None:
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    for bad in ("", "has space", "x" * 129, "é"):
        made = client.get("/nope", headers={"X-Request-ID": bad}).headers["X-Request-ID"]
        assert made != bad and len(made) == 36


def test_access_log_line(client) -> None:
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    access_log.addHandler(handler)
    try:
        client.get("/projects?cursor=secret", headers={"X-Request-ID": "rid-1", "Authorization": "Bearer t"})
    finally:
        access_log.removeHandler(handler)
    line = json.loads(records[-1].getMessage())
    assert line["method"] == "GET" and line["path"] == "/projects" and line["status"] == 401
    assert line["request_id"] == "rid-1" and isinstance(line["duration_ms"], float)
    assert line["time"].endswith("Z") and "Bearer" not in records[-1].getMessage()


def test_cors_preflight_and_foreign_origin(client) -> None:
    preflight = client.options(
        "/projects", headers={"Origin": "https://allowed.example", "Access-Control-Request-Method": "POST"}
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://allowed.example"
    assert preflight.headers["Access-Control-Allow-Methods"] == "GET, HEAD, POST, OPTIONS"
    assert preflight.headers["Access-Control-Max-Age"] == "600"
    assert preflight.headers["Vary"] == "Origin"
    foreign = client.get("/healthz", headers={"Origin": "https://evil.example"})
    assert not [name for name, _ in foreign.headers if name.lower().startswith("access-control")]
    assert foreign.headers["Vary"] == "Origin"


def test_no_cors_headers_without_origins(make_app) -> None:
    response = (
        make_app(CORS_ALLOW_ORIGINS="").test_client().get("/healthz", headers={"Origin": "https://a.example"})
    )
    assert "Vary" not in response.headers and "Access-Control-Allow-Origin" not in response.headers


def test_openapi_is_served_byte_for_byte(client, app: Flask) -> None:
    response = client.get("/openapi.yaml")
    assert response.headers["Content-Type"] == "application/yaml"
    assert response.data == (app.config["SPEC_DIR"] / "openapi.yaml").read_bytes()
