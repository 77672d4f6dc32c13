"""What clients saw during a fault experiment: every answer, its status, timing and problem type."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from conformance.api import PROBLEM_BASE

SERVICE_UNAVAILABLE = PROBLEM_BASE + "service-unavailable"


@dataclass
class Answer:
    """One request: what kind it was, when it started (monotonic), how long it took, what came back."""

    kind: str
    started: float
    seconds: float
    status: int | None = None  # None: no response at all (reset, closed, timed out)
    error: str = ""  # the client's exception, when there was no response
    retry_after: str | None = None
    content_type: str | None = None
    problem_type: str | None = None
    detail: str | None = None
    body: Any = None

    @property
    def ended(self) -> float:
        """When the answer (or the error) came, on the monotonic clock."""
        return self.started + self.seconds

    @property
    def outcome(self) -> str:
        """The status as text, or the error's class for no response: the key of the figures."""
        return str(self.status) if self.status is not None else f"no response ({self.error})"

    def describe(self) -> str:
        """A short line for an assertion message."""
        text = f"{self.kind} {self.outcome} after {self.seconds:.2f} s"
        if self.problem_type or self.detail:
            text += f" [{self.problem_type}: {self.detail}]"
        return text + (f" Retry-After: {self.retry_after}" if self.retry_after is not None else "")


def loopback_client(base_url: str, timeout: float) -> httpx.Client:
    """An HTTP client for a loopback http:// server, cheap to make in every thread of a load."""
    # verify=False: no TLS here, and building httpx's default context loads the CA bundle (about 80 ms
    # of CPU per client), which on a busy machine delays the start of a load by seconds.
    return httpx.Client(base_url=base_url, timeout=timeout, verify=False)


def from_response(kind: str, started: float, response: httpx.Response) -> Answer:
    """An Answer from an httpx response (its JSON body parsed when it has one)."""
    content_type = response.headers.get("content-type")
    body: Any = None
    if content_type in ("application/json", "application/problem+json"):
        try:
            body = response.json()
        except ValueError:
            body = None
    problem = body if content_type == "application/problem+json" and isinstance(body, dict) else {}
    return Answer(
        kind=kind,
        started=started,
        seconds=time.monotonic() - started,
        status=response.status_code,
        retry_after=response.headers.get("retry-after"),
        content_type=content_type,
        problem_type=problem.get("type"),
        detail=problem.get("detail"),
        body=body,
    )


def send(client: httpx.Client, kind: str, method: str, path: str, **options: Any) -> Answer:
    """Send one request and record what came back, never raising for a failed exchange."""
    started = time.monotonic()
    try:
        response = client.request(method, path, **options)
    except httpx.HTTPError as exc:
        return Answer(kind, started, time.monotonic() - started, error=type(exc).__name__)
    return from_response(kind, started, response)


def unavailable_problem(answer: Answer) -> str | None:
    """Why `answer` is not the spec's bad-weather 503 (problem+json, service-unavailable, Retry-After)."""
    if answer.status != 503:
        return f"expected 503, got {answer.describe()}"
    if answer.content_type != "application/problem+json" or answer.problem_type != SERVICE_UNAVAILABLE:
        return (
            f"a 503 that is not service-unavailable problem+json: {answer.describe()} ({answer.content_type})"
        )
    if answer.retry_after is None or not answer.retry_after.isdigit() or int(answer.retry_after) < 1:
        return f"a 503 without a Retry-After of whole seconds: {answer.describe()}"
    return None


class Answers:
    """Answers collected from many threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[Answer] = []

    def add(self, answer: Answer) -> Answer:
        """Record one answer and return it."""
        with self._lock:
            self._items.append(answer)
        return answer

    def of(self, *kinds: str) -> list[Answer]:
        """The answers of these kinds (all when none is named), in the order they were recorded."""
        with self._lock:
            return [item for item in self._items if not kinds or item.kind in kinds]

    def by_outcome(self, *kinds: str) -> dict[str, int]:
        """How many answers had each status (or no response), for the figures."""
        return dict(sorted(Counter(answer.outcome for answer in self.of(*kinds)).items()))


def durations(answers: list[Answer]) -> dict[str, float]:
    """p50, p99 and max of the answers' durations, in seconds (rounded to the millisecond)."""
    return percentiles([answer.seconds for answer in answers])


def percentiles(seconds: list[float]) -> dict[str, float]:
    """p50, p99, max and count of durations in seconds (rounded to the millisecond)."""
    values = sorted(seconds)
    if not values:
        return {}

    def at(fraction: float) -> float:
        return round(values[min(len(values) - 1, int(fraction * len(values)))], 3)

    return {"p50": at(0.50), "p99": at(0.99), "max": round(values[-1], 3), "count": len(values)}


def in_parallel(count: int, target: Callable[[int], None], timeout: float) -> int:
    """Run target(0..count-1) in threads; return how many had not finished after `timeout` (stuck).

    The threads are daemons, so one stuck on a server that never answers cannot hold the test run.
    """
    errors: list[BaseException] = []

    def guarded(index: int) -> None:
        try:
            target(index)
        except BaseException as exc:  # handed to the caller below
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(index,), daemon=True) for index in range(count)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(deadline - time.monotonic(), 0.0))
    if errors:
        raise errors[0]
    return sum(thread.is_alive() for thread in threads)
