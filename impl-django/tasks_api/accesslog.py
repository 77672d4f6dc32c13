"""The access log's writer: request threads queue their line, one listener thread writes them all."""

import atexit
import logging
import os
import queue
import sys
from logging.handlers import QueueHandler, QueueListener

# Why a queue (issue 15): a StreamHandler writes under its own lock, and a write to a file or pipe
# releases the GIL, so 8 request threads took turns waiting on that lock (a fifth of the read's
# samples). QueueHandler formats the line in the request thread (the text is what it was) and hands
# it over without blocking; the listener thread writes, in order, one line per record.
_listeners: list[QueueListener] = []


def stdout_queue_handler() -> QueueHandler:
    """LOGGING's factory ("()") for the access log: a QueueHandler whose listener writes to stdout.

    Each call (django.setup() configures logging in gunicorn's master and again in every worker)
    starts its own listener thread, since a thread does not survive fork.
    """
    target = logging.StreamHandler(sys.stdout)
    target.setFormatter(logging.Formatter("%(message)s"))
    lines: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    listener = QueueListener(lines, target)
    listener.start()
    _listeners.append(listener)
    return QueueHandler(lines)


def stop_listeners() -> None:
    """Write out every queued line and stop the listener threads (gunicorn's worker_exit, and atexit).

    Without this a SIGTERM would lose the lines still in the queue: the listener is a daemon thread.
    """
    while _listeners:
        listener = _listeners.pop()
        # Enqueues a sentinel and waits until every line before it is written (StreamHandler flushes
        # after each line).
        listener.stop()


# Also for `manage.py runserver` and the tests; runs before logging's own shutdown (atexit is LIFO).
atexit.register(stop_listeners)
# A forked worker has none of its parent's threads: it configures logging again and starts its own.
os.register_at_fork(after_in_child=_listeners.clear)
