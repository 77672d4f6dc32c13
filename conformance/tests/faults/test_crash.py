"""Crashes under idempotent writes (a killed worker, a database outage); a port killed behind the gateway."""

import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager

import httpx
import pytest
from conformance.answers import Answer, Answers, in_parallel, loopback_client, send, unavailable_problem
from conformance.api import PROBLEM_BASE, User, list_all_projects, new_user
from conformance.faultserver import IDEMPOTENCY_LEASE_SECONDS, FaultServer
from conformance.gateway import Gateway
from conformance.processes import signal_group, track, untrack
from conformance.server import log_tail

WRITERS = 16
# Seconds of back-to-back keyed creates, each writer stopping at its first answer other than 201 (that key
# is retried afterwards): the fault strikes while every writer is mid-request, and at most WRITERS keys
# are left open, one per client.
WINDOW = 1.5
FAULT_AT = 0.5
OUTAGE_SECONDS = 2.5  # longer than DATABASE_TIMEOUT_SECONDS (2): claims are left behind
# A retry with the same key and body must end in 201 within the lease plus this margin (a killed gunicorn
# worker is replaced in about a second; the retries honour Retry-After).
RETRY_MARGIN = 5.0
REQUEST_TIMEOUT = 10.0
IN_FLIGHT = PROBLEM_BASE + "idempotency-in-flight"
Fault = Callable[[], dict[str, object]]  # strikes, and returns its own figures
Exclusive = Callable[[], AbstractContextManager[float]]  # the `exclusive` fixture
# The gateway's answer for a request that may have been processed (deploy/nginx/gateway.conf).
MAY_HAVE_BEEN_PROCESSED = "may have been processed"


def test_worker_killed_under_idempotent_writes(column, instance, exclusive, record):
    """SIGKILL one worker mid-write: each key's retry gets its 201 within the lease, one project per key."""
    column.skip_if_mixed()
    with instance("worker-killed", crash=True) as running:

        def kill() -> dict[str, object]:
            workers = running.workers()
            killed = running.kill_worker()
            return {"workers": len(workers), "killed": killed is not None}

        figures = keyed_writes(running, kill, exclusive, allow_no_response=True)
    record("crash_worker_killed", figures)
    assert figures["fault"] == {"workers": figures["fault"]["workers"], "killed": True}, figures["fault"]
    assert_keyed(figures)


def test_database_outage_under_idempotent_writes(column, instance, exclusive, record):
    """The database goes away mid-write: each key's retry gets its 201 within the lease, one project each."""
    column.skip_if_mixed()
    column.skip_unless_postgres()
    with instance("idempotent-outage") as running:
        assert running.database is not None
        proxy = running.database

        def outage() -> dict[str, object]:
            proxy.down()
            time.sleep(OUTAGE_SECONDS)
            proxy.restore()
            return {"outage_seconds": OUTAGE_SECONDS}

        figures = keyed_writes(running, outage, exclusive, allow_no_response=False)
    record("crash_database_outage", figures)
    assert_keyed(figures)


def keyed_writes(running: FaultServer, fault: Fault, exclusive: Exclusive, allow_no_response: bool) -> dict:
    """Keyed creates from WRITERS threads, `fault` at FAULT_AT, then retries of every key without a 201."""
    with loopback_client(running.base_url, REQUEST_TIMEOUT) as client:
        user = new_user(client)
    window = Answers()
    keys: dict[str, Answer] = {}  # every key used, with its first answer
    lock = threading.Lock()
    fault_figures: dict[str, object] = {}
    # Every writer has its client before the window opens, so the fault meets them all mid-request.
    ready = threading.Barrier(WRITERS + 1)

    def writer(index: int) -> None:
        if index == WRITERS:  # the fault's own thread
            ready.wait(REQUEST_TIMEOUT)
            time.sleep(FAULT_AT)
            fault_figures.update(fault())
            return
        with loopback_client(running.base_url, REQUEST_TIMEOUT) as client:
            ready.wait(REQUEST_TIMEOUT)
            started = time.monotonic()
            while time.monotonic() - started < WINDOW:
                key = uuid.uuid4().hex
                answer = window.add(create(client, user, key))
                with lock:
                    keys[key] = answer
                if answer.status != 201:
                    return  # this key is retried below; at most one open key per writer, as a client has

    with exclusive():
        stuck = in_parallel(WRITERS + 1, writer, WINDOW + OUTAGE_SECONDS + 3 * REQUEST_TIMEOUT)
    window_end = time.monotonic()
    problems = [
        f"first answer: {answer.describe()}"
        for answer in window.of()
        if answer.status not in (201, None) and unavailable_problem(answer)
    ]
    if not allow_no_response:
        problems += [f"first answer: {a.describe()}" for a in window.of() if a.status is None]
    pending = [key for key, answer in keys.items() if answer.status != 201]
    retries = Answers()
    finished: dict[str, float] = {}
    deadline = window_end + IDEMPOTENCY_LEASE_SECONDS + RETRY_MARGIN

    def retry(index: int) -> None:
        key = pending[index]
        with loopback_client(running.base_url, REQUEST_TIMEOUT) as client:
            while time.monotonic() < deadline:
                answer = retries.add(create(client, user, key))
                if answer.status == 201:
                    finished[key] = answer.ended - window_end
                    return
                if retry_allowed(answer):
                    wait = _seconds(answer.retry_after)
                else:
                    with lock:
                        problems.append(f"retry of {key}: {answer.describe()}")
                    wait = 0.2
                # Honour Retry-After, as a well-behaved client does; never past the deadline.
                time.sleep(max(min(wait, deadline - time.monotonic()), 0.0))

    retry_stuck = in_parallel(len(pending), retry, deadline - time.monotonic() + REQUEST_TIMEOUT)
    exited = running.running.process.poll()
    if exited is not None:
        # A master that dies with one worker leaves every client without a server.
        problems.insert(0, f"the server exited (status {exited}) after the fault; it must keep serving")
    names: Counter[str] = Counter()
    try:
        with loopback_client(running.base_url, REQUEST_TIMEOUT) as client:
            names.update(project["name"] for project in list_all_projects(client, user))
    except httpx.HTTPError as exc:
        problems.insert(0, f"the projects could not be listed after the fault: {exc!r}")
    acknowledged = [key for key, answer in keys.items() if answer.status == 201 or key in finished]
    return {
        "writers": WRITERS,
        "keys": len(keys),
        "answered": window.by_outcome(),
        "fault": fault_figures,
        "without_201": len(pending),
        "retries": retries.by_outcome(),
        "stuck": len(pending) - len(finished),
        "retry_threads_stuck": retry_stuck + stuck,
        "seconds_to_last_201": round(max(finished.values(), default=0.0), 2),
        "bound_seconds": IDEMPOTENCY_LEASE_SECONDS + RETRY_MARGIN,
        "duplicates": sum(1 for key in keys if names[key] > 1),
        # A key answered 201 (at first or on a retry) whose project is not there.
        "lost": sum(1 for key in acknowledged if names[key] == 0),
        "strays": sum(count for name, count in names.items() if name not in keys),
        "problems": problems[:10],
    }


def assert_keyed(figures: dict) -> None:
    """Every key ended in exactly one project, within the bound, and nothing answered outside the rules."""
    assert figures["keys"] > 0
    assert not figures["problems"], figures["problems"]
    assert figures["stuck"] == 0, (
        f"{figures['stuck']} of {figures['without_201']} keys still without a 201 "
        f"{figures['bound_seconds']} s after the fault (lease + margin): {figures}"
    )
    assert figures["duplicates"] == 0, f"keys with more than one project: {figures}"
    assert figures["lost"] == 0 and figures["strays"] == 0, f"keys without a project, or strays: {figures}"


def create(client: httpx.Client, user: User, key: str) -> Answer:
    """POST /projects named after its Idempotency-Key, so the project of each key can be counted."""
    headers = {**user.auth, "Idempotency-Key": key}
    return send(client, "create", "POST", "/projects", json={"name": key}, headers=headers)


def retry_allowed(answer: Answer) -> bool:
    """409 idempotency-in-flight or 503 service-unavailable, each with Retry-After: wait, then retry."""
    if answer.status == 409:
        return answer.problem_type == IN_FLIGHT and _seconds(answer.retry_after) > 0
    return answer.status == 503 and unavailable_problem(answer) is None


def _seconds(value: str | None) -> float:
    return float(value) if value and value.isdigit() else 0.0


def test_port_killed_behind_gateway(column, instance, logs_dir, exclusive, record):
    """A port dies with requests in flight: POSTs get the gateway's 503 without Retry-After, GETs a 200."""
    if not column.mixed:
        pytest.skip("needs the gateway: runs in the mixed column")
    if len(column.ports) < 2:
        pytest.skip("needs two ports behind the gateway")
    first, second = column.ports[0], column.ports[1]
    # The victim's log is a deliberate crash's; the survivor's is checked by the `logs` row.
    with (
        instance(f"behind-gateway-{first.name}", crash=True, port=first) as victim,
        instance(f"behind-gateway-{second.name}", port=second) as survivor,
    ):
        upstreams = [victim.base_url.removeprefix("http://"), survivor.base_url.removeprefix("http://")]
        gateway = Gateway(upstreams, _directory(logs_dir / "gateway"))
        track(logs_dir / "gateway.log", gateway.running.process.pid)
        try:
            with exclusive():
                figures = _kill_behind(gateway, victim)
        finally:
            gateway.close()
            untrack(logs_dir / "gateway.log")
    record("crash_port_behind_gateway", figures)
    assert not figures["problems"], figures["problems"]
    assert figures["posts_refused"] >= 1, f"no POST reached the killed port: {figures}"
    assert figures["after"] == {"201": len(AFTER)}, figures


PATTERN = ["POST", "POST", "GET", "GET"] * 2  # round robin over two ports: each gets two POSTs and two GETs
AFTER = range(4)


def _kill_behind(gateway: Gateway, victim: FaultServer) -> dict:
    problem = gateway.running.wait_ready("/readyz", timeout=20.0)
    assert problem is None, f"gateway: {problem}; {log_tail(gateway.running.log)}"
    with loopback_client(gateway.base_url, REQUEST_TIMEOUT) as client:
        user = new_user(client)
        for _ in range(4):  # both ports answer through the gateway before the fault
            assert client.get("/readyz").status_code == 200
    answers = Answers()
    # Stopped first, so that requests are surely in flight on the victim when it dies: its kernel still
    # accepts connections and takes the bytes, nobody answers. Then SIGKILL: the connections reset.
    signal_group(victim.master, signal.SIGSTOP)

    def request(index: int) -> None:
        time.sleep(0.05 * index)  # in PATTERN's order, so round robin splits them as intended
        with loopback_client(gateway.base_url, 20.0) as client:
            if PATTERN[index] == "POST":
                body = {"name": f"behind gateway {index}"}
                answers.add(send(client, "POST", "POST", "/projects", json=body, headers=user.auth))
            else:
                answers.add(send(client, "GET", "GET", "/projects", headers=user.auth))

    threads = [threading.Thread(target=request, args=(index,), daemon=True) for index in range(len(PATTERN))]
    for thread in threads:
        thread.start()
    time.sleep(0.05 * len(PATTERN) + 1.0)
    signal_group(victim.master, signal.SIGKILL)
    for thread in threads:
        thread.join(25.0)
    problems = [f"GET: {a.describe()}" for a in answers.of("GET") if a.status != 200]
    refused = 0
    for answer in answers.of("POST"):
        if answer.status == 201:
            continue
        if why := gateway_refusal_problem(answer):
            problems.append(f"POST: {why}")
        else:
            refused += 1
    if len(answers.of()) != len(PATTERN):
        problems.append(f"{len(PATTERN) - len(answers.of())} requests without an answer after 25 s")
    after = Answers()
    with loopback_client(gateway.base_url, REQUEST_TIMEOUT) as client:
        for index in AFTER:  # the gateway routes around the dead port
            body = {"name": f"after {index}"}
            after.add(send(client, "POST", "POST", "/projects", json=body, headers=user.auth))
    return {
        "answered": answers.by_outcome(),
        "posts_refused": refused,
        "after": after.by_outcome(),
        "problems": problems,
    }


def gateway_refusal_problem(answer: Answer) -> str | None:
    """Why a failed POST's answer is not the gateway's: 503 problem+json, no Retry-After, retry with a key."""
    if answer.status != 503 or answer.content_type != "application/problem+json":
        return f"expected the gateway's 503 problem+json, got {answer.describe()} ({answer.content_type})"
    if answer.problem_type != PROBLEM_BASE + "service-unavailable":
        return f"not service-unavailable: {answer.describe()}"
    if answer.retry_after is not None:
        return f"a 503 for a POST that may have been processed must not invite a retry: {answer.describe()}"
    detail = (answer.detail or "").lower()
    if MAY_HAVE_BEEN_PROCESSED not in detail or "idempotency-key" not in detail:
        return f"the detail must say it may have been processed, retry with an Idempotency-Key: {detail!r}"
    return None


def _directory(path):
    path.mkdir(parents=True, exist_ok=True)
    return path
