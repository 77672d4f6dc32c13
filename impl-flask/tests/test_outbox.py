"""The outbox: an event row with each change; none on failure or replay; data, pruning, publish."""

import json
from typing import Any

import pytest
import redis
from conftest import register
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text
from tasks_api.db import session_factory
from tasks_api.models import Event


def events(app: Flask) -> list[tuple[int, int, str, str]]:
    """Every event row, in id order: (id, user_id, type, data)."""
    with app.app_context(), session_factory()() as session:
        rows = session.execute(select(Event.id, Event.user_id, Event.type, Event.data).order_by(Event.id))
        return [tuple(row) for row in rows]


def changed(response: Any) -> str:
    """The data a created/updated event must hold: the resource exactly as the response renders it
    (Flask ends a JSON body with a newline)."""
    body, text = response.json, response.get_data(as_text=True).rstrip()
    return f'{{"id":{body["id"]},"version":{body["version"]},"resource":{text}}}'


def test_every_write_records_its_event_with_compact_data(app: Flask, client: FlaskClient, auth: dict) -> None:
    project = client.post("/projects", json={"name": "Ünïcode ✓"}, headers=auth)
    pid = project.json["id"]
    renamed = client.patch(f"/projects/{pid}", json={"description": 'a "quoted"\nline'}, headers=auth)
    task = client.post(f"/projects/{pid}/tasks", json={"title": "t", "due_on": "2026-12-24"}, headers=auth)
    tid = task.json["id"]
    patched = client.patch(f"/tasks/{tid}", json={"done": True}, headers=auth)
    body = {"project_id": pid, "title": "T", "notes": "", "done": True, "priority": "high", "due_on": None}
    replaced = client.put(f"/tasks/{tid}", json=body, headers=auth)
    assert client.delete(f"/tasks/{tid}", headers=auth).status_code == 204
    client.post(f"/projects/{pid}/tasks", json={"title": "goes with the project"}, headers=auth)
    assert client.delete(f"/projects/{pid}", headers=auth).status_code == 204

    rows = events(app)
    assert [row[2] for row in rows] == [
        "project.created",
        "project.updated",
        "task.created",
        "task.updated",
        "task.updated",
        "task.deleted",
        "task.created",
        "project.deleted",  # and no task.deleted for the task that went with it
    ]
    data = [row[3] for row in rows]
    assert data[:5] == [changed(r) for r in (project, renamed, task, patched, replaced)]
    assert data[5] == f'{{"id":{tid},"version":3,"project_id":{pid}}}'
    assert data[7] == f'{{"id":{pid},"version":2}}'
    assert "Ünïcode ✓" in data[0]  # UTF-8, not \u escapes, as the response body
    assert all(json.dumps(json.loads(d), separators=(",", ":"), ensure_ascii=False) == d for d in data)
    assert [row[0] for row in rows] == sorted(row[0] for row in rows)
    assert {row[1] for row in rows} == {client.get("/users/me", headers=auth).json["id"]}


def test_failed_writes_and_replays_record_nothing(app: Flask, client: FlaskClient, auth: dict) -> None:
    keyed = {**auth, "Idempotency-Key": "k1"}
    pid = client.post("/projects", json={"name": "p"}, headers=keyed).json["id"]
    tid = client.post(f"/projects/{pid}/tasks", json={"title": "t"}, headers=auth).json["id"]
    before = events(app)
    assert len(before) == 2
    stale = {**auth, "If-Match": '"9"'}
    assert client.patch(f"/projects/{pid}", json={"name": "x"}, headers=stale).status_code == 412
    assert client.delete(f"/projects/{pid}", headers=stale).status_code == 412
    assert client.put(f"/tasks/{tid}", json={"title": "x"}, headers=stale).status_code == 422
    assert client.patch(f"/tasks/{tid}", json={"title": "x"}, headers=stale).status_code == 412
    assert client.delete(f"/tasks/{tid}", headers=stale).status_code == 412
    assert client.patch(f"/tasks/{tid}", json={"project_id": 999}, headers=auth).status_code == 422
    assert client.delete("/tasks/999", headers=auth).status_code == 404
    assert client.post("/projects/999/tasks", json={"title": "t"}, headers=auth).status_code == 404
    assert client.get(f"/tasks/{tid}", headers={**auth, "If-None-Match": '"1"'}).status_code == 304
    replay = client.post("/projects", json={"name": "p"}, headers=keyed)
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert events(app) == before


def test_a_write_prunes_only_that_users_old_events(make_app: Any) -> None:
    app = make_app(EVENTS_RETENTION_SECONDS=3600)
    client = app.test_client()
    ada, bob = register(client), register(client, "bob@example.com")
    ada_id = client.get("/users/me", headers=ada).json["id"]
    bob_id = client.get("/users/me", headers=bob).json["id"]
    with app.app_context(), session_factory()() as session:
        for user_id, created_at in [(ada_id, "2000-01-01T00:00:00Z"), (bob_id, "2000-01-01T00:00:00Z")]:
            session.execute(
                text("INSERT INTO events (user_id, type, data, created_at) VALUES (:u, 'x.old', '{}', :c)"),
                {"u": user_id, "c": created_at},
            )
        session.commit()
    client.post("/projects", json={"name": "p"}, headers=ada)
    assert [(row[1], row[2]) for row in events(app)] == [(bob_id, "x.old"), (ada_id, "project.created")]


class FakeRedis:
    """Records publishes; fails them on demand."""

    def __init__(self) -> None:
        self.published: list[tuple[str, str]] = []
        self.fail = False

    def publish(self, channel: str, message: str) -> int:
        if self.fail:
            raise redis.ConnectionError("Redis is away")
        self.published.append((channel, message))
        return 1


@pytest.fixture
def fake_redis(monkeypatch: pytest.MonkeyPatch) -> FakeRedis:
    fake = FakeRedis()
    monkeypatch.setattr(redis.Redis, "from_url", classmethod(lambda cls, url, **kwargs: fake))
    return fake


def test_the_event_id_is_published_after_commit(make_app: Any, fake_redis: FakeRedis) -> None:
    app = make_app(REDIS_URL="redis://fake/0")
    client = app.test_client()
    auth = register(client)
    user_id = client.get("/users/me", headers=auth).json["id"]
    pid = client.post("/projects", json={"name": "p"}, headers=auth).json["id"]
    assert client.patch(f"/projects/{pid}", json={}, headers={**auth, "If-Match": '"7"'}).status_code == 412
    assert client.delete(f"/projects/{pid}", headers=auth).status_code == 204
    ids = [str(row[0]) for row in events(app)]
    assert fake_redis.published == [(f"tasks-api:events:{user_id}", ident) for ident in ids]


def test_a_failed_publish_is_logged_and_the_write_stands(
    make_app: Any, fake_redis: FakeRedis, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(REDIS_URL="redis://fake/0")
    client = app.test_client()
    auth = register(client)
    fake_redis.fail = True
    assert client.post("/projects", json={"name": "p"}, headers=auth).status_code == 201
    assert len(events(app)) == 1
    assert "publishing event" in caplog.text
