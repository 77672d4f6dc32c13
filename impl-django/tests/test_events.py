"""Live events: the outbox row with each change (and none without one), pruning, the stream's framing."""

import json
import time

import pytest
import redis
from django.test import override_settings
from tasks_api.models import Event
from tasks_api.wakeups import channel, redis_client

JSON = "application/json"
PATCH = "application/merge-patch+json"
FAST = {"EVENTS_POLL_SECONDS": 0.05, "EVENTS_HEARTBEAT_SECONDS": 0.2, "EVENTS_STREAM_SECONDS": 0.5}


def _auth(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def _events(client, token) -> list[tuple[str, dict]]:
    me = client.get("/users/me", **_auth(token)).json()["id"]
    return [(e.type, json.loads(e.data)) for e in Event.objects.filter(user_id=me).order_by("id")]


def _project(client, token, **extra) -> dict:
    response = client.post("/projects", {"name": "P"}, content_type=JSON, **_auth(token), **extra)
    assert response.status_code in (200, 201)
    return response.json()


def test_each_change_writes_its_event_in_order(client, user_token):
    project = _project(client, user_token)
    task = client.post(
        f"/projects/{project['id']}/tasks", {"title": "T"}, content_type=JSON, **_auth(user_token)
    ).json()
    client.patch(
        f"/tasks/{task['id']}",
        {"done": True},
        content_type="application/merge-patch+json",
        **_auth(user_token),
    )
    client.delete(f"/tasks/{task['id']}", **_auth(user_token))
    client.patch(
        f"/projects/{project['id']}",
        {"name": "Q"},
        content_type="application/merge-patch+json",
        **_auth(user_token),
    )
    client.delete(f"/projects/{project['id']}", **_auth(user_token))
    events = _events(client, user_token)
    kinds = ["project.created", "task.created", "task.updated", "task.deleted", "project.updated"]
    assert [kind for kind, _ in events] == [*kinds, "project.deleted"]
    assert events[0][1] == {"id": project["id"], "version": 1, "resource": project}
    assert events[2][1]["resource"]["done"] is True and events[2][1]["version"] == 2
    assert events[3][1] == {"id": task["id"], "version": 2, "project_id": project["id"]}
    assert events[5][1] == {"id": project["id"], "version": 2}


def test_the_data_is_compact_json(client, user_token):
    _project(client, user_token)
    assert ": " not in Event.objects.order_by("-id").first().data


def test_no_event_for_a_refused_change_or_a_replay(client, user_token):
    project = _project(client, user_token, HTTP_IDEMPOTENCY_KEY="k-1")
    assert _project(client, user_token, HTTP_IDEMPOTENCY_KEY="k-1") == project  # a replay
    stale = client.patch(
        f"/projects/{project['id']}", {"name": "Q"}, content_type="application/merge-patch+json",
        HTTP_IF_MATCH='"9"', **_auth(user_token),
    )  # fmt: skip
    assert stale.status_code == 412
    invalid = client.post("/projects", {"name": ""}, content_type=JSON, **_auth(user_token))
    assert invalid.status_code == 422
    assert [kind for kind, _ in _events(client, user_token)] == ["project.created"]


def test_old_events_of_the_user_are_pruned(client, user_token):
    _project(client, user_token)
    Event.objects.update(created_at="2000-01-01T00:00:00Z")
    _project(client, user_token)
    assert len(_events(client, user_token)) == 1


def _read(response) -> bytes:
    return b"".join(response.streaming_content)


@override_settings(**FAST)
def test_a_stream_opens_sends_events_after_the_start_heartbeats_and_ends(client, user_token):
    before = _project(client, user_token)
    started = time.monotonic()
    response = client.get("/events", **_auth(user_token))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    assert response["Cache-Control"] == "no-store" and response["X-Accel-Buffering"] == "no"
    body = _read(response)
    assert 0.5 <= time.monotonic() - started < 3
    assert body.startswith(b": open\nretry: 1000\n\n") and body.endswith(b": end\nretry: 1000\n\n")
    assert b": heartbeat\n\n" in body
    assert before["id"] and b"event:" not in body  # the project was created before the stream started


@override_settings(**FAST)
def test_resume_after_an_id_header_wins_over_query(client, user_token):
    first, second = _project(client, user_token), _project(client, user_token)
    ids = [e.id for e in Event.objects.filter(type="project.created").order_by("id")]
    after_first = ids[-2]
    body = _read(
        client.get("/events?last_event_id=0", HTTP_LAST_EVENT_ID=str(after_first), **_auth(user_token))
    )
    frames = [f for f in body.split(b"\n\n") if f.startswith(b"id: ")]
    assert frames == [
        f"id: {ids[-1]}\nevent: project.created\ndata: {Event.objects.get(id=ids[-1]).data}".encode()
    ]
    assert first["id"] != second["id"]


@pytest.mark.parametrize("query", ["?last_event_id=-1", "?last_event_id=01", "?last_event_id=x"])
def test_a_bad_resume_id_is_422(client, user_token, query):
    response = client.get(f"/events{query}", **_auth(user_token))
    assert response.status_code == 422 and response.json()["errors"][0]["parameter"] == "last_event_id"


def test_unauthenticated_before_validation_and_head_answers_at_once(client, user_token):
    assert client.get("/events?last_event_id=x").status_code == 401
    started = time.monotonic()
    head = client.head("/events", **_auth(user_token))
    assert head.status_code == 200 and head["Content-Type"] == "text/event-stream"
    assert _read(head) == b"" and time.monotonic() - started < 1


@override_settings(**{**FAST, "EVENTS_POLL_SECONDS": 30, "REDIS_URL": "redis://127.0.0.1:6379/0"})
def test_redis_wakes_a_stream_long_before_the_poll(client, user_token):
    redis_client.cache_clear()
    try:
        redis_client().ping()
    except (redis.RedisError, OSError):
        redis_client.cache_clear()
        pytest.skip("no Redis on 127.0.0.1:6379")
    try:
        response = client.get("/events", **_auth(user_token))
        stream = iter(response.streaming_content)
        assert next(stream) == b": open\nretry: 1000\n\n"
        me = client.get("/users/me", **_auth(user_token)).json()["id"]
        assert channel(me) == f"tasks-api:events:{me}"
        _project(client, user_token)
        started = time.monotonic()
        chunk = next(stream)
        assert chunk.startswith(b"id: ") and time.monotonic() - started < 0.5
        response.close()
    finally:
        redis_client.cache_clear()
