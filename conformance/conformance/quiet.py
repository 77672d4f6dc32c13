"""One measured phase at a time across the faults layer's parallel lanes: a lock file in the report dir."""

from __future__ import annotations

import fcntl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# The lanes run side by side to save time while servers start, users register and records are read
# back; the phases that load the machine (a storm) or measure seconds-long bounds (a fault) take this
# lock, so that no bound measures a burst of the other lane. The longest holder is a database fault
# (about 8 s); the wait is bounded so that a stuck holder fails an experiment instead of the layer.
WAIT = 120.0


@contextmanager
def quiet(directory: Path, wait: float = WAIT) -> Iterator[float]:
    """Hold the layer's lock (<directory>/quiet.lock) for the block; yields the seconds waited for it."""
    directory.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with open(directory / "quiet.lock", "a") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() - started > wait:
                    raise TimeoutError(f"the other lane held the faults lock for over {wait:.0f} s") from None
                time.sleep(0.05)
        try:
            yield time.monotonic() - started
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
