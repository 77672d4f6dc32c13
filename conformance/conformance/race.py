"""Fire several requests at the same instant, each on its own connection, to exercise server-side races."""

import threading
from collections.abc import Callable

import httpx

Call = Callable[[httpx.Client], httpx.Response]


def race(base_url: str, calls: list[Call], timeout: float = 30.0) -> list[httpx.Response]:
    """Run `calls` concurrently behind a barrier and return their responses in the same order."""
    barrier = threading.Barrier(len(calls))
    results: list[httpx.Response | BaseException | None] = [None] * len(calls)

    def run(index: int) -> None:
        try:
            with httpx.Client(base_url=base_url, timeout=timeout) as http:
                # Connect before the barrier so that the requests race, not the TCP handshakes.
                http.get("/healthz")
                barrier.wait(timeout=timeout)
                results[index] = calls[index](http)
        except BaseException as exc:  # handed to the test thread, which raises it
            results[index] = exc

    threads = [threading.Thread(target=run, args=(index,), daemon=True) for index in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=2 * timeout)
    responses = []
    for result in results:
        if not isinstance(result, httpx.Response):
            raise AssertionError(f"a racing request did not complete: {result!r}")
        responses.append(result)
    return responses
