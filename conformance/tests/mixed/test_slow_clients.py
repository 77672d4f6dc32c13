"""Slow clients hold the gateway's connections, never a port's threads: ordinary requests still succeed."""

from __future__ import annotations

from conformance import slowloris


def test_ordinary_requests_succeed_while_slow_clients_hold_connections(base_url: str) -> None:
    # 100 request heads trickling in for 10 s (loopback only, every socket closed at the end).
    result = slowloris.probe(base_url, connections=100, seconds=10.0)
    assert result.connections == 100, result
    assert result.ok >= 10, result
    assert result.failed == 0, result.summary() + f"; errors: {sorted(set(result.errors))}"
