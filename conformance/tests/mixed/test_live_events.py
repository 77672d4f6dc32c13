"""Live events across ports: subscribe on one, write on another, resume on a third; the gateway unbuffered."""

from __future__ import annotations

import json

import httpx
import pytest
from conformance.api import create_project, create_task, new_user
from conformance.sse import HEARTBEAT, OPEN, Block, EventStream


@pytest.fixture(scope="module")
def wait(events_heartbeat_seconds: int) -> float:
    """How long an event may take to arrive: well over a poll interval, bounded all the same."""
    return events_heartbeat_seconds + 3.0


def _data(block: Block) -> dict[str, object]:
    data = block.field("data")
    assert data is not None, block
    return json.loads(data)


def test_subscribe_on_one_port_write_on_another_resume_on_a_third(
    clients: list[httpx.Client], port_addresses: dict[str, tuple[str, int]], wait: float
) -> None:
    addresses = list(port_addresses.values())
    a, b, _, d = (clients[i % len(clients)] for i in range(4))
    address_a, address_c = addresses[0], addresses[2 % len(addresses)]
    user = new_user(a)
    with EventStream.open(address_a, headers=user.auth) as stream:
        assert stream.response.status == 200, stream.response
        assert stream.next_block(wait).raw == OPEN
        project = create_project(b, user)  # written through B, seen on A's stream
        [created] = stream.read_events(1, wait)
    assert created.field("event") == "project.created"
    assert _data(created)["id"] == project["id"]
    last_id = created.field("id")
    assert last_id is not None
    # While nobody listens, D and B write; C's stream must start right after A's last event.
    updated = d.patch(f"/projects/{project['id']}", json={"name": "renamed"}, headers=user.auth)
    assert updated.status_code == 200, updated.text
    task = create_task(b, user, project["id"])
    resume = {**user.auth, "Last-Event-ID": last_id}
    with EventStream.open(address_c, headers=resume) as stream:
        assert stream.response.status == 200, stream.response
        assert stream.next_block(wait).raw == OPEN
        missed = stream.read_events(2, wait)
        # Nothing repeated, nothing more: the next block is an idle heartbeat, not an event.
        after = stream.next_block(wait)
    assert [block.field("event") for block in missed] == ["project.updated", "task.created"]
    assert [_data(block)["id"] for block in missed] == [project["id"], task["id"]]
    ids = [int(last_id), *(int(block.field("id") or 0) for block in missed)]
    assert ids == sorted(set(ids)), ids
    assert after is not None and after.raw == HEARTBEAT, after


def test_gateway_streams_events_unbuffered(
    address: tuple[str, int], clients: list[httpx.Client], wait: float, events_heartbeat_seconds: int
) -> None:
    user = new_user(clients[0])
    with EventStream.open(address, headers=user.auth) as stream:
        assert stream.response.status == 200, stream.response
        assert stream.header("content-type") == "text/event-stream"
        # The port's hint to proxies is passed on by the gateway, for a proxy in front of it.
        assert stream.header("x-accel-buffering") == "no"
        opened = stream.next_block(wait)
        assert opened.raw == OPEN
        # A buffering gateway would hold these 21 bytes until its buffer filled or the stream ended.
        assert opened.at < 2.0, opened
        project = create_project(clients[-1], user)
        [event] = stream.read_events(1, wait)
        assert _data(event)["id"] == project["id"]
        heartbeat = stream.next_block(wait)
    assert heartbeat is not None and heartbeat.raw == HEARTBEAT
    # 13 bytes, passed on as soon as the port wrote them.
    assert heartbeat.at - event.at < events_heartbeat_seconds + 2.0, (event, heartbeat)
