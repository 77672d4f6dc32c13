"""Time-based rules from outside: token expiry, idempotency and event retention, the claim lease."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx
import pytest
from conformance.answers import in_parallel, loopback_client
from conformance.api import (
    PASSWORD,
    PROBLEM_BASE,
    assert_json,
    assert_problem,
    register,
)
from conformance.faultserver import IDEMPOTENCY_LEASE_SECONDS, FaultServer, fault_server, log_path
from conformance.figures import record
from conformance.quiet import quiet
from conformance.sse import EventStream

# Short durations (spec/README.md, "Configuration"), so that every rule can be waited out in seconds.
TOKEN_TTL_SECONDS = 3
EVENTS_RETENTION_SECONDS = 3
# Longer than the lease (3 s, faultserver.py) plus the race: a record past its retention is deleted when
# its key is used again, so a stale claim that old would be replaced, not taken over, and the lease
# would go untested.
IDEMPOTENCY_RETENTION_SECONDS = 10
TIME_ENV = {
    "TOKEN_TTL_SECONDS": str(TOKEN_TTL_SECONDS),
    "EVENTS_RETENTION_SECONDS": str(EVENTS_RETENTION_SECONDS),
    "IDEMPOTENCY_RETENTION_SECONDS": str(IDEMPOTENCY_RETENTION_SECONDS),
    "IDEMPOTENCY_LEASE_SECONDS": str(IDEMPOTENCY_LEASE_SECONDS),
}
# The server's timestamps are whole seconds, cut down: a duration has surely passed for the server one
# second after the stamp it counts from, plus this margin for the clock read between.
STAMP_SECOND = 1.0
MARGIN = 0.3
TIMEOUT = 10.0  # per request
# An event already stored reaches a new stream at once or at its first poll (EVENTS_POLL_SECONDS = 4).
STREAM_READ = 10.0
RESULT_WAIT = 90.0  # the longest a test waits for its scenario (they run side by side; ~12 s is usual)
# The stale claim: keyed creates from WRITERS clients, one worker SIGKILLed KILL_AT into the burst.
WRITERS = 12
BURST = 1.0
KILL_AT = 0.5
BURSTS = 6  # attempts at leaving a claim behind (a killed request may die before or after its claim)
STALE_KEYS = 2  # stale claims raced
RACERS = 6  # retries racing per stale claim
IN_FLIGHT = PROBLEM_BASE + "idempotency-in-flight"
INVALID_TOKEN_CHALLENGE = 'Bearer realm="tasks", error="invalid_token"'


@dataclass
class Servers:
    """The instances the scenarios use: one per-port, two ports on one database in the mixed column."""

    running: list[FaultServer]
    report_dir: Path
    logs_dir: Path
    # An instance of the first port of its own, whose workers the lease scenario kills (the others' requests
    # must not meet a killed worker), logged as a deliberate crash.
    victim: Callable[[], AbstractContextManager[FaultServer]]

    def url(self, index: int) -> str:
        """Round robin: in the mixed column consecutive requests go to different ports."""
        return self.running[index % len(self.running)].base_url

    def address(self, index: int) -> tuple[str, int]:
        """(host, port) of the same round robin, for the raw event-stream reader."""
        return self.running[index % len(self.running)].address


Scenario = Callable[[Servers], dict]


@pytest.fixture(scope="module")
def outcomes(column, database_url: str, logs_dir: Path) -> Iterator[dict[str, Future]]:
    """Start the instance(s) with TIME_ENV and every scenario at once: their waits overlap."""
    # The mixed column's per-port experiments use instances of its ports (as test_crash does): two here,
    # on one database, so tokens, keys, events and claims cross from one port to the other.
    ports = column.ports[:2] if column.mixed else column.ports[:1]
    with ExitStack() as stack:
        running = [
            stack.enter_context(
                fault_server(
                    port, column.start_of(port), database_url, column.redis_url,
                    log_path(logs_dir, f"time-{port.name}"), f"time-{port.name}", env=TIME_ENV,
                )
            )
            for port in ports
        ]  # fmt: skip
        victim = column.ports[0]

        def launch() -> AbstractContextManager[FaultServer]:
            name = f"time-lease-{victim.name}"
            log = log_path(logs_dir, name, crash=True)
            return fault_server(
                victim, column.start_of(victim), database_url, column.redis_url, log, name, env=TIME_ENV
            )

        servers = Servers(running, column.report_dir, logs_dir, launch)
        pool = ThreadPoolExecutor(len(SCENARIOS), thread_name_prefix="time")
        stack.callback(pool.shutdown, wait=True, cancel_futures=True)  # before the servers go
        yield {name: pool.submit(scenario, servers) for name, scenario in SCENARIOS.items()}


def test_token_expires(outcomes):
    """A token works before its expires_at; after it, read, write and stream are 401 invalid-token."""
    outcomes["token"].result(RESULT_WAIT)


def test_idempotency_key_retention(outcomes):
    """A key replays within its retention; reused after it, it creates a new resource."""
    outcomes["key"].result(RESULT_WAIT)


def test_events_retention(outcomes):
    """Last-Event-ID older than the retention resumes after the pruned gap; within it nothing is missed."""
    outcomes["events"].result(RESULT_WAIT)


def test_stale_claim_taken_over_once(outcomes):
    """Retries racing on a claim left by a killed worker: after the lease exactly one creates, all end so."""
    outcomes["lease"].result(RESULT_WAIT)


class Login:
    """A user whose token is renewed before it expires: every scenario outlives TOKEN_TTL_SECONDS."""

    def __init__(self, base_url: str) -> None:
        self._base_url = base_url
        self._lock = threading.Lock()
        with loopback_client(base_url, TIMEOUT) as client:
            self.email = register(client)["email"]
        self._token = ""
        self._renew_at = 0.0

    @property
    def auth(self) -> dict[str, str]:
        """The Authorization header of a token that has some life left (a new one when it is old)."""
        with self._lock:
            if time.monotonic() >= self._renew_at:
                self._login()
            return {"Authorization": f"Bearer {self._token}"}

    def expired(self, auth: dict[str, str]) -> None:
        """The token of `auth` was refused (it expired in flight): log in again, unless a thread did."""
        with self._lock:
            if auth["Authorization"] == f"Bearer {self._token}":
                self._login()

    def _login(self) -> None:
        with loopback_client(self._base_url, TIMEOUT) as client:
            response = client.post("/tokens", json={"email": self.email, "password": PASSWORD})
        self._token = assert_json(response, 201)["access_token"]
        # A token lives at least TTL - 1 s (expires_at is cut to whole seconds): renewed half-way.
        self._renew_at = time.monotonic() + (TOKEN_TTL_SECONDS - STAMP_SECOND) / 2


def authorized(
    client: httpx.Client, user: Login, method: str, path: str, headers: dict[str, str] | None = None,
    **options: object,
) -> httpx.Response:  # fmt: skip
    """A request with the user's token; sent once more with a new token if that one expired in flight."""
    for attempt in range(2):
        auth = user.auth
        response = client.request(method, path, headers={**(headers or {}), **auth}, **options)  # type: ignore[arg-type]
        if response.status_code != 401 or attempt:
            break
        user.expired(auth)  # a 401 changes nothing (authentication comes first): safe to send again
    return response


def projects(base_url: str, user: Login) -> list[dict]:
    """Every project of the user, page after page."""
    items: list[dict] = []
    params = {"limit": "100"}
    with loopback_client(base_url, TIMEOUT) as client:
        while True:
            body = assert_json(authorized(client, user, "GET", "/projects", params=params), 200)
            items += body["items"]
            if body["next_cursor"] is None:
                return items
            params["cursor"] = body["next_cursor"]


# -- token expiry -----------------------------------------------------------------------------------


def token_expiry(servers: Servers) -> dict:
    """Log in, use the token on every operation class before expires_at, and again after it."""
    with loopback_client(servers.url(0), TIMEOUT) as client:
        email = register(client)["email"]
    for _attempt in range(3):
        with loopback_client(servers.url(1), TIMEOUT) as client:
            response = client.post("/tokens", json={"email": email, "password": PASSWORD})
        body = assert_json(response, 201)
        expires = epoch(body["expires_at"])
        issued = date_of(response)
        assert TOKEN_TTL_SECONDS - 2 <= expires - issued <= TOKEN_TTL_SECONDS + 1, (
            f"expires_at {body['expires_at']} is not TOKEN_TTL_SECONDS={TOKEN_TTL_SECONDS} after the "
            f"response's Date {response.headers.get('date')}"
        )
        before = use_token(servers, body["access_token"])
        # A refusal whose Date is before expires_at was made while the token was valid: a bug. One dated
        # at or after it says only that this machine was too slow to use the token in time: try again.
        refused = [(name, r) for name, r, ok in before if not ok]
        wrongly = [f"{name}: {r.status_code} {r.text[:200]}" for name, r in refused if date_of(r) < expires]
        assert not wrongly, f"the token was refused before its expires_at {body['expires_at']}: {wrongly}"
        if not refused:
            break
    else:
        pytest.fail("three tokens in a row could not be used before their expires_at (machine too slow)")
    sleep_until(expires + MARGIN)
    after = use_token(servers, body["access_token"])
    for name, response, _ok in after:
        assert response.status_code == 401, (
            f"{name} with a token past its expires_at {body['expires_at']} "
            f"(Date {response.headers.get('date')}): {response.status_code} {response.text[:200]}"
        )
        assert_problem(response, "invalid-token")
        assert response.headers.get_list("www-authenticate") == [INVALID_TOKEN_CHALLENGE], (
            name,
            response.headers,
        )
    return {}


def use_token(servers: Servers, token: str) -> list[tuple[str, httpx.Response, bool]]:
    """A read, a write and the stream with `token`: (name, response, whether it was accepted)."""
    auth = {"Authorization": f"Bearer {token}"}
    results = []
    with loopback_client(servers.url(0), TIMEOUT) as client:
        response = client.get("/users/me", headers=auth)
        results.append(("GET /users/me", response, response.status_code == 200))
    with loopback_client(servers.url(1), TIMEOUT) as client:
        response = client.post("/projects", json={"name": "token"}, headers=auth)
        results.append(("POST /projects", response, response.status_code == 201))
    with loopback_client(servers.url(2), TIMEOUT) as client:
        # Only the head of a stream that opens; leaving the block drops the connection.
        with client.stream("GET", "/events", headers=auth) as response:
            if response.status_code != 200:
                response.read()
        results.append(("GET /events", response, response.status_code == 200))
    return results


# -- idempotency retention --------------------------------------------------------------------------


def key_retention(servers: Servers) -> dict:
    """The same key and body: 201, a replay, then (past the retention) a new 201 and its replay."""
    user = Login(servers.url(0))
    key = uuid.uuid4().hex
    first = keyed_create(servers.url(0), user, key)
    created = assert_json(first, 201)
    assert "idempotent-replayed" not in first.headers, first.headers
    replay = keyed_create(servers.url(1), user, key)
    assert replay.status_code == 201 and replay.headers.get("idempotent-replayed") == "true", (
        f"within its retention the key must replay: {replay.status_code} {replay.headers} {replay.text[:200]}"
    )
    assert replay.content == first.content, (replay.text, first.text)
    # The record was claimed no later than the project was created.
    sleep_until(epoch(created["created_at"]) + IDEMPOTENCY_RETENTION_SECONDS + STAMP_SECOND + MARGIN)
    again = keyed_create(servers.url(0), user, key)
    assert again.status_code == 201 and "idempotent-replayed" not in again.headers, (
        f"a key reused after IDEMPOTENCY_RETENTION_SECONDS={IDEMPOTENCY_RETENTION_SECONDS} must create anew: "
        f"{again.status_code} {again.headers} {again.text[:200]}"
    )
    renewed = again.json()
    assert renewed["id"] != created["id"], (created, renewed)
    replay = keyed_create(servers.url(1), user, key)
    assert replay.headers.get("idempotent-replayed") == "true" and replay.content == again.content, (
        f"the new record must replay: {replay.status_code} {replay.headers} {replay.text[:200]}"
    )
    ids = sorted(project["id"] for project in projects(servers.url(0), user) if project["name"] == key)
    assert ids == sorted([created["id"], renewed["id"]]), ids
    return {}


def keyed_create(base_url: str, user: Login, key: str) -> httpx.Response:
    """POST /projects named after its Idempotency-Key."""
    with loopback_client(base_url, TIMEOUT) as client:
        return authorized(
            client, user, "POST", "/projects", json={"name": key}, headers={"Idempotency-Key": key}
        )


# -- events retention -------------------------------------------------------------------------------


def events_retention(servers: Servers) -> dict:
    """Two events, then past the retention two more: a resume from the first misses the pruned second."""
    user = Login(servers.url(0))
    with loopback_client(servers.url(0), TIMEOUT) as client:
        one = create(client, user, "one")
    with loopback_client(servers.url(1), TIMEOUT) as client:
        two = create(client, user, "two")
    early = read_events(servers.address(0), user, 0, two["id"])
    assert [resource for _id, resource in early] == [one["id"], two["id"]], (
        f"within the retention a stream from 0 misses nothing: {early}"
    )
    first_id, second_id = (event_id for event_id, _resource in early)
    sleep_until(epoch(two["created_at"]) + EVENTS_RETENTION_SECONDS + STAMP_SECOND + MARGIN)
    with loopback_client(servers.url(0), TIMEOUT) as client:
        three = create(client, user, "three")  # its writer prunes the events of one and two
    # Still within the retention when four's writer prunes again: it must stay.
    time.sleep(STAMP_SECOND)
    with loopback_client(servers.url(1), TIMEOUT) as client:
        four = create(client, user, "four")
    resumed = read_events(servers.address(1), user, first_id, four["id"])
    # spec/README.md, Live events, Retention: an id older than the retention misses the pruned events
    # (two's); the stream goes on after the gap with every event still stored, in order.
    assert [resource for _id, resource in resumed] == [three["id"], four["id"]], (
        f"resumed after {first_id} (pruned, as is {second_id}): expected the events of {three['id']} and "
        f"{four['id']} exactly, got (event id, project id) {resumed}"
    )
    assert resumed[0][0] > second_id, resumed
    return {}


def create(client: httpx.Client, user: Login, name: str) -> dict:
    """POST /projects; the project."""
    return assert_json(authorized(client, user, "POST", "/projects", json={"name": name}), 201)


def read_events(address: tuple[str, int], user: Login, after: int, last: int) -> list[tuple[int, int]]:
    """(event id, project id) of the user's project.created events after `after`, up to project `last`."""
    headers = {**user.auth, "Last-Event-ID": str(after)}
    seen: list[tuple[int, int]] = []
    with EventStream.open(address, "/events", headers=headers, timeout=TIMEOUT) as stream:
        assert stream.response.status == 200, stream.response
        deadline = time.monotonic() + STREAM_READ
        while not seen or seen[-1][1] != last:
            block = stream.read_events(1, max(deadline - time.monotonic(), 0.0))[0]
            data = json.loads(block.field("data") or "{}")
            assert block.field("event") == "project.created", block
            seen.append((int(block.field("id") or 0), data["id"]))
    return seen


# -- the lease --------------------------------------------------------------------------------------


@dataclass
class Reply:
    """One keyed create: when it was sent and answered (monotonic), and what came back."""

    started: float
    ended: float
    status: int | None = None  # None: no response (the worker was killed)
    replayed: bool = False
    retry_after: str | None = None
    problem_type: str | None = None
    body: bytes = b""
    error: str = ""

    def describe(self) -> str:
        """A short line for an assertion message."""
        outcome = self.status if self.status is not None else f"no response ({self.error})"
        extra = " replayed" if self.replayed else ""
        return f"{outcome}{extra} {self.problem_type or ''} Retry-After={self.retry_after}"


@dataclass
class Race:
    """Every reply of every racer for one key."""

    key: str
    sent: float  # when the killed request with this key was sent
    replies: list[Reply] = field(default_factory=list)
    finals: list[Reply | None] = field(default_factory=list)


def lease_takeover(servers: Servers) -> dict:
    """Leave claims behind (SIGKILL a worker mid-burst), then race retries on them after the lease."""
    # Started in this scenario's thread: while it starts, the other scenarios wait out their durations.
    with servers.victim() as victim:
        # Probes and racers go round robin over the victim and, in the mixed column, the other port.
        lease = Servers([victim, *servers.running[1:]], servers.report_dir, servers.logs_dir, servers.victim)
        return lease_experiment(lease, victim)


def lease_experiment(servers: Servers, victim: FaultServer) -> dict:
    """Bursts until a claim is left behind, then RACERS retries per stale claim after its lease."""
    user = Login(victim.base_url)
    stale: list[Race] = []
    killed_at = 0.0
    bursts = 0
    while not stale and bursts < BURSTS:
        bursts += 1
        sent, replies, killed_at = burst(servers, victim, user)
        problems = [f"{key}: {r.describe()}" for key, r in replies.items() if not burst_answer(r)]
        assert not problems, f"answers outside the rules during the burst: {problems[:5]}"
        pending = [key for key, reply in replies.items() if reply.status != 201]
        # A key whose request died: 409 in flight now means its claim outlived it (nothing else holds it).
        for index, key in enumerate(pending):
            probe = send_keyed(servers.url(index + 1), user, key)
            if probe.status == 409 and probe.problem_type == IN_FLIGHT and probe.retry_after:
                stale.append(Race(key, sent[key]))
    assert stale, (
        f"{BURSTS} bursts with a worker killed left no claim behind (every killed request died early)"
    )
    races = stale[:STALE_KEYS]
    # Each claim was made before the kill; its lease is over for the server one stamp second later.
    sleep_until_monotonic(killed_at + IDEMPOTENCY_LEASE_SECONDS + STAMP_SECOND + MARGIN)
    # From its request's sending + the retention on, retention could delete the claim and a retry would
    # make a new one: the takeover must come before, or the lease is not what ended the wait.
    deadline = min(race.sent for race in races) + IDEMPOTENCY_RETENTION_SECONDS - MARGIN
    run_races(servers, user, races, deadline)
    names = Counter(project["name"] for project in projects(servers.url(0), user))
    figures = {
        "bursts": bursts,
        "stale_claims": len(stale),
        "raced": len(races),
        "racers": RACERS,
        "replies": dict(Counter(r.describe() for race in races for r in race.replies)),
        "projects_per_key": {race.key: names[race.key] for race in races},
    }
    record(servers.report_dir, "time_lease", figures)
    for race in races:
        assert_race(race, names[race.key])
    return figures


Sent = dict[str, float]  # when each key's first request was sent


def burst(servers: Servers, victim: FaultServer, user: Login) -> tuple[Sent, dict[str, Reply], float]:
    """Keyed creates from WRITERS clients for BURST seconds; one worker SIGKILLed at KILL_AT."""
    sent: Sent = {}
    replies: dict[str, Reply] = {}
    killed: list[float] = []
    ready = threading.Barrier(WRITERS + 1)

    def writer(index: int) -> None:
        if index == WRITERS:
            ready.wait(TIMEOUT)
            time.sleep(KILL_AT)
            killed.append(time.monotonic())
            victim.kill_worker()
            return
        with loopback_client(victim.base_url, TIMEOUT) as client:
            ready.wait(TIMEOUT)
            started = time.monotonic()
            while time.monotonic() - started < BURST:
                key = uuid.uuid4().hex
                sent[key] = time.monotonic()
                reply = replies[key] = keyed(client, user, key)
                if reply.status != 201:
                    return  # a client with an open key retries it (below), it does not go on

    # A burst loads the machine: not while the other lane measures a bound.
    with quiet(servers.logs_dir):
        stuck = in_parallel(WRITERS + 1, writer, BURST + 3 * TIMEOUT)
    assert stuck == 0 and killed, f"{stuck} writers stuck; killed at {killed}"
    return sent, replies, killed[0]


def burst_answer(reply: Reply) -> bool:
    """201, no response (the killed worker's), or 503 with Retry-After (a busy database)."""
    return reply.status in (201, None) or (reply.status == 503 and bool(reply.retry_after))


def run_races(servers: Servers, user: Login, races: list[Race], deadline: float) -> None:
    """RACERS retries per key, released together; each retries a 409 until its 201 or the deadline."""
    barrier = threading.Barrier(len(races) * RACERS)
    lock = threading.Lock()

    def racer(index: int) -> None:
        race = races[index // RACERS]
        final: Reply | None = None
        with loopback_client(servers.url(index), TIMEOUT) as client:
            client.get("/healthz")  # connected before the barrier: the requests race, not the handshakes
            barrier.wait(TIMEOUT)
            while time.monotonic() < deadline:
                reply = keyed(client, user, race.key)
                with lock:
                    race.replies.append(reply)
                if not (reply.status == 409 and reply.problem_type == IN_FLIGHT and reply.retry_after):
                    final = reply
                    break
                # Sooner than Retry-After (which a client may do): a 409 must stop once the owner stored.
                time.sleep(0.25)
        with lock:
            race.finals.append(final)

    stuck = in_parallel(len(races) * RACERS, racer, deadline - time.monotonic() + 2 * TIMEOUT)
    assert stuck == 0, f"{stuck} racers stuck"


def assert_race(race: Race, projects: int) -> None:
    """One 201 made the project; every other racer replayed it; 409s only before that 201 was answered."""
    # Answers by kind, in the order first seen (a race that never ends can have a hundred 409s).
    described = dict(Counter(r.describe() for r in sorted(race.replies, key=lambda r: r.started)))
    made = [r for r in race.replies if r.status == 201 and not r.replayed]
    assert len(made) == 1, (
        f"key {race.key}: after the lease exactly one retry must take the stale claim over and create "
        f"(201 without Idempotent-Replayed), got {len(made)}: {described}"
    )
    unfinished = [final.describe() if final else "no final answer" for final in race.finals if not ok(final)]
    assert not unfinished, (
        f"key {race.key}: every retry ends with the project (201): {unfinished}; {described}"
    )
    assert all(final and final.body == made[0].body for final in race.finals), (
        f"key {race.key}: a replay differs from the first 201: {described}"
    )
    late = [r.describe() for r in race.replies if r.status == 409 and r.started > made[0].ended]
    assert not late, (
        f"key {race.key}: 409 sent after the 201 was answered (the key is no longer in flight): {late}"
    )
    assert projects == 1, f"key {race.key}: {projects} projects (exactly one expected)"


def ok(reply: Reply | None) -> bool:
    """A racer's last answer: 201 (made, or replayed)."""
    return reply is not None and reply.status == 201


def send_keyed(base_url: str, user: Login, key: str) -> Reply:
    """One keyed create on a client of its own."""
    with loopback_client(base_url, TIMEOUT) as client:
        return keyed(client, user, key)


def keyed(client: httpx.Client, user: Login, key: str) -> Reply:
    """POST /projects named after its Idempotency-Key, never raising for a failed exchange."""
    started = time.monotonic()
    try:
        response = authorized(
            client, user, "POST", "/projects", json={"name": key}, headers={"Idempotency-Key": key}
        )
    except httpx.HTTPError as exc:
        return Reply(started, time.monotonic(), error=type(exc).__name__)
    problem = response.json() if response.headers.get("content-type") == "application/problem+json" else {}
    return Reply(
        started,
        time.monotonic(),
        response.status_code,
        response.headers.get("idempotent-replayed") == "true",
        response.headers.get("retry-after"),
        problem.get("type"),
        response.content,
    )


# -- the server's clock, through the API --------------------------------------------------------------


def epoch(stamp: str) -> float:
    """A spec timestamp (2026-11-28T13:53:04Z) in seconds since the epoch."""
    return datetime.strptime(stamp.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S%z").timestamp()


def date_of(response: httpx.Response) -> float:
    """The response's Date header (RFC 9110 6.6.1: every response has one) in seconds since the epoch."""
    value = response.headers.get("date")
    assert value, f"no Date header: {response.headers}"
    return parsedate_to_datetime(value).timestamp()


def sleep_until(moment: float) -> None:
    """Sleep until `moment` (seconds since the epoch): the servers run on this machine, on its clock."""
    time.sleep(max(moment - time.time(), 0.0))


def sleep_until_monotonic(moment: float) -> None:
    """Sleep until `moment` on the monotonic clock."""
    time.sleep(max(moment - time.monotonic(), 0.0))


SCENARIOS: dict[str, Scenario] = {
    "token": token_expiry,
    "key": key_retention,
    "events": events_retention,
    "lease": lease_takeover,
}
