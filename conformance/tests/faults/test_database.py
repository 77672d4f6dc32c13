"""The database fails under light load (outage, freeze, read-only switch): 503s in time, health, recovery."""

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import pytest
from conformance.answers import Answer, Answers, durations, loopback_client, send, unavailable_problem
from conformance.api import User, list_all_projects, new_user
from conformance.database import set_read_only
from conformance.faultserver import DATABASE_TIMEOUT_SECONDS, FaultServer

CALM = 0.75  # seconds of load before the fault
# 1.5 x DATABASE_TIMEOUT_SECONDS: requests that start early in the fault meet the budget before it ends.
FAULT = 3.0
WATCH = 2.0  # seconds of load after the fault
# Loopback is fast, but the machine is shared (two cores, parallel lanes): a stated margin on each bound.
MARGIN = 1.5
ANSWER_BOUND = DATABASE_TIMEOUT_SECONDS + MARGIN  # spec: "Every wait on the database is bounded"
READYZ_SECONDS = 2.0  # spec: /readyz answers within two seconds whatever the database does
RECOVERY_SECONDS = 2.0  # after the fault ends, a new write succeeds within this
REQUEST_TIMEOUT = 15.0  # far above the bounds: a slow answer is measured, not cut off
PROBE_EVERY = 0.25


@pytest.fixture(scope="module")
def database_server(column, instance) -> Iterator[FaultServer]:
    """One instance for the three faults, its DATABASE_URL through the proxy."""
    column.skip_if_mixed()
    column.skip_unless_postgres()
    with instance("database") as running:
        yield running


def test_outage(database_server, exclusive, record):
    """The database refuses and resets every connection: 503 fast, /readyz 503, /healthz 200."""
    proxy = database_server.database
    assert proxy is not None
    check(
        database_server,
        "database_outage",
        proxy.down,
        proxy.restore,
        readyz_fails=True,
        exclusive=exclusive,
        record=record,
    )


def test_freeze(database_server, exclusive, record):
    """The database stops answering, connections open (SIGSTOP, a black hole): 503 within the budget."""
    proxy = database_server.database
    assert proxy is not None
    check(
        database_server,
        "database_freeze",
        proxy.freeze,
        proxy.restore,
        readyz_fails=True,
        exclusive=exclusive,
        record=record,
    )


def test_read_only(column, database_server, exclusive, record):
    """The database turns read-only and drops its sessions: writes 503 (SQLSTATE 25006), reads go on."""
    url = database_server.database_url

    def switch(on: bool) -> Callable[[], None]:
        return lambda: set_read_only(column.postgres_url, url, on)

    try:
        check(
            database_server,
            "database_read_only",
            switch(True),
            switch(False),
            readyz_fails=False,
            exclusive=exclusive,
            record=record,
        )
    finally:
        set_read_only(column.postgres_url, url, False)  # never leave it read-only, whatever failed


def check(
    running: FaultServer,
    experiment: str,
    begin: Callable[[], None],
    end: Callable[[], None],
    readyz_fails: bool,
    exclusive: Callable[[], AbstractContextManager[float]],
    record: Callable,
) -> None:
    """Run light load and probes through CALM, the fault, and WATCH; assert the spec's bad-weather rules."""
    with loopback_client(running.base_url, REQUEST_TIMEOUT) as client:
        user = new_user(client)
    answers = Answers()
    stop = threading.Event()
    threads = [
        threading.Thread(target=target, args=(running.base_url, user, answers, stop), daemon=True)
        for target in (writer, reader, prober)
    ]
    with exclusive():
        for thread in threads:
            thread.start()
        time.sleep(CALM)
        fault_started = time.monotonic()
        begin()
        time.sleep(FAULT)
        end()
        fault_ended = time.monotonic()
        recovered = recovery(running.base_url, user, answers, fault_ended)
        time.sleep(max(WATCH - (time.monotonic() - fault_ended), 0.0))
        stop.set()
        for thread in threads:
            thread.join(REQUEST_TIMEOUT + 1.0)
        stuck = sum(thread.is_alive() for thread in threads)

    problems = []
    load = answers.of("write", "read")
    for answer in load:
        if answer.status is None or (answer.status >= 300 and unavailable_problem(answer)):
            problems.append(f"neither 2xx nor a proper 503: {answer.describe()}")
        elif answer.seconds > ANSWER_BOUND:
            problems.append(f"slower than {ANSWER_BOUND} s: {answer.describe()}")
    for answer in answers.of("healthz"):
        if answer.status != 200 or answer.seconds > ANSWER_BOUND:
            problems.append(f"/healthz must be 200 within {ANSWER_BOUND} s: {answer.describe()}")
    readyz = answers.of("readyz")
    problems += [
        f"/readyz slower than {READYZ_SECONDS + MARGIN} s: {a.describe()}"
        for a in readyz
        if a.seconds > READYZ_SECONDS + MARGIN
    ]
    during = [a for a in readyz if a.started >= fault_started + 0.1 and a.ended <= fault_ended]
    if readyz_fails:
        if not during:
            problems.append("no /readyz answer during the fault")
        problems += [f"/readyz during the fault: {p}" for a in during if (p := unavailable_problem(a))]
    if recovered is None or recovered > RECOVERY_SECONDS + MARGIN:
        problems.append(
            f"no write succeeded within {RECOVERY_SECONDS} s (+{MARGIN}) after the fault: {recovered}"
        )
    acknowledged = {a.body["id"] for a in answers.of("write", "recovery") if a.status == 201}
    with loopback_client(running.base_url, REQUEST_TIMEOUT) as client:
        stored = {project["id"] for project in list_all_projects(client, user)}
    lost = acknowledged - stored

    record(
        experiment,
        {
            "answered": answers.by_outcome("write", "read"),
            "during_fault": _outcomes(
                [a for a in load if a.started >= fault_started and a.ended <= fault_ended]
            ),
            "healthz": answers.by_outcome("healthz"),
            "readyz": answers.by_outcome("readyz"),
            "readyz_during_fault": _outcomes(during),
            "lost": len(lost),
            "stuck": stuck,
            "recovery_seconds": None if recovered is None else round(recovered, 2),
            "durations": durations(answers.of("write", "read")),
            "healthz_durations": durations(answers.of("healthz")),
            "readyz_durations": durations(readyz),
            "bound_seconds": ANSWER_BOUND,
            "fault_seconds": FAULT,
        },
    )
    assert stuck == 0, f"{stuck} load threads still waiting {REQUEST_TIMEOUT} s after the experiment"
    assert not lost, f"acknowledged (201) but not stored: {sorted(lost)[:10]}"
    assert not problems, f"{len(problems)} problems: {problems[:8]}"


def writer(base_url: str, user: User, answers: Answers, stop: threading.Event) -> None:
    """POST /projects back to back."""
    with loopback_client(base_url, REQUEST_TIMEOUT) as client:
        while not stop.is_set():
            body = {"name": f"weather {uuid.uuid4().hex[:8]}"}
            answers.add(send(client, "write", "POST", "/projects", json=body, headers=user.auth))


def reader(base_url: str, user: User, answers: Answers, stop: threading.Event) -> None:
    """GET /projects back to back."""
    with loopback_client(base_url, REQUEST_TIMEOUT) as client:
        while not stop.is_set():
            answers.add(send(client, "read", "GET", "/projects", params={"limit": "5"}, headers=user.auth))


def prober(base_url: str, user: User, answers: Answers, stop: threading.Event) -> None:
    """/healthz and /readyz every PROBE_EVERY seconds, as a load balancer and an orchestrator would."""
    with loopback_client(base_url, REQUEST_TIMEOUT) as client:
        while not stop.wait(PROBE_EVERY):
            answers.add(send(client, "healthz", "GET", "/healthz"))
            answers.add(send(client, "readyz", "GET", "/readyz"))


def recovery(base_url: str, user: User, answers: Answers, since: float) -> float | None:
    """Seconds from `since` to the first 201 of a write sent after the fault ended (None: none came)."""
    deadline = since + RECOVERY_SECONDS + MARGIN + ANSWER_BOUND
    with loopback_client(base_url, REQUEST_TIMEOUT) as client:
        while time.monotonic() < deadline:
            body = {"name": "recovery"}
            answer = answers.add(send(client, "recovery", "POST", "/projects", json=body, headers=user.auth))
            if answer.status == 201:
                return answer.ended - since
            time.sleep(0.1)
    return None


def _outcomes(answers: list[Answer]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for answer in answers:
        counts[answer.outcome] = counts.get(answer.outcome, 0) + 1
    return dict(sorted(counts.items()))
