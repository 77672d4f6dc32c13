"""GET /events: validation, start point, resumption, exact framing, heartbeat and end (tiny timings), HEAD."""

import itertools
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from conftest import register
from flask import Flask
from flask.testing import FlaskClient
from tasks_api.config import from_env
from tasks_api.db import get_engine
from tasks_api.views import events as event_views
from tasks_api.wakeups import Wakeup

OPEN = b": open\nretry: 1000\n\n"
HEARTBEAT = b": heartbeat\n\n"
END = b": end\nretry: 1000\n\n"
FAST = {"EVENTS_POLL_SECONDS": 0.05, "EVENTS_HEARTBEAT_SECONDS": 0.3, "EVENTS_STREAM_SECONDS": 1}


@pytest.fixture
def fast(make_app: Callable[..., Flask]) -> Flask:
    return make_app(**FAST)


def blocks(response: Any) -> Iterator[tuple[float, bytes]]:
    """The body's chunks as the generator yields them, each with its time since the first."""
    started = time.monotonic()
    for chunk in response.response:
        yield time.monotonic() - started, chunk


def test_401_before_422(client: FlaskClient) -> None:
    response = client.get("/events?last_event_id=x")
    assert response.status_code == 401


@pytest.mark.parametrize("value", ["abc", "-1", "01", "+1", "1.5", "", "12345678901234567"])
def test_bad_ids_are_422_for_header_and_query(client: FlaskClient, auth: dict, value: str) -> None:
    by_header = client.get("/events", headers={**auth, "Last-Event-ID": value})
    assert by_header.status_code == 422
    assert by_header.json["errors"][0]["header"] == "Last-Event-ID"
    by_query = client.get("/events", query_string={"last_event_id": value}, headers=auth)
    assert by_query.status_code == 422
    assert by_query.json["errors"] == [
        {"parameter": "last_event_id", "detail": by_query.json["errors"][0]["detail"]}
    ]


def test_a_valid_header_does_not_hide_a_bad_query(client: FlaskClient, auth: dict) -> None:
    response = client.get("/events?last_event_id=1&last_event_id=2", headers={**auth, "Last-Event-ID": "x"})
    assert [next(iter(e)) for e in response.json["errors"]] == ["header", "parameter"]


def test_headers_framing_start_point_heartbeat_and_end(fast: Flask) -> None:
    client = fast.test_client()
    auth = register(client)
    pid = client.post("/projects", json={"name": "before"}, headers=auth).json["id"]  # not in the stream
    response = client.get("/events", headers=auth, buffered=False)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/event-stream"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Accel-Buffering"] == "no"
    assert "Content-Length" not in response.headers and response.headers["X-Request-ID"]
    chunks = blocks(response)
    assert next(chunks)[1] == OPEN
    # The request's session is closed: a stream holds no database connection while it waits.
    with fast.app_context():
        assert get_engine().pool.checkedout() == 0
    renamed = client.patch(f"/projects/{pid}", json={"name": "during"}, headers=auth)
    at, chunk = next(chunks)
    body = renamed.get_data(as_text=True).rstrip()
    assert (
        chunk
        == f'id: 2\nevent: project.updated\ndata: {{"id":{pid},"version":2,"resource":{body}}}\n\n'.encode()
    )
    rest = list(chunks)
    *heartbeats, (ended, last) = rest
    assert heartbeats and all(c == HEARTBEAT for _, c in heartbeats) and last == END
    # Each heartbeat comes one idle period after the previous write, the first after the event.
    times = [at] + [t for t, _ in heartbeats]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(g == pytest.approx(0.3, abs=0.15) for g in gaps), gaps
    assert ended == pytest.approx(1.0, abs=0.2)


def test_resume_by_header_and_query_the_header_wins(make_app: Callable[..., Flask]) -> None:
    client = make_app(**{**FAST, "EVENTS_STREAM_SECONDS": 0.2}).test_client()  # each stream ends at once
    auth = register(client)
    other = register(client, "bob@example.com")
    client.post("/projects", json={"name": "not mine"}, headers=other)  # event 1, another user's
    pid = client.post("/projects", json={"name": "p"}, headers=auth).json["id"]  # event 2
    for name in ("a", "b", "c"):  # events 3, 4, 5
        client.patch(f"/projects/{pid}", json={"name": name}, headers=auth)

    def ids(**kwargs: Any) -> list[int]:
        body = b"".join(
            client.get("/events", headers={**auth, **kwargs.pop("headers", {})}, **kwargs).response
        )
        assert body.startswith(OPEN) and body.endswith(END)
        return [int(line[4:]) for line in body.split(b"\n") if line.startswith(b"id: ")]

    assert ids(headers={"Last-Event-ID": "0"}) == [2, 3, 4, 5]
    assert ids(headers={"Last-Event-ID": "3"}) == [4, 5]
    assert ids(query_string={"last_event_id": "4"}) == [5]
    assert ids(query_string={"last_event_id": "0"}, headers={"Last-Event-ID": "4"}) == [5]
    assert ids() == []  # after the latest event


def test_a_backlog_is_sent_in_batches_without_waiting(
    make_app: Callable[..., Flask], monkeypatch: Any
) -> None:
    monkeypatch.setattr("tasks_api.views.events.BATCH", 2)
    app = make_app(EVENTS_POLL_SECONDS=5, EVENTS_HEARTBEAT_SECONDS=5, EVENTS_STREAM_SECONDS=5)
    client = app.test_client()
    auth = register(client)
    for name in "abcde":
        client.post("/projects", json={"name": name}, headers=auth)
    chunks = blocks(client.get("/events", headers={**auth, "Last-Event-ID": "0"}, buffered=False))
    assert next(chunks)[1] == OPEN
    got = [next(chunks) for _ in range(3)]
    assert [c.count(b"id: ") for _, c in got] == [2, 2, 1]
    assert got[-1][0] < 1.0


def test_head_answers_at_once_without_running_the_stream(
    client: FlaskClient, auth: dict, monkeypatch: Any
) -> None:
    def never(*args: Any) -> None:
        raise AssertionError("HEAD ran the stream")

    monkeypatch.setattr(event_views, "event_stream", never)
    monkeypatch.setattr(event_views, "latest_event_id", never)
    response = client.head("/events", headers=auth)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/event-stream"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Accel-Buffering"] == "no"
    assert "Content-Length" not in response.headers
    assert response.get_data() == b""
    assert client.head("/events").status_code == 401
    assert client.head("/events?last_event_id=x", headers=auth).status_code == 422


def test_options_is_204_with_allow(client: FlaskClient) -> None:
    response = client.options("/events")
    assert response.status_code == 204 and response.headers["Allow"] == "GET, HEAD, OPTIONS"


def redis_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
    except OSError:
        return False
    return True


@pytest.mark.skipif(not redis_up(), reason="no Redis on 127.0.0.1:6379")
def test_a_redis_message_wakes_the_stream_before_the_poll(make_app: Callable[..., Flask]) -> None:
    app = make_app(
        REDIS_URL="redis://127.0.0.1:6379/0",
        EVENTS_POLL_SECONDS=30,
        EVENTS_HEARTBEAT_SECONDS=30,
        EVENTS_STREAM_SECONDS=30,
    )
    client = app.test_client()
    auth = register(client, f"redis-{time.time_ns()}@example.com")
    response = client.get("/events", headers=auth, buffered=False)
    chunks = blocks(response)
    assert next(chunks)[1] == OPEN
    writer = threading.Timer(
        0.3, lambda: app.test_client().post("/projects", json={"name": "p"}, headers=auth)
    )
    writer.start()
    at, chunk = next(chunks)
    writer.join()
    assert chunk.startswith(b"id: ") and b"event: project.created\n" in chunk
    assert at < 3.0  # woken by Redis, not by the 30 s poll
    response.close()  # the generator's finally gives the subscription back


def test_an_unreachable_redis_falls_back_to_polling(make_app: Callable[..., Flask]) -> None:
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0", **FAST)  # nothing listens on port 1
    client = app.test_client()
    auth = register(client)
    chunks = blocks(client.get("/events", headers=auth, buffered=False))
    assert next(chunks)[1] == OPEN
    assert client.post("/projects", json={"name": "p"}, headers=auth).status_code == 201  # publish fails
    assert b"event: project.created\n" in next(chunks)[1]
    assert list(chunks)[-1][1] == END


def test_event_settings_come_from_the_environment() -> None:
    defaults = from_env({})
    assert defaults["REDIS_URL"] == "" and defaults["EVENTS_POLL_SECONDS"] == 1.0
    assert (defaults["EVENTS_HEARTBEAT_SECONDS"], defaults["EVENTS_STREAM_SECONDS"]) == (15.0, 300.0)
    assert defaults["EVENTS_RETENTION_SECONDS"] == 604800
    given = from_env({"EVENTS_POLL_SECONDS": "0.25", "REDIS_URL": "redis://r:6379/0", "WEB_DIR": "/w"})
    assert given["EVENTS_POLL_SECONDS"] == 0.25 and given["REDIS_URL"] == "redis://r:6379/0"
    assert str(given["WEB_DIR"]) == "/w"


class _FlakyPubSub:
    """A Redis subscription that fails while its client is down and delivers one message once it is up."""

    def __init__(self, client: "_FlakyRedis") -> None:
        self.client = client

    def subscribe(self, _name: str) -> None:
        self.client.attempts += 1
        if self.client.down:
            raise redis.ConnectionError("down")

    def get_message(self, timeout: float = 0.0) -> dict | None:
        if self.client.messages:
            return self.client.messages.pop()
        time.sleep(min(timeout, 0.01))
        return None

    def close(self) -> None:
        pass


class _FlakyRedis:
    def __init__(self) -> None:
        self.down = True
        self.attempts = 0
        self.messages: list[dict] = []

    def pubsub(self, ignore_subscribe_messages: bool = True) -> _FlakyPubSub:
        return _FlakyPubSub(self)


def test_a_failed_subscription_is_retried_every_poll_interval() -> None:
    client = _FlakyRedis()
    wakeup = Wakeup(client, "tasks-api:events:1", retry_every=0.2)  # type: ignore[arg-type]
    assert client.attempts == 1
    wakeup.wait(0.05)  # too soon: no second attempt, just a sleep
    assert client.attempts == 1
    time.sleep(0.2)
    client.down = False  # Redis is back
    wakeup.wait(0.05)
    assert client.attempts == 2
    client.messages.append({"type": "message", "data": b"7"})
    started = time.monotonic()
    wakeup.wait(5)  # woken by the message, not by the timeout
    assert time.monotonic() - started < 1
    wakeup.close()


def test_redis_commands_time_out_in_half_a_second_without_retry(make_app: Callable[..., Flask]) -> None:
    app = make_app(REDIS_URL="redis://127.0.0.1:6379/0")
    kwargs = app.extensions["tasks_api.redis"].connection_pool.connection_kwargs
    assert kwargs["socket_timeout"] == 0.5 and kwargs["socket_connect_timeout"] == 0.5
    assert kwargs["retry"].get_retries() == 0
