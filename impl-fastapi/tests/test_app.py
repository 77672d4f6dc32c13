"""What the black-box suite cannot see: the access log, the last-resort 500, idempotency records, cursors."""

import json

from conftest import register
from sqlalchemy import text
from tasks_api import db, deps
from tasks_api.idempotency import fingerprint
from tasks_api.pagination import decode_cursor, encode_cursor
from tasks_api.routing import IdConvertor


def test_access_log_line_is_json_with_the_request_id(client, caplog):
    token = register(client)
    with caplog.at_level("INFO", logger="tasks_api.access"):
        response = client.get(
            "/projects", headers={"Authorization": f"Bearer {token}", "X-Request-ID": "abc-123"}
        )
    assert response.headers["x-request-id"] == "abc-123"
    line = json.loads(caplog.records[-1].getMessage())
    assert set(line) == {"time", "method", "path", "status", "duration_ms", "request_id"}
    assert (line["method"], line["path"], line["status"], line["request_id"]) == (
        "GET",
        "/projects",
        200,
        "abc-123",
    )
    assert token not in caplog.text


def test_an_unexpected_error_is_a_problem_500_without_traceback(client):
    def broken():
        raise RuntimeError("boom: secret detail")

    client.app.dependency_overrides[deps.get_db] = broken
    response = client.post("/users", json={"email": "a@b.co", "password": "12345678", "name": "n"})
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/internal-error")
    assert "boom" not in response.text and "x-request-id" in response.headers


def test_a_claim_in_flight_is_409_and_an_expired_record_is_replaced(client):
    token = register(client)
    auth = {"Authorization": f"Bearer {token}", "Idempotency-Key": "k1", "Content-Type": "application/json"}
    body = b'{"name": "p"}'
    with db.get_engine().begin() as conn:
        conn.execute(
            text(
                "INSERT INTO idempotency_keys (user_id, idempotency_key, fingerprint, created_at) "
                "VALUES (1, 'k1', :fp, '2026-01-01T00:00:00Z')"
            ),
            {"fp": fingerprint("/projects", body)},
        )
    # Older than 24 hours: deleted when the key is used again, and the request runs.
    assert client.post("/projects", content=body, headers=auth).status_code == 201
    with db.get_engine().begin() as conn:
        conn.execute(text("UPDATE idempotency_keys SET status = NULL"))
    response = client.post("/projects", content=body, headers=auth)
    assert response.status_code == 409 and response.json()["type"].endswith("/idempotency-in-flight")


def test_cursors_round_trip_and_refuse_tampering():
    identity = {"list": "projects", "user": 1, "project": None, "done": None, "priority": None}
    cursor = encode_cursor("k", {**identity, "after": 7})
    assert decode_cursor("k", cursor, identity) == 7
    for bad in (cursor + "x", "x" + cursor, cursor.replace(".", ""), "é.é"):
        try:
            decode_cursor("k", bad, identity)
            raise AssertionError(bad)
        except Exception as exc:
            assert getattr(exc, "slug", None) == "invalid-cursor"
    try:
        decode_cursor("k", cursor, {**identity, "user": 2})
        raise AssertionError
    except Exception as exc:
        assert getattr(exc, "slug", None) == "invalid-cursor"


def test_path_ids_are_1_to_2_pow_53_minus_1_without_leading_zeros():
    import re

    pattern = re.compile(IdConvertor.regex)
    for good in ("1", "9", "10", "9007199254740991", "8999999999999999", "1000000000000000"):
        assert pattern.fullmatch(good), good
    for bad in ("0", "007", "-1", "+1", "1.0", "9007199254740992", "10000000000000000", "abc", ""):
        assert not pattern.fullmatch(bad), bad
