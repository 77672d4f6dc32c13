"""Live events: the stream's headers, framing, data, resumption, heartbeats and end (spec: Live events)."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import pytest
import yaml
from conformance.api import (
    MAX_ID,
    User,
    assert_problem,
    assert_validation,
    create_project,
    create_task,
    new_user,
)
from conformance.sse import END, HEARTBEAT, OPEN, Block, EventStream

from conformance import rawhttp

EVENT = re.compile(rb"id: (0|[1-9][0-9]*)\nevent: ([a-z]+\.[a-z]+)\ndata: ([^\n]*)\n\n")
BAD_IDS = ["abc", "-1", "01", "1.5", "+1", "12345678901234567", ""]

OpenStream = Callable[..., EventStream]


# -- fixtures and helpers ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def wait(events_heartbeat_seconds: int) -> float:
    """How long an event may take to arrive: well over a poll interval, bounded all the same."""
    return events_heartbeat_seconds + 3.0


@pytest.fixture(scope="module")
def schemas(spec_dir: Path) -> dict[str, jsonschema_rs.Validator]:
    """Validators for the Project and Task schemas of spec/openapi.yaml."""
    components = yaml.safe_load((spec_dir / "openapi.yaml").read_text(encoding="utf-8"))["components"]
    return {
        name: jsonschema_rs.validator_for({"$ref": f"#/components/schemas/{name}", "components": components})
        for name in ("Project", "Task")
    }


@pytest.fixture(scope="module", autouse=True)
def idle_stream(
    base_url: str, address: tuple[str, int], events_stream_seconds: int
) -> Iterator[Future[EventStream]]:
    """One stream of a user who never writes, read to its end in the background from the module's start.

    The heartbeat and end tests read it, so they cost no extra wall time when the module runs whole.
    """
    with httpx.Client(base_url=base_url, timeout=15.0) as http:
        user = new_user(http)
    stream = EventStream.open(address, headers=user.auth)

    def read_whole() -> EventStream:
        stream.read_to_end(events_stream_seconds + 5.0)
        return stream

    with ThreadPoolExecutor(max_workers=1) as pool:
        yield pool.submit(read_whole)
        stream.close()


@pytest.fixture
def open_stream(address: tuple[str, int], wait: float) -> Iterator[OpenStream]:
    """Open GET /events for a user (headers and query as given), check the opening block, return it."""
    opened: list[EventStream] = []

    def open_(user: User, target: str = "/events", headers: dict[str, str] | None = None) -> EventStream:
        stream = EventStream.open(address, target, {**user.auth, **(headers or {})}, timeout=wait)
        opened.append(stream)
        assert stream.response.status == 200, (stream.response.status, stream.response.headers)
        first = stream.next_block(wait)
        assert first is not None and first.raw == OPEN, first
        return stream

    yield open_
    for stream in opened:
        stream.close()


def etag_version(response: httpx.Response) -> int:
    """The version an ETag names (`"3"` -> 3)."""
    return int(response.headers["etag"].strip('"'))


def parse_event(block: Block) -> tuple[int, str, dict[str, Any]]:
    """(id, type, data) of an event block, after checking its exact framing and compact JSON."""
    match = EVENT.fullmatch(block.raw)
    assert match, f"not an `id/event/data` block: {block.raw!r}"
    text = match[3].decode("utf-8")
    data = json.loads(text)
    assert json.dumps(data, separators=(",", ":"), ensure_ascii=False) == text, f"not compact JSON: {text}"
    return int(match[1]), match[2].decode("ascii"), data


def expected_change(response: httpx.Response) -> dict[str, Any]:
    """The data of the created/updated event a successful write response must produce."""
    resource = response.json()
    assert resource["version"] == etag_version(response)
    return {"id": resource["id"], "version": resource["version"], "resource": resource}


def assert_events(
    blocks: list[Block],
    expected: list[tuple[str, dict[str, Any]]],
    schemas: dict[str, jsonschema_rs.Validator],
) -> list[int]:
    """The blocks are exactly the expected (type, data) events, ids strictly increasing; return the ids."""
    found = [parse_event(block) for block in blocks]
    assert [(kind, data) for _, kind, data in found] == expected, found
    ids = [ident for ident, _, _ in found]
    assert all(0 < a < b for a, b in itertools.pairwise(ids)), ids
    for _, kind, data in found:
        if "resource" in data:
            schema = schemas["Project" if kind.startswith("project.") else "Task"]
            errors = [str(error) for error in schema.iter_errors(data["resource"])]
            assert not errors, errors
    return ids


# -- errors before the stream --------------------------------------------------------------------


def test_without_a_token_is_401(client: httpx.Client) -> None:
    response = client.get("/events")
    assert_problem(response, "authentication-required")
    assert response.headers["www-authenticate"] == 'Bearer realm="tasks"'


def test_with_a_bad_token_is_401_before_validation(client: httpx.Client) -> None:
    response = client.get("/events?last_event_id=x", headers={"Authorization": "Bearer " + "A" * 43})
    assert_problem(response, "invalid-token")
    assert response.headers["www-authenticate"] == 'Bearer realm="tasks", error="invalid_token"'


@pytest.mark.parametrize("value", BAD_IDS)
def test_bad_last_event_id_header_is_422(client: httpx.Client, user: User, value: str) -> None:
    response = client.get("/events", headers={**user.auth, "Last-Event-ID": value})
    assert_validation(response, header=["Last-Event-ID"])


@pytest.mark.parametrize("value", BAD_IDS)
def test_bad_last_event_id_query_is_422(client: httpx.Client, user: User, value: str) -> None:
    response = client.get("/events", params={"last_event_id": value}, headers=user.auth)
    assert_validation(response, parameter=["last_event_id"])


def test_repeated_last_event_id_query_is_422(client: httpx.Client, user: User) -> None:
    response = client.get("/events?last_event_id=1&last_event_id=2", headers=user.auth)
    assert_validation(response, parameter=["last_event_id"])


def test_bad_header_and_query_are_reported_together(client: httpx.Client, user: User) -> None:
    # A valid header does not hide an invalid query parameter: validation reports every problem.
    response = client.get("/events?last_event_id=x", headers={**user.auth, "Last-Event-ID": "y"})
    assert_validation(response, header=["Last-Event-ID"], parameter=["last_event_id"])
    response = client.get("/events?last_event_id=x", headers={**user.auth, "Last-Event-ID": "1"})
    assert_validation(response, parameter=["last_event_id"])


# -- the stream ----------------------------------------------------------------------------------


def test_stream_headers_and_opening_block(
    open_stream: OpenStream, user: User, events_heartbeat_seconds: int
) -> None:
    stream = open_stream(user, headers={"X-Request-ID": "events-headers-test"})
    assert stream.header("content-type") == "text/event-stream"
    assert stream.header("cache-control") == "no-store"
    assert stream.header("x-accel-buffering") == "no"
    assert stream.header("x-request-id") == "events-headers-test"
    assert stream.header("content-length") is None
    # `: open` comes at once, long before any heartbeat would be due.
    assert stream.blocks[0].at < events_heartbeat_seconds, stream.blocks


def test_largest_event_id_is_accepted(open_stream: OpenStream, user: User) -> None:
    # 16 digits is the pattern's maximum; nothing comes after it, but the stream opens.
    open_stream(user, "/events?last_event_id=9999999999999999")


def test_changes_arrive_in_order_with_exact_data(
    client: httpx.Client, open_stream: OpenStream, user: User, schemas: dict[str, jsonschema_rs.Validator],
    wait: float,
) -> None:  # fmt: skip
    # A change made before the stream opened is not sent: a stream starts after the latest event.
    create_project(client, user, "written before the stream opened")
    stream = open_stream(user)
    expected: list[tuple[str, dict[str, Any]]] = []

    def write(kind: str, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = client.request(method, path, json=body, headers=user.auth)
        assert response.status_code == (201 if method == "POST" else 200), response.text
        expected.append((kind, expected_change(response)))
        return response.json()

    project = write("project.created", "POST", "/projects", {"name": "Live"})
    path = f"/projects/{project['id']}"
    write("project.updated", "PATCH", path, {"description": "now with tasks"})
    task = write("task.created", "POST", f"{path}/tasks", {"title": "Write tests"})
    write("task.updated", "PATCH", f"/tasks/{task['id']}", {"done": True})
    replacement = {"project_id": project["id"], "title": "Tests written", "notes": "", "done": True,
                   "priority": "high", "due_on": "2026-12-24"}  # fmt: skip
    write("task.updated", "PUT", f"/tasks/{task['id']}", replacement)
    assert client.delete(f"/tasks/{task['id']}", headers=user.auth).status_code == 204
    expected.append(("task.deleted", {"id": task["id"], "version": 3, "project_id": project["id"]}))
    # Deleting a project takes its tasks along with one project.deleted, no task.deleted each.
    write("task.created", "POST", f"{path}/tasks", {"title": "goes with its project"})
    assert client.delete(path, headers=user.auth).status_code == 204
    expected.append(("project.deleted", {"id": project["id"], "version": 2}))
    # Nothing more comes for the deleted project: the next event is the next write's.
    write("project.created", "POST", "/projects", {"name": "after"})

    assert_events(stream.read_events(len(expected), wait), expected, schemas)


def test_failed_writes_and_replays_emit_nothing(
    client: httpx.Client, open_stream: OpenStream, user: User, schemas: dict[str, jsonschema_rs.Validator],
    wait: float,
) -> None:  # fmt: skip
    auth = user.auth
    keyed = {**auth, "Idempotency-Key": "events-replay"}
    first = client.post("/projects", json={"name": "Keyed"}, headers=keyed)
    assert first.status_code == 201
    project_id = first.json()["id"]
    task = create_task(client, user, project_id)
    stream = open_stream(user)

    stale = {**auth, "If-Match": '"9"'}
    assert_problem(
        client.patch(f"/projects/{project_id}", json={"name": "x"}, headers=stale), "precondition-failed"
    )
    assert_problem(client.delete(f"/tasks/{task['id']}", headers=stale), "precondition-failed")
    assert_problem(client.patch(f"/tasks/{task['id']}", json={"title": ""}, headers=auth), "validation-error")
    assert_problem(client.post("/projects", json={"name": ""}, headers=auth), "validation-error")
    assert_problem(client.post(f"/projects/{project_id}/tasks", json={}, headers=auth), "validation-error")
    assert_problem(client.delete(f"/tasks/{MAX_ID}", headers=auth), "not-found")
    assert client.get(f"/projects/{project_id}", headers={**auth, "If-None-Match": '"1"'}).status_code == 304
    replay = client.post("/projects", json={"name": "Keyed"}, headers=keyed)
    assert replay.status_code == 201 and replay.headers.get("idempotent-replayed") == "true"

    marker = client.patch(f"/projects/{project_id}", json={"name": "marker"}, headers=auth)
    assert_events(stream.read_events(1, wait), [("project.updated", expected_change(marker))], schemas)


def test_another_users_changes_never_appear(
    client: httpx.Client, open_stream: OpenStream, user: User, other_user: User,
    schemas: dict[str, jsonschema_rs.Validator], wait: float,
) -> None:  # fmt: skip
    mine, theirs = open_stream(user), open_stream(other_user)
    project = client.post("/projects", json={"name": "theirs"}, headers=other_user.auth)
    task = create_task(client, other_user, project.json()["id"])
    assert client.delete(f"/tasks/{task['id']}", headers=other_user.auth).status_code == 204
    marker = client.post("/projects", json={"name": "mine"}, headers=user.auth)
    assert_events(mine.read_events(1, wait), [("project.created", expected_change(marker))], schemas)
    # And the other way round: their stream has their three events, then their next one, never mine.
    their_marker = client.patch(f"/projects/{project.json()['id']}", json={}, headers=other_user.auth)
    events = [parse_event(block) for block in theirs.read_events(4, wait)]
    assert [kind for _, kind, _ in events] == [
        "project.created",
        "task.created",
        "task.deleted",
        "project.updated",
    ]
    assert events[-1][2] == expected_change(their_marker)


def test_resume_after_an_id_by_header_and_by_query(
    client: httpx.Client, open_stream: OpenStream, user: User, wait: float
) -> None:
    project = create_project(client, user)

    def rename(name: str) -> None:
        response = client.patch(f"/projects/{project['id']}", json={"name": name}, headers=user.auth)
        assert response.status_code == 200, response.text

    first = open_stream(user)
    rename("one")
    rename("two")
    rename("three")
    e1, e2, e3 = first.read_events(3, wait)
    first.close()
    ids = [parse_event(block)[0] for block in (e1, e2, e3)]

    by_header = open_stream(user, headers={"Last-Event-ID": str(ids[0])})
    by_query = open_stream(user, f"/events?last_event_id={ids[1]}")
    rename("four")
    # Exactly the events after the id, sent as stored (the same bytes), and then only the new one.
    *replayed, e4 = by_header.read_events(3, wait)
    assert [block.raw for block in replayed] == [e2.raw, e3.raw]
    assert parse_event(e4)[0] > ids[2] and parse_event(e4)[2]["resource"]["name"] == "four"
    assert [block.raw for block in by_query.read_events(2, wait)] == [e3.raw, e4.raw]
    by_header.close()
    by_query.close()

    # The header wins over the query parameter. `0` is before the first event, but only this user's
    # own events come: the project's creation (before `first` opened) and the four renames.
    both = open_stream(user, f"/events?last_event_id={ids[1]}", headers={"Last-Event-ID": "0"})
    created, *renames = both.read_events(5, wait)
    assert parse_event(created)[1:] == (
        "project.created",
        {"id": project["id"], "version": 1, "resource": project},
    )
    assert [block.raw for block in renames] == [e1.raw, e2.raw, e3.raw, e4.raw]


def test_head_answers_at_once_without_a_body(
    address: tuple[str, int], user: User, events_stream_seconds: int
) -> None:
    # Connection: close, so the end of the response is the end of the connection: a server that ran
    # the stream would keep it open until the stream's end.
    host = f"{address[0]}:{address[1]}"
    request = rawhttp.request_bytes("HEAD", "/events", host, {**user.auth, "Connection": "close"})
    with rawhttp.connect(address, timeout=events_stream_seconds / 2) as sock:
        rawhttp.send_all(sock, request)
        reader = rawhttp.Reader(sock)
        response = reader.read_response(head_request=True)
        assert response.status == 200
        assert response.header("content-type") == "text/event-stream"
        assert response.header("cache-control") == "no-store"
        assert response.header("x-accel-buffering") == "no"
        assert response.header("x-request-id")
        assert reader.read_to_eof() == b""


def test_options_is_204_with_allow(client: httpx.Client) -> None:
    response = client.options("/events")
    assert response.status_code == 204
    assert response.headers["allow"] == "GET, HEAD, OPTIONS"
    assert response.content == b""


# -- heartbeats and the end (the idle stream, read since the module started) ---------------------


def idle_blocks(idle_stream: Future[EventStream], events_stream_seconds: int) -> list[Block]:
    """Every block of the idle stream, once it has ended by itself."""
    stream = idle_stream.result(timeout=events_stream_seconds + 10.0)
    assert stream.response.status == 200, stream.response
    assert stream.ended and stream.leftover == b"", (stream.blocks, stream.leftover)
    return stream.blocks


def test_heartbeat_after_idle_time(
    idle_stream: Future[EventStream], events_heartbeat_seconds: int, events_stream_seconds: int
) -> None:
    opening, *middle, _ = idle_blocks(idle_stream, events_stream_seconds)
    assert opening.raw == OPEN
    assert middle, "no heartbeat before the end"
    # Each heartbeat comes one idle period after the previous block (the opening one for the first).
    previous = opening.at
    for block in middle:
        assert block.raw == HEARTBEAT, middle
        assert events_heartbeat_seconds - 1.0 <= block.at - previous <= events_heartbeat_seconds + 3.0, middle
        previous = block.at


def test_stream_ends_by_itself(idle_stream: Future[EventStream], events_stream_seconds: int) -> None:
    blocks = idle_blocks(idle_stream, events_stream_seconds)
    # The last bytes of the body are exactly the end block; the response is then complete.
    assert blocks[-1].raw == END, blocks
    assert events_stream_seconds - 1.0 <= blocks[-1].at <= events_stream_seconds + 3.0, blocks
