"""Live events: the outbox written with each change, the stream's framing, start point and end, HEAD."""

import dataclasses
import io
import json
import socket
import sys
import time
import uuid
from wsgiref.validate import validator

import pytest
import redis
from sqlalchemy import insert, select
from tasks_api.app import create_app
from tasks_api.clock import now
from tasks_api.models import events
from tasks_api.views.events import END, HEARTBEAT, OPEN, client_left
from tasks_api.wakeups import Wakeups, channel

REDIS_URL = "redis://127.0.0.1:6379/0"


class RecordingWakeups(Wakeups):
    """No Redis: records what is published, and whether each subscription was released."""

    def __init__(self, database):
        super().__init__("")
        self.database = database
        self.published = []
        self.subscriptions = []

    def publish(self, user_id, event_id):
        # Published after the commit: another connection already sees the row.
        with self.database.read() as connection:
            visible = connection.execute(select(events.c.id).where(events.c.id == event_id)).scalar()
        self.published.append((user_id, event_id, visible == event_id))

    def subscribe(self, user_id):
        subscription = super().subscribe(user_id)
        self.subscriptions.append(subscription)
        subscription.closed = False
        original = subscription.close

        def close():
            subscription.closed = True
            original()

        subscription.close = close
        return subscription


@pytest.fixture
def fast_settings(settings):
    """Tiny timings, so that a whole stream (heartbeats, end) lasts about a second."""
    return dataclasses.replace(
        settings, events_poll_seconds=0.05, events_heartbeat_seconds=0.3, events_stream_seconds=1.0
    )


@pytest.fixture
def wakeups(database):
    return RecordingWakeups(database)


@pytest.fixture
def app(fast_settings, database, wakeups):
    return create_app(fast_settings, database, wakeups)


@pytest.fixture
def user(app, make_client):
    return make_client(app).login()


def event_rows(database):
    with database.read() as connection:
        return connection.execute(select(events).order_by(events.c.id)).all()


def compact(data):
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


class OpenStream:
    """GET /events called like a server would: status and headers at once, then the body block by block."""

    def __init__(self, app, token, headers=None, query="", method="GET"):
        environ = {
            "REQUEST_METHOD": method,
            "SCRIPT_NAME": "",
            "PATH_INFO": "/events",
            "QUERY_STRING": query,
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "testserver",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(b""),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
            "HTTP_AUTHORIZATION": f"Bearer {token}",
        }
        for name, value in (headers or {}).items():
            environ["HTTP_" + name.upper().replace("-", "_")] = value
        captured = {}

        def start_response(status, response_headers, exc_info=None):
            captured["status"] = int(status.split()[0])
            captured["headers"] = {k.lower(): v for k, v in response_headers}
            return lambda data: None

        self.started = time.monotonic()
        self.body = validator(app)(environ, start_response)
        self.status, self.headers = captured["status"], captured["headers"]
        self.chunks = iter(self.body)

    def next_block(self):
        return next(self.chunks)

    def read_to_end(self):
        """Every remaining chunk with the time it came, then the body is closed as a server would."""
        timed = [(chunk, time.monotonic() - self.started) for chunk in self.chunks]
        self.close()
        return timed

    def close(self):
        self.body.close()


# --- the outbox -------------------------------------------------------------------------------------


def test_every_change_writes_its_event_with_the_exact_data(user, database, wakeups):
    me = user.get("/users/me").json()["id"]
    project = user.post("/projects", {"name": "Home"}).json()
    patched = user.patch("/projects/1", {"description": "dé"}).json()  # non-ASCII stays as it is
    task = user.post("/projects/1/tasks", {"title": "Sink"}).json()
    done = user.patch("/tasks/1", {"done": True}).json()
    put = {
        "project_id": 1,
        "title": "t",
        "notes": "",
        "done": False,
        "priority": "low",
        "due_on": "2026-12-24",
    }
    replaced = user.put("/tasks/1", put).json()
    assert user.delete("/tasks/1").status == 204
    user.post("/projects/1/tasks", {"title": "goes with its project"})
    assert user.delete("/projects/1").status == 204

    def changed(resource):
        return {"id": resource["id"], "version": resource["version"], "resource": resource}

    rows = event_rows(database)
    assert [(row.type, row.data) for row in rows[:6]] + [(rows[-1].type, rows[-1].data)] == [
        ("project.created", compact(changed(project))),
        ("project.updated", compact(changed(patched))),
        ("task.created", compact(changed(task))),
        ("task.updated", compact(changed(done))),
        ("task.updated", compact(changed(replaced))),
        ("task.deleted", '{"id":1,"version":3,"project_id":1}'),
        ("project.deleted", '{"id":1,"version":2}'),  # one event: its task goes without a task.deleted
    ]
    assert len(rows) == 8 and rows[6].type == "task.created"
    assert all(row.user_id == me for row in rows)
    # Each event published once, after its commit, on the owner's channel.
    assert wakeups.published == [(me, row.id, True) for row in rows]


def test_failed_writes_replays_and_reads_write_no_event(user, database, wakeups):
    keyed = {"Idempotency-Key": "k1"}
    assert user.post("/projects", {"name": "Keyed"}, headers=keyed).status == 201
    assert user.post("/projects/1/tasks", {"title": "t"}).status == 201
    before = event_rows(database)

    assert user.post("/projects", {"name": "Keyed"}, headers=keyed).headers["idempotent-replayed"] == "true"
    assert user.patch("/projects/1", {"name": "x"}, headers={"If-Match": '"9"'}).status == 412
    assert user.delete("/tasks/1", headers={"If-Match": 'W/"1"'}).status == 412
    assert user.put("/tasks/1", {"title": "only"}).status == 422
    assert user.patch("/tasks/1", {"project_id": 99}).status == 422
    assert user.post("/projects/99/tasks", {"title": "t"}).status == 404
    assert user.delete("/projects/99").status == 404
    assert user.get("/tasks/1", headers={"If-None-Match": '"1"'}).status == 304
    assert user.get("/projects").status == 200

    assert event_rows(database) == before
    assert len(wakeups.published) == len(before)


def test_a_write_prunes_its_users_events_past_the_retention(app, make_client, database, fast_settings):
    ada, bob = make_client(app).login("ada@example.com"), make_client(app).login("bob@example.com")
    ada_id, bob_id = ada.get("/users/me").json()["id"], bob.get("/users/me").json()["id"]
    old = now(-fast_settings.events_retention_seconds - 60)
    recent = now(-fast_settings.events_retention_seconds + 60)
    with database.write() as connection:
        for user_id, created_at in ((ada_id, old), (ada_id, recent), (bob_id, old)):
            connection.execute(
                insert(events).values(
                    user_id=user_id, type="project.deleted", data="{}", created_at=created_at
                )
            )
    assert ada.post("/projects", {"name": "p"}).status == 201
    left = [(row.user_id, row.created_at) for row in event_rows(database)]
    # Ada's old event is gone; her recent one and Bob's old one (not his write) stay.
    assert left[:2] == [(ada_id, recent), (bob_id, old)] and len(left) == 3


def test_a_failed_publish_is_ignored(caplog):
    wakeups = Wakeups("redis://127.0.0.1:1/0")  # nothing listens there
    wakeups.publish(7, 42)
    assert "publishing event 42 to Redis failed" in caplog.text
    started = time.monotonic()
    subscription = wakeups.subscribe(7)  # falls back to a plain sleep
    assert subscription.wait(0.1) is False
    assert 0.09 <= time.monotonic() - started < 3
    subscription.close()


# --- the stream -------------------------------------------------------------------------------------


def test_stream_headers_start_point_and_events_in_order(app, user, wakeups):
    user.post("/projects", {"name": "before the stream"})  # not sent: a stream starts after the latest
    stream = OpenStream(app, user.token, headers={"X-Request-ID": "stream-1"})
    assert stream.status == 200
    assert stream.headers["content-type"] == "text/event-stream"
    assert stream.headers["cache-control"] == "no-store"
    assert stream.headers["x-accel-buffering"] == "no"
    assert stream.headers["x-request-id"] == "stream-1"
    assert "content-length" not in stream.headers
    assert stream.next_block() == OPEN
    created = user.post("/projects", {"name": "during"})
    block = stream.next_block()
    data = compact({"id": 2, "version": 1, "resource": created.json()})
    assert block == f"id: 2\nevent: project.created\ndata: {data}\n\n".encode()
    stream.close()
    assert wakeups.subscriptions[-1].closed  # close() released the subscription


def test_resume_after_an_id_header_wins_over_query(app, user):
    for name in ("a", "b", "c"):
        user.post("/projects", {"name": name})

    def ids_after(**kw):
        stream = OpenStream(app, user.token, **kw)
        assert stream.next_block() == OPEN
        block = stream.next_block()
        stream.close()
        return [int(line[4:]) for line in block.decode().split("\n") if line.startswith("id: ")]

    assert ids_after(headers={"Last-Event-ID": "1"}) == [2, 3]
    assert ids_after(query="last_event_id=2") == [3]
    assert ids_after(headers={"Last-Event-ID": "0"}, query="last_event_id=2") == [1, 2, 3]


def test_heartbeats_while_idle_then_the_end(app, user, wakeups, fast_settings):
    stream = OpenStream(app, user.token)
    timed = stream.read_to_end()
    blocks = [chunk for chunk, _ in timed]
    assert blocks[0] == OPEN and blocks[-1] == END
    assert blocks[1:-1] == [HEARTBEAT] * len(blocks[1:-1]) and 2 <= len(blocks) - 2 <= 3
    first_heartbeat, end = timed[1][1], timed[-1][1]
    assert (
        fast_settings.events_heartbeat_seconds
        <= first_heartbeat
        < fast_settings.events_heartbeat_seconds + 0.2
    )
    assert fast_settings.events_stream_seconds <= end < fast_settings.events_stream_seconds + 0.3
    assert wakeups.subscriptions[-1].closed


def test_head_answers_at_once_without_running_the_stream(app, user, wakeups):
    stream = OpenStream(app, user.token, method="HEAD")
    assert stream.status == 200
    assert stream.headers["content-type"] == "text/event-stream"
    assert stream.headers["cache-control"] == "no-store"
    assert stream.headers["x-accel-buffering"] == "no"
    assert b"".join(chunk for chunk, _ in stream.read_to_end()) == b""
    assert time.monotonic() - stream.started < 0.2
    assert wakeups.subscriptions == []  # nothing subscribed, nothing polled


@pytest.mark.parametrize(
    ("headers", "query", "expected"),
    [
        ({"Last-Event-ID": "01"}, "", [{"header": "Last-Event-ID"}]),
        ({"Last-Event-ID": ""}, "", [{"header": "Last-Event-ID"}]),
        ({}, "last_event_id=12345678901234567", [{"parameter": "last_event_id"}]),
        ({}, "last_event_id=1&last_event_id=2", [{"parameter": "last_event_id"}]),
        ({"Last-Event-ID": "1"}, "last_event_id=-1", [{"parameter": "last_event_id"}]),
        (
            {"Last-Event-ID": "x"},
            "last_event_id=y",
            [{"header": "Last-Event-ID"}, {"parameter": "last_event_id"}],
        ),
    ],
)
def test_bad_event_ids_are_422_with_every_problem(user, headers, query, expected):
    result = user.get("/events", headers=headers, query=query)
    assert (result.status, result.problem_type) == (422, "validation-error")
    assert [{k: v for k, v in item.items() if k != "detail"} for item in result.json()["errors"]] == expected


def test_authentication_comes_first_and_options_is_public(client):
    assert client.get("/events", query="last_event_id=x").problem_type == "authentication-required"
    options = client.request("OPTIONS", "/events")
    assert (options.status, options.headers["allow"]) == (204, "GET, HEAD, OPTIONS")


def test_a_client_that_left_is_noticed_between_writes():
    server_side, client_side = socket.socketpair()
    with server_side:
        assert not client_left(server_side)
        client_side.close()
        assert client_left(server_side)
    assert client_left(server_side)  # closed on our side too: never a crash
    assert not client_left(None)  # no socket in the environ (another server): the failing write tells


def test_redis_wakes_a_waiting_stream_at_once():
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping()
    except redis.RedisError:
        pytest.skip("no Redis at " + REDIS_URL)
    user_id = 10**15 + uuid.uuid4().int % 10**9  # a channel no one else uses
    wakeups = Wakeups(REDIS_URL)
    subscription = wakeups.subscribe(user_id)
    try:
        assert subscription.wait(0.05) is False  # the subscribe confirmation is not a wake-up
        wakeups.publish(user_id, 42)
        started = time.monotonic()
        assert subscription.wait(5.0) is True
        assert time.monotonic() - started < 1.0
    finally:
        subscription.close()
    assert channel(user_id) not in {name.decode() for name in wakeups.client.pubsub_channels()}
