"""The watchdog shuts the socket of a connection held past its budget, and leaves a disarmed one alone."""

import socket
import time

from tasks_api.watchdog import GRACE_SECONDS, Watchdog


def test_a_connection_held_past_its_budget_has_its_socket_shut():
    watchdog = Watchdog()
    ours, database = socket.socketpair()
    with ours, database:
        ours.settimeout(5)
        started = time.monotonic()
        watchdog.arm(1, ours.fileno(), budget=0.2)
        assert ours.recv(1) == b""  # the blocked read ends: the driver would raise OperationalError
        assert 0.2 + GRACE_SECONDS - 0.05 <= time.monotonic() - started < 2
        assert watchdog.disarm(1)  # the watchdog cut it
        ours.getsockname()  # the descriptor itself stays open for its owner


def test_a_disarmed_connection_is_left_alone():
    watchdog = Watchdog()
    ours, database = socket.socketpair()
    with ours, database:
        watchdog.arm(2, ours.fileno(), budget=0.1)
        assert not watchdog.disarm(2)
        time.sleep(0.8)
        database.sendall(b"x")
        assert ours.recv(1) == b"x"
