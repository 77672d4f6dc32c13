"""Redis fails (outage, freeze): writes not slowed past its timeout, no event lost, streams woken again."""

import time
from collections.abc import Iterator

import httpx
import pytest
from conformance.answers import Answer, Answers, durations, loopback_client, send
from conformance.api import User, new_user
from conformance.eventwatch import EventWatch
from conformance.faultserver import EVENTS_POLL_SECONDS, FaultServer

WRITES = 3  # creates while Redis is failing
REDIS_TIMEOUT = 0.5  # spec: every Redis call has a 0.5 s connect and socket timeout and no retry
MARGIN = 1.0  # stated margin on top: a create itself takes milliseconds on loopback
WRITE_BOUND = REDIS_TIMEOUT + MARGIN
# A woken stream delivers at once; one that only polls takes up to EVENTS_POLL_SECONDS (4 here).
WAKE_BOUND = 1.5
POLL_BOUND = EVENTS_POLL_SECONDS + 2.0  # a polled event arrives within one poll interval (+ margin)
# After Redis is back, a stream tries to subscribe again within one poll interval.
RESUBSCRIBE_DEADLINE = EVENTS_POLL_SECONDS + 4.0
REQUEST_TIMEOUT = 15.0


@pytest.fixture(scope="module")
def redis_server(column, instance) -> Iterator[FaultServer]:
    """One instance for both faults, its REDIS_URL through the proxy."""
    column.skip_if_mixed()
    column.skip_unless_redis()
    with instance("redis") as running:
        yield running


@pytest.mark.parametrize("fault", ["down", "freeze"])
def test_redis_fault(redis_server, fault, exclusive, record):
    """A stream opened before the fault gets every event once; writes stay fast; wake-ups come back."""
    proxy = redis_server.redis
    assert proxy is not None
    with loopback_client(redis_server.base_url, REQUEST_TIMEOUT) as client:
        user = new_user(client)
        answers = Answers()
        problems: list[str] = []
        with exclusive(), EventWatch(redis_server.address, user.auth) as watch:
            assert watch.status == 200, watch.status
            before = wake_latency(client, user, watch, answers)
            if before is None or before > WAKE_BOUND:
                problems.append(
                    f"before the fault, Redis did not wake the stream within {WAKE_BOUND} s: {before}"
                )
            getattr(proxy, fault)()
            try:
                time.sleep(0.2)
                during = [create(client, user, answers, "during") for _ in range(WRITES)]
            finally:
                proxy.restore()
            restored = time.monotonic()
            problems += [f"a write while Redis is failing: {a.describe()}" for a in during if a.status != 201]
            problems += [
                f"slower than {WRITE_BOUND} s: {a.describe()}" for a in during if a.seconds > WRITE_BOUND
            ]
            ids = {a.body["id"] for a in during if a.status == 201}
            arrived = watch.wait_for(ids, "project.created", POLL_BOUND)
            if len(arrived) != len(ids):
                problems.append(
                    f"events of writes during the fault missing after {POLL_BOUND} s: {ids - set(arrived)}"
                )
            after = None
            while time.monotonic() - restored < RESUBSCRIBE_DEADLINE:
                after = wake_latency(client, user, watch, answers)
                if after is not None and after <= WAKE_BOUND:
                    break
            if after is None or after > WAKE_BOUND:
                problems.append(
                    f"{RESUBSCRIBE_DEADLINE} s after Redis came back, the stream still only polls: last "
                    f"event after {after} s (woken: under {WAKE_BOUND} s; polling: {EVENTS_POLL_SECONDS} s)"
                )
            time.sleep(0.5)  # a duplicate would come now
            created = [a.body["id"] for a in answers.of() if a.status == 201]
            streamed = [seen.resource_id for seen in watch.events if seen.type == "project.created"]
            missing = sorted(set(created) - set(streamed))
            duplicates = len(streamed) - len(set(streamed))
            if missing or duplicates or streamed != sorted(streamed):
                problems.append(f"stream: created {created}, streamed {streamed}")

    record(
        f"redis_{fault}",
        {
            "answered": answers.by_outcome(),
            "write_durations_during_fault": durations(during),
            "wake_seconds_before": before,
            "wake_seconds_after": after,
            "seconds_to_wake_again": round(time.monotonic() - restored, 1),
            "lost": len(missing),
            "duplicates": duplicates,
            "stuck": 0,
        },
    )
    assert not problems, problems


def create(client: httpx.Client, user: User, answers: Answers, kind: str) -> Answer:
    """POST /projects, recorded."""
    return answers.add(send(client, kind, "POST", "/projects", json={"name": kind}, headers=user.auth))


def wake_latency(client: httpx.Client, user: User, watch: EventWatch, answers: Answers) -> float | None:
    """Seconds from a create's 201 to its event, for a create sent just after the stream's last read.

    First a create whose event is waited for (the stream has just read the table, woken or by its poll),
    then at once a second one: a stream that only polls delivers it up to a poll interval later, a woken
    one at once. None when an event did not arrive within POLL_BOUND.
    """
    first = create(client, user, answers, "probe")
    if first.status != 201 or not watch.wait_for({first.body["id"]}, "project.created", POLL_BOUND):
        return None
    second = create(client, user, answers, "probe")
    if second.status != 201:
        return None
    arrived = watch.wait_for({second.body["id"]}, "project.created", POLL_BOUND)
    if not arrived:
        return None
    return round(arrived[second.body["id"]] - second.ended, 2)
