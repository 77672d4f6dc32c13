"""Write storm: 32 writers, 320 creates; each 201 or a proper 503, each 201 stored and in the outbox once."""

import json
import time
from collections import Counter
from urllib.parse import urlsplit

from conformance.answers import (
    Answer,
    Answers,
    durations,
    in_parallel,
    loopback_client,
    send,
    unavailable_problem,
)
from conformance.api import User, list_all_projects, new_user
from conformance.sse import EventStream

WRITERS = 32
CREATES_PER_WRITER = 10  # 320 creates: minutes of a busy day in a few seconds
USERS = 4  # eight writers per user: one user's writes serialise on its row lock (spec: "Ids in commit order")
REQUEST_TIMEOUT = 30.0  # an answer later than this counts as stuck (DATABASE_TIMEOUT_SECONDS is 2 to 5)
STORM_TIMEOUT = 120.0  # the whole storm; writers still busy then are stuck
OUTBOX_TIMEOUT = 20.0  # to read every user's events back from GET /events
QUIET = 1.0  # after the last expected event: anything more within this is a duplicate or a stray


def test_write_storm(service_url, exclusive, record):
    """Every answer is 201 or 503 service-unavailable with Retry-After; no 500, nothing stuck or lost."""
    with loopback_client(service_url, REQUEST_TIMEOUT) as client:
        users = [new_user(client) for _ in range(USERS)]
    answers = Answers()

    def writer(index: int) -> None:
        user = users[index % USERS]
        with loopback_client(service_url, REQUEST_TIMEOUT) as client:
            for number in range(CREATES_PER_WRITER):
                body = {"name": f"storm {index}-{number}"}
                answers.add(
                    send(client, f"user{index % USERS}", "POST", "/projects", json=body, headers=user.auth)
                )

    with exclusive():
        stuck = in_parallel(WRITERS, writer, STORM_TIMEOUT)
    everything = answers.of()
    problems = [p for a in everything if a.status != 201 and (p := unavailable_problem(a))]

    lost: list[int] = []
    extra: list[int] = []
    missing_events: list[int] = []
    duplicate_events: list[int] = []
    acknowledged = [{a.body["id"] for a in answers.of(f"user{n}") if a.status == 201} for n in range(USERS)]
    outboxes: list[Counter[int]] = [Counter() for _ in range(USERS)]

    def read_outbox(number: int) -> None:
        outboxes[number] = outbox_counts(service_url, users[number], len(acknowledged[number]))

    in_parallel(USERS, read_outbox, OUTBOX_TIMEOUT + 10)  # one stream per user, at the same time
    with loopback_client(service_url, REQUEST_TIMEOUT) as client:
        for number, user in enumerate(users):
            stored = {project["id"] for project in list_all_projects(client, user)}
            lost += sorted(acknowledged[number] - stored)
            extra += sorted(stored - acknowledged[number])  # a 503 must have rolled its create back
            counts, created = outboxes[number], acknowledged[number]
            missing_events += sorted(created - set(counts))
            duplicate_events += sorted(p for p, count in counts.items() if count > 1 or p not in created)

    record(
        "write_storm",
        {
            "writers": WRITERS,
            "requests": len(everything),
            "answered": answers.by_outcome(),
            "lost": len(lost),
            "extra": len(extra),
            "stuck": stuck,
            "outbox_missing": len(missing_events),
            "duplicates": len(duplicate_events),
            "durations": durations(everything),
            "seconds": round(span(everything), 1),
        },
    )
    assert stuck == 0, f"{stuck} writers still waiting after {STORM_TIMEOUT:.0f} s"
    assert len(everything) == WRITERS * CREATES_PER_WRITER
    assert not problems, f"{len(problems)} answers neither 201 nor a proper 503: {problems[:5]}"
    assert not lost, f"acknowledged (201) but not stored: {lost[:10]}"
    assert not extra, f"stored although not acknowledged (a 503 that did not roll back): {extra[:10]}"
    assert not missing_events, f"201 without a project.created event: {missing_events[:10]}"
    assert not duplicate_events, f"project.created more than once or for no 201: {duplicate_events[:10]}"


def span(answers: list[Answer]) -> float:
    """Seconds from the first request sent to the last answer."""
    if not answers:
        return 0.0
    return max(a.ended for a in answers) - min(a.started for a in answers)


def outbox_counts(base_url: str, user: User, expected: int) -> Counter[int]:
    """How many project.created events each project of `user` has, read from the start of GET /events."""
    parts = urlsplit(base_url)
    address = (parts.hostname or "127.0.0.1", parts.port or 80)
    counts: Counter[int] = Counter()
    last = 0
    deadline = _now() + OUTBOX_TIMEOUT
    while _now() < deadline:
        # Resume after the last event seen: a stream is bounded (EVENTS_STREAM_SECONDS) and may end.
        with EventStream.open(
            address, "/events", headers={**user.auth, "Last-Event-ID": str(last)}
        ) as stream:
            assert stream.response.status == 200, stream.response
            while _now() < deadline:
                wait = QUIET if sum(counts.values()) >= expected else deadline - _now()
                try:
                    block = stream.next_block(max(wait, 0.01))
                except TimeoutError:
                    if sum(counts.values()) >= expected:
                        return counts  # all there, and nothing more within QUIET
                    break
                if block is None:
                    break  # the stream ended: reconnect from `last`
                if block.is_event:
                    last = int(block.field("id") or last)
                    if block.field("event") == "project.created":
                        counts[_resource_id(block.field("data"))] += 1
    return counts


def _resource_id(data: str | None) -> int:
    return int(json.loads(data or "{}").get("id", 0))


def _now() -> float:
    return time.monotonic()
