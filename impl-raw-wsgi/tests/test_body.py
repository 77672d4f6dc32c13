"""Request bodies: a short body is 400 and writes nothing, 413 before 415 before 400, strict JSON."""

import io

import pytest
from sqlalchemy import func, select
from tasks_api.body import MAX_BODY_BYTES
from tasks_api.models import projects


def count_projects(database):
    with database.read() as connection:
        return connection.execute(select(func.count()).select_from(projects)).scalar_one()


def test_a_body_shorter_than_its_content_length_is_400_and_nothing_is_written(user, database):
    result = user.request(
        "POST",
        "/projects",
        body=b'{"name": "Home"}',
        headers={"Content-Type": "application/json"},
        environ={"CONTENT_LENGTH": "100"},  # the client declared 100 bytes and sent 16
    )
    assert (result.status, result.problem_type) == (400, "bad-request")
    assert count_projects(database) == 0


def test_a_declared_length_over_1_mib_is_refused_before_reading(user):
    class Unreadable(io.BytesIO):
        def read(self, *args):
            raise AssertionError("the body must not be read")

    result = user.request(
        "POST",
        "/projects",
        headers={"Content-Type": "text/plain"},  # 413 comes before 415
        environ={"CONTENT_LENGTH": str(MAX_BODY_BYTES + 1), "wsgi.input": Unreadable()},
    )
    assert (result.status, result.problem_type) == (413, "payload-too-large")


def test_a_chunked_body_is_read_to_its_end_and_refused_past_the_limit(user, database):
    def chunked(body):  # what gunicorn hands over for Transfer-Encoding: chunked
        return {"wsgi.input": io.BytesIO(body), "wsgi.input_terminated": True}

    headers = {"Content-Type": "application/json"}
    ok = user.request("POST", "/projects", headers=headers, environ=chunked(b'{"name":"Home"}'))
    assert ok.status == 201
    big = b'{"name":"' + b"x" * MAX_BODY_BYTES + b'"}'
    refused = user.request("POST", "/projects", headers=headers, environ=chunked(big))
    assert (refused.status, refused.problem_type) == (413, "payload-too-large")
    assert count_projects(database) == 1


@pytest.mark.parametrize(
    "content_type", [None, "text/plain", "application/jsonx", "application/merge-patch+json"]
)
def test_post_needs_application_json(user, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    result = user.request("POST", "/projects", body=b'{"name":"Home"}', headers=headers)
    assert (result.status, result.problem_type) == (415, "unsupported-media-type")


def test_media_type_parameters_are_ignored_and_patch_takes_merge_patch(user):
    headers = {"Content-Type": "Application/JSON; charset=utf-8"}
    assert user.request("POST", "/projects", body=b'{"name":"Home"}', headers=headers).status == 201
    headers = {"Content-Type": "application/merge-patch+json"}
    assert user.request("PATCH", "/projects/1", body=b'{"name":"Away"}', headers=headers).status == 200


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b'{"name": NaN}',
        b'{"name": Infinity}',
        b"-Infinity",
        b'{"name":"\\ud800"}',
        b'{"name":"\xff"}',
    ],
)
def test_malformed_json_is_400(user, body):
    result = user.request("POST", "/projects", body=body, headers={"Content-Type": "application/json"})
    assert (result.status, result.problem_type) == (400, "malformed-json")


def test_deep_nesting_and_huge_integers_are_answered_not_crashed(user):
    headers = {"Content-Type": "application/json"}
    deep = user.request("POST", "/projects", body=b"[" * 100_000 + b"]" * 100_000, headers=headers)
    assert (deep.status, deep.problem_type) == (400, "malformed-json")
    user.post("/projects", {"name": "Home"})
    # Valid JSON, beyond Python's 4300-digit conversion guard: a 422, not a parse error or a 500.
    huge = user.request(
        "POST", "/projects/1/tasks", body=b'{"title":"t","done":' + b"9" * 5000 + b"}", headers=headers
    )
    assert (huge.status, huge.json()["errors"]) == (
        422,
        [{"pointer": "/done", "detail": "must be true or false"}],
    )


def test_integer_text_past_max_integer_digits_is_never_converted(user, monkeypatch):
    from tasks_api import body
    from tasks_api.schemas import MAX_INTEGER_DIGITS

    converted = []
    monkeypatch.setattr(body, "int", lambda text: converted.append(text) or int(text), raising=False)
    headers = {"Content-Type": "application/json"}
    user.post("/projects", {"name": "Home"})
    for digits in (MAX_INTEGER_DIGITS, MAX_INTEGER_DIGITS + 1):
        result = user.request(
            "PUT",
            "/tasks/1",
            body=b'{"project_id":' + b"9" * digits + b',"title":"t","notes":"","done":false,'
            b'"priority":"low","due_on":null}',
            headers=headers,
        )
        assert result.status in (404, 422)  # no such task or out of range: never a 400 or a 500
    # A declared length of more digits is 413 without conversion either.
    long_length = user.request("POST", "/projects", headers=headers, environ={"CONTENT_LENGTH": "9" * 25})
    assert (long_length.status, long_length.problem_type) == (413, "payload-too-large")
    # (Content-Length values are converted too: the longest text int() saw is the 20-digit id.)
    assert max(len(text) for text in converted) == MAX_INTEGER_DIGITS
