"""The access log's writer: request threads queue their line, one thread per process writes them out."""

from __future__ import annotations

import atexit
import queue
import sys
import threading
import time
from typing import TextIO

_STOP = None  # the sentinel that ends the writer thread
# After the first line of a batch, the writer waits this long for more: at most ~50 wake-ups and writes
# a second per process however busy it is, and a line reaches stdout within about 20 ms.
BATCH_SECONDS = 0.02


class LineWriter:
    """A queue of text lines and the one thread that writes them to a stream, a batch per write.

    What logging's QueueHandler + QueueListener do, minus the LogRecord made, copied and formatted
    twice per request, and the write, flush and thread wake-up per line: a request thread only puts its
    finished line on the queue (no lock shared with the other threads while a line is written), and
    the writer, woken by the first line, waits BATCH_SECONDS and writes everything that piled up with
    one write() and one flush(). The order of the lines is the order of the puts.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="access-log", daemon=True)
        self._thread.start()

    def put(self, line: str) -> None:
        self._lines.put(line)

    def close(self) -> None:
        """Write out every queued line, then end the thread (idempotent)."""
        if self._thread.is_alive():
            self._lines.put(_STOP)
            self._thread.join()

    def _run(self) -> None:
        while True:
            batch = [self._lines.get()]  # waits, holding no lock, until a line comes
            if batch[-1] is not _STOP:
                time.sleep(BATCH_SECONDS)
            while not self._lines.empty() and batch[-1] is not _STOP:
                batch.append(self._lines.get_nowait())  # everything that piled up meanwhile
            lines = [line for line in batch if line is not _STOP]
            if lines:
                try:
                    self._stream.write("\n".join(lines) + "\n")
                    self._stream.flush()  # a pipe or file: each batch is visible at once
                except (OSError, ValueError):
                    pass  # stdout closed or gone: the lines are lost, the thread keeps draining
            if batch[-1] is _STOP:
                return


_writers: list[LineWriter] = []
_lock = threading.Lock()


def stdout_writer() -> LineWriter:
    """The process's writer to stdout, started on first use (in the worker, after gunicorn's fork)."""
    with _lock:
        if not _writers:
            _writers.append(LineWriter(sys.stdout))
        return _writers[0]


def flush() -> None:
    """Write out the queued lines and stop the writer: gunicorn's worker_exit hook and atexit call it.

    A worker that exits on SIGTERM thus loses no line of the requests it finished.
    """
    with _lock:
        for writer in _writers:
            writer.close()


atexit.register(flush)
