"""Watch a GET /events stream from a thread: every event with its arrival time, waited for by id."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Self

from conformance.sse import EventStream

# One read at most this long, so the watching thread notices stop() quickly.
POLL = 0.5


@dataclass(frozen=True)
class Seen:
    """One event of the stream: its id, type, the resource id in its data, and when it arrived."""

    event_id: int
    type: str
    resource_id: int | None
    at: float  # time.monotonic()


class EventWatch:
    """Reads a stream in a daemon thread until stop(); the test waits for the events it expects."""

    def __init__(self, address: tuple[str, int], headers: dict[str, str], target: str = "/events") -> None:
        self._stream = EventStream.open(address, target, headers=headers, timeout=10.0)
        self.status = self._stream.response.status
        self.events: list[Seen] = []
        self.ended = False  # the server ended the response (or the connection)
        self.error = ""  # why reading stopped, if not by stop()
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        if self.status == 200:
            self._thread.start()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop reading and drop the connection."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(POLL + 2.0)
        self._stream.close()

    def wait_for(self, resource_ids: set[int], type_: str, timeout: float) -> dict[int, float]:
        """Wait until an event of `type_` arrived for each id; {id: arrival time} of those that did."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                arrived = {
                    seen.resource_id: seen.at
                    for seen in self.events
                    if seen.type == type_ and seen.resource_id in resource_ids
                }
                remaining = deadline - time.monotonic()
                if len(arrived) == len(resource_ids) or remaining <= 0 or self.ended:
                    return arrived
                self._changed.wait(remaining)

    def _read(self) -> None:
        while not self._stopping.is_set():
            try:
                block = self._stream.next_block(POLL)
            except TimeoutError:
                continue
            except (OSError, EOFError, ValueError) as exc:
                self.error = f"{type(exc).__name__}: {exc}"[:300]
                block = None
            with self._changed:
                if block is None:
                    self.ended = True
                    self._changed.notify_all()
                    return
                if block.is_event:
                    self.events.append(_seen(block.field("id"), block.field("event"), block.field("data")))
                    self._changed.notify_all()


def _seen(event_id: str | None, type_: str | None, data: str | None) -> Seen:
    resource_id = None
    try:
        parsed = json.loads(data or "")
        if isinstance(parsed, dict) and isinstance(parsed.get("id"), int):
            resource_id = parsed["id"]
    except ValueError:
        pass
    return Seen(int(event_id or 0), type_ or "", resource_id, time.monotonic())
