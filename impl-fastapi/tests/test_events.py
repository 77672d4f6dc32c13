"""Live events: the outbox rows each change writes (and the ones it must not), pruning, publishing after
commit, and the stream's framing, start point, resume, heartbeat, end and HEAD, with tiny timings."""

import asyncio
import threading
import time

import pytest
import redis
from conftest import register
from sqlalchemy import select, text
from tasks_api import db, outbox
from tasks_api.models import Event
from tasks_api.views.events import END, HEARTBEAT, OPEN
from tasks_api.wakeups import Wakeups, end_all_streams

FAST = {"EVENTS_POLL_SECONDS": "0.05", "EVENTS_HEARTBEAT_SECONDS": "0.4", "EVENTS_STREAM_SECONDS": "1"}


def auth(token: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **headers}


def events() -> list[tuple[int, int, str, str]]:
    with db.new_session() as session, db.read_transaction(session):
        rows = session.execute(select(Event.id, Event.user_id, Event.type, Event.data).order_by(Event.id))
        return [tuple(row) for row in rows]


def test_every_change_writes_its_event_with_the_resource_as_get_renders_it(client):
    token = register(client)
    created_project = client.post("/projects", json={"name": "P"}, headers=auth(token))
    pid = created_project.json()["id"]
    client.patch(f"/projects/{pid}", json={"name": "Q"}, headers=auth(token))
    project_body = client.get(f"/projects/{pid}", headers=auth(token)).text
    task = client.post(f"/projects/{pid}/tasks", json={"title": "T", "notes": "a\nb"}, headers=auth(token))
    tid = task.json()["id"]
    created_body = task.text
    replace = {"project_id": pid, "title": "U", "notes": "", "done": True, "priority": "high", "due_on": None}
    client.put(f"/tasks/{tid}", json=replace, headers=auth(token))
    client.patch(f"/tasks/{tid}", json={"due_on": "2026-12-01"}, headers=auth(token))
    task_body = client.get(f"/tasks/{tid}", headers=auth(token)).text
    assert client.delete(f"/tasks/{tid}", headers=auth(token)).status_code == 204
    tid2 = client.post(f"/projects/{pid}/tasks", json={"title": "V"}, headers=auth(token)).json()["id"]
    assert client.delete(f"/projects/{pid}", headers=auth(token)).status_code == 204

    rows = events()
    assert [row[2] for row in rows] == [
        "project.created",
        "project.updated",
        "task.created",
        "task.updated",
        "task.updated",
        "task.deleted",
        "task.created",
        "project.deleted",  # its remaining task goes with it, without a task.deleted
    ]
    assert {row[1] for row in rows} == {1}
    assert rows[0][3] == f'{{"id":{pid},"version":1,"resource":{created_project.text}}}'
    assert rows[1][3] == f'{{"id":{pid},"version":2,"resource":{project_body}}}'
    assert rows[2][3] == f'{{"id":{tid},"version":1,"resource":{created_body}}}'
    assert rows[4][3] == f'{{"id":{tid},"version":3,"resource":{task_body}}}'
    assert rows[5][3] == f'{{"id":{tid},"version":3,"project_id":{pid}}}'
    assert rows[6][3].startswith(f'{{"id":{tid2},"version":1,"resource":{{"id":{tid2},')
    assert rows[7][3] == f'{{"id":{pid},"version":2}}'
    assert '"notes":"a\\nb"' in rows[2][3]  # one line: a line break inside a string stays escaped


def test_failures_replays_412_and_304_write_no_event(client):
    token = register(client)
    first = client.post("/projects", json={"name": "P"}, headers=auth(token, **{"Idempotency-Key": "k1"}))
    replay = client.post("/projects", json={"name": "P"}, headers=auth(token, **{"Idempotency-Key": "k1"}))
    assert replay.headers["Idempotent-Replayed"] == "true"
    pid = first.json()["id"]
    assert len(events()) == 1
    tid = client.post(f"/projects/{pid}/tasks", json={"title": "T"}, headers=auth(token)).json()["id"]
    assert len(events()) == 2
    failures = [
        client.patch(f"/projects/{pid}", json={"name": "Q"}, headers=auth(token, **{"If-Match": '"9"'})),
        client.get(f"/projects/{pid}", headers=auth(token, **{"If-None-Match": '"1"'})),
        client.patch(f"/projects/{pid}", json={"name": ""}, headers=auth(token)),
        client.patch("/projects/999", json={"name": "Q"}, headers=auth(token)),
        client.delete(f"/tasks/{tid}", headers=auth(token, **{"If-Match": '"2"'})),
        client.patch(f"/tasks/{tid}", json={"project_id": 999}, headers=auth(token)),
        client.post("/projects/999/tasks", json={"title": "T"}, headers=auth(token)),
        client.delete("/projects/999", headers=auth(token)),
    ]
    assert [response.status_code for response in failures] == [412, 304, 422, 404, 412, 422, 404, 404]
    assert len(events()) == 2


def test_a_write_prunes_its_users_events_older_than_the_retention(make_client):
    client = make_client(EVENTS_RETENTION_SECONDS="3600")
    ada, bob = register(client), register(client, "bob@example.com")
    with db.get_engine().begin() as conn:
        for user_id in (1, 2):
            conn.execute(
                text("INSERT INTO events (user_id, type, data, created_at) VALUES (:u, 't', '{}', :at)"),
                {"u": user_id, "at": "2000-01-01T00:00:00Z"},
            )
    client.post("/projects", json={"name": "P"}, headers=auth(ada))
    assert [(row[1], row[2]) for row in events()] == [(2, "t"), (1, "project.created")]
    client.post("/projects", json={"name": "P"}, headers=auth(bob))
    assert [(row[1], row[2]) for row in events()] == [(1, "project.created"), (2, "project.created")]


class FakeRedis:
    def __init__(self, fail: bool = False) -> None:
        self.fail, self.published = fail, []

    def publish(self, channel: str, message: str) -> None:
        if self.fail:
            raise redis.ConnectionError("no Redis here")
        # Published after commit: a new session already sees the event.
        assert int(message) in [row[0] for row in events()]
        self.published.append((channel, message))


def test_the_event_id_is_published_after_commit_and_only_then(make_client, monkeypatch):
    client = make_client(REDIS_URL="redis://127.0.0.1:1/0")
    fake = FakeRedis()
    monkeypatch.setattr(outbox, "_publisher", lambda url: fake)
    token = register(client)
    pid = client.post("/projects", json={"name": "P"}, headers=auth(token)).json()["id"]
    client.patch(f"/projects/{pid}", json={"name": "Q"}, headers=auth(token, **{"If-Match": '"7"'}))
    assert fake.published == [("tasks-api:events:1", str(events()[0][0]))]


def test_a_failed_publish_is_logged_and_the_change_stands(make_client, monkeypatch, caplog):
    client = make_client(REDIS_URL="redis://127.0.0.1:1/0")
    monkeypatch.setattr(outbox, "_publisher", lambda url: FakeRedis(fail=True))
    token = register(client)
    assert client.post("/projects", json={"name": "P"}, headers=auth(token)).status_code == 201
    assert len(events()) == 1
    assert "publishing event 1 to Redis failed" in caplog.text


def test_a_stream_opens_heartbeats_and_ends_with_the_exact_framing(make_client):
    client = make_client(**FAST)
    token = register(client)
    client.post("/projects", json={"name": "old"}, headers=auth(token))  # before the stream: not sent
    started = time.monotonic()
    response = client.get("/events", headers=auth(token))
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-accel-buffering"] == "no"
    assert "content-length" not in response.headers
    body = response.content
    assert body.startswith(OPEN) and body.endswith(END)
    middle = body[len(OPEN) : -len(END)]
    assert middle in (HEARTBEAT, HEARTBEAT * 2)  # at 0.4 s and 0.8 s idle; timings are noisy
    assert 1 <= elapsed < 3


def test_a_stream_sends_changes_committed_while_it_is_open(make_client):
    client = make_client(**FAST)
    token = register(client)
    result = {}
    reader = threading.Thread(target=lambda: result.update(r=client.get("/events", headers=auth(token))))
    reader.start()
    time.sleep(0.3)
    created = client.post("/projects", json={"name": "P"}, headers=auth(token))
    reader.join()
    body = result["r"].content
    expected = f'id: 1\nevent: project.created\ndata: {{"id":1,"version":1,"resource":{created.text}}}\n\n'
    assert body.startswith(OPEN) and body.endswith(END)
    assert expected.encode() in body


def test_a_stream_resumes_after_last_event_id_and_the_header_wins(make_client):
    client = make_client(**{**FAST, "EVENTS_STREAM_SECONDS": "0.2", "EVENTS_HEARTBEAT_SECONDS": "5"})
    token, other = register(client), register(client, "bob@example.com")
    for name in ("a", "b", "c"):
        client.post("/projects", json={"name": name}, headers=auth(token))
    client.post("/projects", json={"name": "not mine"}, headers=auth(other))

    def ids(response):
        return [line for line in response.text.split("\n") if line.startswith("id: ")]

    assert ids(client.get("/events?last_event_id=0", headers=auth(token))) == ["id: 1", "id: 2", "id: 3"]
    assert ids(client.get("/events", headers=auth(token, **{"Last-Event-ID": "1"}))) == ["id: 2", "id: 3"]
    header_wins = client.get("/events?last_event_id=0", headers=auth(token, **{"Last-Event-ID": "2"}))
    assert ids(header_wins) == ["id: 3"]
    assert ids(client.get("/events", headers=auth(token))) == []
    assert ids(client.get("/events?last_event_id=0", headers=auth(other))) == ["id: 4"]


@pytest.mark.parametrize(
    ("query", "header", "where"),
    [
        ("", "01", {"header": "Last-Event-ID"}),
        ("", "", {"header": "Last-Event-ID"}),
        ("?last_event_id=-1", None, {"parameter": "last_event_id"}),
        ("?last_event_id=12345678901234567", None, {"parameter": "last_event_id"}),
        ("?last_event_id=1&last_event_id=2", None, {"parameter": "last_event_id"}),
    ],
)
def test_a_bad_resume_point_is_422_after_authentication(client, query, header, where):
    token = register(client)
    extra = {"Last-Event-ID": header} if header is not None else {}
    assert client.get(f"/events{query}", headers=extra).status_code == 401
    response = client.get(f"/events{query}", headers=auth(token, **extra))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    [item] = response.json()["errors"]
    assert where.items() <= item.items()


def test_head_events_answers_at_once_without_running_the_stream(make_client):
    client = make_client(EVENTS_STREAM_SECONDS="30")
    token = register(client)
    started = time.monotonic()
    response = client.head("/events", headers=auth(token))
    assert time.monotonic() - started < 1
    assert response.status_code == 200 and response.content == b""
    assert response.headers["content-type"] == "text/event-stream"
    assert response.headers["cache-control"] == "no-store"
    assert "content-length" not in response.headers
    assert client.head("/events").status_code == 401
    options = client.options("/events")
    assert options.status_code == 204 and options.headers["allow"] == "GET, HEAD, OPTIONS"


def _redis_reachable() -> bool:
    try:
        return bool(redis.Redis.from_url("redis://127.0.0.1:6379/0", socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


@pytest.mark.skipif(not _redis_reachable(), reason="needs Redis on 127.0.0.1:6379")
def test_a_published_event_id_wakes_the_users_streams_at_once(configure):
    configure(REDIS_URL="redis://127.0.0.1:6379/0")

    async def scenario() -> float:
        wakeups = Wakeups("redis://127.0.0.1:6379/0")
        wakeups.start()
        try:
            with wakeups.waiter(987654) as woken, wakeups.waiter(987655) as other:
                await asyncio.sleep(0.3)  # the subscription is in place
                started = time.monotonic()
                await asyncio.to_thread(outbox.publish, 987654, 1)
                async with asyncio.timeout(2):
                    await woken.wait()
                assert not other.is_set()
                return time.monotonic() - started
        finally:
            await wakeups.stop()

    assert asyncio.run(scenario()) < 0.5


def test_a_server_shutting_down_ends_its_streams_cleanly(make_client):
    client = make_client(EVENTS_STREAM_SECONDS="30", EVENTS_HEARTBEAT_SECONDS="30")
    token = register(client)
    result = {}
    reader = threading.Thread(target=lambda: result.update(r=client.get("/events", headers=auth(token))))
    started = time.monotonic()
    reader.start()
    time.sleep(0.3)
    client.portal.call(end_all_streams)  # what worker.py does when uvicorn begins its graceful shutdown
    reader.join(timeout=5)
    assert time.monotonic() - started < 3
    assert result["r"].content == OPEN + END
