"""Django's own answers turned into problem+json: 404, 405, 500, 400 (Host), 413; HEAD; the access log."""

import json
import logging

from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse
from django.test import RequestFactory
from tasks_api import errors
from tasks_api.middleware import HostRequiredMiddleware
from tasks_api.views import operations


def _problem(response, slug, status):
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    body = json.loads(response.content)
    assert body["type"] == errors.PROBLEM_BASE + slug and body["status"] == status
    assert body["title"] == errors.PROBLEMS[slug][1]
    return body


def test_unknown_paths_and_bad_ids_are_404_without_redirects(client):
    for path in ("/nope", "/projects/", "/tasks/0", "/tasks/007", "/tasks/9007199254740992", "/tasks/-1"):
        _problem(client.get(path), "not-found", 404)


def test_405_carries_allow(client):
    response = client.put("/projects")
    _problem(response, "method-not-allowed", 405)
    assert response["Allow"] == "GET, HEAD, POST, OPTIONS"


def test_unhandled_exception_is_a_500_problem_without_traceback(client, monkeypatch, caplog):
    def boom(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(operations, "json_response", boom)
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = client.get("/healthz")
    body = _problem(response, "internal-error", 500)
    assert "secret internals" not in response.content.decode() and "Traceback" not in body["detail"]
    assert response["X-Request-ID"]
    assert any("secret internals" in str(record.exc_info) for record in caplog.records)  # logged, not sent


def test_host_outside_allowed_hosts_is_a_400_problem(client):
    response = client.get("/healthz", HTTP_HOST="evil.example")
    _problem(response, "bad-request", 400)
    # CommonMiddleware raised it, so its process_response never set the length: handler400 does.
    assert response["Content-Length"] == str(len(response.content))


def test_an_http_1_1_request_without_host_is_a_400_problem():
    # CommonMiddleware's get_host() would fall back to SERVER_NAME and pass it; HostRequiredMiddleware not.
    request = RequestFactory().get("/healthz", SERVER_PROTOCOL="HTTP/1.1")
    request.META.pop("HTTP_HOST", None)  # RequestFactory sends none; a bare socket can do the same
    served = HostRequiredMiddleware(lambda r: HttpResponse("served"))
    _problem(served(request), "bad-request", 400)
    request.META["SERVER_PROTOCOL"] = "HTTP/1.0"  # HTTP/1.0 has no Host requirement
    assert served(request).content == b"served"


def test_handler400_maps_request_data_too_big_to_413():
    request = RequestFactory().post("/projects")
    _problem(errors.bad_request(request, RequestDataTooBig("big")), "payload-too-large", 413)


def test_head_has_the_get_headers_and_no_body(client):
    get, head = client.get("/openapi.yaml"), client.head("/openapi.yaml")
    assert head.status_code == 200 and head.content == b""
    assert head["Content-Length"] == get["Content-Length"] == str(len(get.content))
    assert head["Content-Type"] == "application/yaml"


def test_no_content_responses_have_no_content_type(client):
    response = client.options("/projects")
    assert response.status_code == 204 and "Content-Type" not in response
    assert "Content-Length" not in response  # CommonMiddleware sets one; a 204 must not carry it


def test_every_other_response_has_its_content_length(client):
    response = client.get("/healthz")
    assert response["Content-Length"] == str(len(response.content))


def test_access_log_is_one_json_line_with_the_request_id(client, caplog):
    with caplog.at_level(logging.INFO, logger="tasks_api.access"):
        response = client.get("/nope", HTTP_X_REQUEST_ID="trace-me", HTTP_AUTHORIZATION="Bearer secret")
    assert response["X-Request-ID"] == "trace-me"
    (record,) = [r for r in caplog.records if r.name == "tasks_api.access"]
    line = json.loads(record.getMessage())
    assert {"time", "method", "path", "status", "duration_ms", "request_id"} <= line.keys()
    assert (line["method"], line["path"], line["status"], line["request_id"]) == (
        "GET",
        "/nope",
        404,
        "trace-me",
    )
    assert "secret" not in record.getMessage()
