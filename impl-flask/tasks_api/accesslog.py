"""The access log's writer: request threads queue their line, one listener thread per process writes them."""

from __future__ import annotations

import atexit
import contextlib
import logging
import logging.handlers
import queue
import sys

access_log = logging.getLogger("tasks_api.access")


class _Enqueue(logging.handlers.QueueHandler):
    """Hands the record to the listener thread as it is: the message is already the final JSON text (no
    args, no exception), so the copy and formatting QueueHandler.prepare makes would be wasted work."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        """The record unchanged."""
        return record

    def handle(self, record: logging.LogRecord) -> bool:
        """Enqueue without the handler's lock: SimpleQueue.put is thread-safe on its own, and Handler.handle
        would make the worker's threads queue up on one lock for each line (as a StreamHandler does)."""
        if self.filter(record):
            self.emit(record)
        return True


class _Stdout(logging.StreamHandler):
    """stdout, flushed by the listener once the queue is empty: a burst of lines is one write."""

    def flush(self) -> None:
        """Nothing per record (StreamHandler.emit flushes after every line); see flush_now."""

    def flush_now(self) -> None:
        """Write out what the stream buffers."""
        # stdout may be gone (closed at interpreter exit, a broken pipe): nowhere left to write then.
        with contextlib.suppress(OSError, ValueError):
            super().flush()


class _Listener(logging.handlers.QueueListener):
    """The thread that writes the access lines, flushing whenever it has caught up with the queue."""

    def handle(self, record: logging.LogRecord) -> None:
        """Write one line; flush when no other is waiting."""
        super().handle(record)
        if self.queue.empty():
            self.flush()

    def flush(self) -> None:
        """Write out every line written so far."""
        for handler in self.handlers:
            handler.flush_now()  # type: ignore[attr-defined]


_listener: _Listener | None = None


def start_access_log() -> None:
    """Start this process's access log: a queue the request threads put lines on, one thread writing them."""
    # One JSON object per line on stdout, whatever gunicorn or Flask do with their own loggers.
    # Hot path: request threads only put the record on a queue; one listener thread per process writes the
    # lines. A StreamHandler would make every thread of the worker take turns on its lock around the write.
    global _listener
    if _listener is None:
        stdout = _Stdout(sys.stdout)
        stdout.setFormatter(logging.Formatter("%(message)s"))
        records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
        access_log.addHandler(_Enqueue(records))
        access_log.setLevel(logging.INFO)
        access_log.propagate = False
        _listener = _Listener(records, stdout)
        _listener.start()
        # Written out before the process ends (gunicorn's worker exits through sys.exit on SIGTERM and
        # SIGQUIT, which runs atexit): no access line is lost; gunicorn.conf.py's worker_exit calls it too.
        atexit.register(stop_access_log)


def stop_access_log() -> None:
    """Write every queued access line and stop the listener thread (idempotent)."""
    global _listener
    listener, _listener = _listener, None
    if listener is not None:
        listener.stop()  # handles every queued record, then joins the thread
        listener.flush()
        for handler in access_log.handlers[:]:
            access_log.removeHandler(handler)
