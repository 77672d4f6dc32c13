"""Shared formats: cursors, ETags, idempotency fingerprints and records, conditional writes."""

import hashlib
import json

import pytest
from sqlalchemy import text
from tasks_api.conditional import expected_versions, none_match
from tasks_api.errors import ApiError
from tasks_api.pagination import _b64decode, decode_cursor, encode_cursor

SCOPE = {"list": "tasks", "user": 1, "project": 7, "done": False, "priority": None}


def test_cursor_round_trip_and_format() -> None:
    cursor = encode_cursor("k", SCOPE, 42)
    payload, mac = cursor.split(".")
    assert json.loads(_b64decode(payload)) == {**SCOPE, "after": 42}
    assert len(mac) == 43 and "=" not in cursor
    assert decode_cursor("k", cursor, SCOPE) == 42


@pytest.mark.parametrize(
    "scope_change",
    [{"user": 2}, {"project": 8}, {"done": None}, {"done": True}, {"priority": "low"}, {"list": "projects"}],
)
def test_cursor_of_another_scope_is_invalid(scope_change: dict) -> None:
    cursor = encode_cursor("k", SCOPE, 42)
    with pytest.raises(ApiError) as raised:
        decode_cursor("k", cursor, {**SCOPE, **scope_change})
    assert raised.value.slug == "invalid-cursor"


def test_cursor_with_another_key_or_tampered_is_invalid() -> None:
    cursor = encode_cursor("k", SCOPE, 42)
    for bad in (cursor + "A", "x" + cursor, cursor.replace(".", "="), cursor.split(".")[0]):
        with pytest.raises(ApiError):
            decode_cursor("k", bad, SCOPE)
    with pytest.raises(ApiError):
        decode_cursor("other", cursor, SCOPE)


def test_entity_tag_comparisons() -> None:
    assert none_match('W/"3"', 3) and none_match('"1", "3"', 3) and none_match("*", 3)
    assert not none_match('"03"', 3) and not none_match("3", 3) and not none_match(None, 3)
    assert expected_versions('"3", W/"4", "05", "x"') == {3}
    assert expected_versions("*") is None and expected_versions(None) is None
    assert expected_versions('W/"3"') == set()


def test_idempotency_record_holds_fingerprint_and_exact_response(client, auth, app) -> None:
    body = b'{"name":  "p"}'
    headers = {**auth, "Content-Type": "application/json", "Idempotency-Key": "key-1"}
    first = client.post("/projects", data=body, headers=headers)
    second = client.post("/projects", data=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert "Idempotent-Replayed" not in first.headers and second.headers["Idempotent-Replayed"] == "true"
    assert first.data == second.data and first.headers["ETag"] == second.headers["ETag"]
    with app.extensions["tasks_api.engine"].connect() as connection:
        record = connection.execute(text("SELECT * FROM idempotency_keys")).one()
    assert record.fingerprint == hashlib.sha256(b"POST /projects\n" + body).hexdigest()
    assert record.status == 201 and record.response_body.encode() == first.data
    assert record.location == first.headers["Location"] and record.etag == '"1"'


def test_failed_create_releases_the_key(client, auth, app) -> None:
    headers = {**auth, "Idempotency-Key": "key-2"}
    assert client.post("/projects/999/tasks", json={"title": "t"}, headers=headers).status_code == 404
    with app.extensions["tasks_api.engine"].connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM idempotency_keys")).scalar() == 0


def test_claimed_key_is_in_flight(client, auth, app) -> None:
    with app.extensions["tasks_api.engine"].begin() as connection:
        connection.execute(
            text(
                "INSERT INTO idempotency_keys (user_id, idempotency_key, fingerprint, created_at) "
                "VALUES (1, 'busy', :fp, '2999-01-01T00:00:00Z')"
            ),
            {"fp": hashlib.sha256(b'POST /projects\n{"name": "p"}').hexdigest()},
        )
    headers = {**auth, "Content-Type": "application/json", "Idempotency-Key": "busy"}
    response = client.post("/projects", data=b'{"name": "p"}', headers=headers)
    assert response.status_code == 409 and response.json["type"].endswith("/idempotency-in-flight")


def test_expired_record_is_forgotten(client, auth, app) -> None:
    with app.extensions["tasks_api.engine"].begin() as connection:
        connection.execute(
            text(
                "INSERT INTO idempotency_keys (user_id, idempotency_key, fingerprint, status, created_at) "
                "VALUES (1, 'old', 'other', 201, '2000-01-01T00:00:00Z')"
            )
        )
    response = client.post("/projects", json={"name": "p"}, headers={**auth, "Idempotency-Key": "old"})
    assert response.status_code == 201 and "Idempotent-Replayed" not in response.headers


def test_patch_changes_only_the_named_members_and_bumps_the_version(client, auth) -> None:
    project = client.post("/projects", json={"name": "p"}, headers=auth).json
    task = client.post(
        f"/projects/{project['id']}/tasks", json={"title": "t", "notes": "n"}, headers=auth
    ).json
    patched = client.patch(f"/tasks/{task['id']}", json={"done": True}, headers=auth).json
    assert patched["notes"] == "n" and patched["done"] is True and patched["version"] == 2
    empty = client.patch(f"/tasks/{task['id']}", json={}, headers={**auth, "If-Match": '"2"'})
    assert empty.status_code == 200 and empty.headers["ETag"] == '"3"'
    stale = client.patch(f"/tasks/{task['id']}", json={}, headers={**auth, "If-Match": '"2"'})
    assert stale.status_code == 412
