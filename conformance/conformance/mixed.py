"""The mixed column: every port on ONE database behind the nginx gateway, and the whole suite through it."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path

from conformance import server
from conformance.database import DatabaseError
from conformance.gateway import Gateway
from conformance.junit import Tally
from conformance.layers import MATRIX_LAYERS, run_layer
from conformance.matrix import (
    Column,
    check_logs,
    faults_target,
    fresh_database,
    new_settings,
    run_faults,
    server_env,
    setup,
)
from conformance.ports import Port
from conformance.settings import FaultsTarget, ServerSettings

MIXED = "mixed"


def run_mixed(
    ports: list[Port],
    kind: str,
    postgres_url: str | None,
    report_dir: Path,
    redis_url: str = "",
    layers: tuple[str, ...] = MATRIX_LAYERS,
    existing: str = "",
) -> Column:
    """Set up every port, serve them all on one fresh database behind the gateway, run every layer, stop."""
    column = Column(MIXED, mixed=True)
    out = report_dir / MIXED
    out.mkdir(parents=True, exist_ok=True)
    for port in ports:
        reason = setup(port, out / f"{port.name}-setup.log")
        if reason:
            column.fail_all(f"{port.name}: {reason}")
            return column
    names = tuple(port.name for port in ports)
    faults = faults_target(names, "", kind, postgres_url, redis_url, existing)
    try:
        with fresh_database(kind, postgres_url, existing) as database_url:
            _serve_and_test(ports, database_url, out, column, redis_url, layers, faults)
    except DatabaseError as exc:
        column.fail_all(str(exc))
    check_logs(column, out, [f"{name}.log" for name in names])
    return column


def _serve_and_test(
    ports: list[Port],
    database_url: str,
    out: Path,
    column: Column,
    redis_url: str,
    layers: tuple[str, ...],
    faults: FaultsTarget,
) -> None:
    # One SECRET_KEY for all: a cursor signed by one port verifies on another; one Redis (or none).
    settings = new_settings(redis_url)
    stack = Stack()
    try:
        problem = stack.start(ports, database_url, out, settings)
        if problem:
            column.fail_all(problem)
            return
        run_suite(column, stack, out, settings, layers, faults)
        column.cells["shutdown"] = stack.stop_all(column)
    finally:
        stack.close()


class Stack:
    """Every port on one database, each on its own local port, and the gateway in front of them."""

    def __init__(self) -> None:
        self.running: dict[str, server.Server] = {}
        self.gateway: Gateway | None = None

    def start(
        self,
        ports: list[Port],
        database_url: str,
        out: Path,
        settings: ServerSettings,
        listen: dict[str, int] | None = None,
        announce: Callable[[str, server.Server, float], None] | None = None,
    ) -> str | None:
        """Start every port, then the gateway; None when all are ready, else why not (`close` cleans up).

        `listen` fixes local ports by name ("gateway" and each port's; others free ones); `announce` is told
        of each one ready (name, server, seconds it took).
        """
        listen = listen or {}
        # One at a time: each applies spec/schema.sql before it serves, and four concurrent
        # CREATE TABLE IF NOT EXISTS on one PostgreSQL database can still collide.
        for port in ports:
            started = time.monotonic()
            env = server_env(port, database_url, settings)
            log = out / f"{port.name}.log"
            self.running[port.name] = server.start(
                port.starts[0].command, port.directory, env, log, listen.get(port.name)
            )
            not_ready = self.running[port.name].wait_ready(port.ready)
            if not_ready:
                tail = server.log_tail(self.running[port.name].log)
                return f"{port.name}: {not_ready}; server log tail:\n{tail}"
            if announce:
                announce(port.name, self.running[port.name], time.monotonic() - started)
        started = time.monotonic()
        upstreams = [self.running[port.name].base_url.removeprefix("http://") for port in ports]
        try:
            self.gateway = Gateway(upstreams, out, listen.get("gateway"))
        except (FileNotFoundError, OSError) as exc:
            return f"gateway: {exc}"
        not_ready = self.gateway.running.wait_ready("/readyz")
        if not not_ready:
            not_ready = _wait_all_upstreams(self.gateway.running, ports[0].ready, rounds=len(ports))
        if not_ready:
            tail = server.log_tail(self.gateway.running.log)
            return f"gateway: {not_ready}; nginx error log tail:\n{tail}"
        if announce:
            announce("gateway", self.gateway.running, time.monotonic() - started)
        return None

    def port_urls(self) -> dict[str, str]:
        """Each port's own base URL, by name."""
        return {name: instance.base_url for name, instance in self.running.items()}

    def stop_all(self, column: Column) -> Tally:
        """SIGTERM the gateway, then every port; each must exit 0 within the deadline."""
        assert self.gateway is not None
        return _stop_all(self.gateway, self.running, column)

    def close(self) -> None:
        """Whatever happened, leave no nginx, server or worker behind."""
        if self.gateway is not None:
            self.gateway.close()
        for instance in self.running.values():
            with contextlib.suppress(ChildProcessError):
                instance.kill()


def run_suite(
    column: Column,
    stack: Stack,
    out: Path,
    settings: ServerSettings,
    layers: tuple[str, ...],
    faults: FaultsTarget,
    on_layer: Callable[[str], None] | None = None,
) -> None:
    """Every layer through the stack's gateway into `column`; `on_layer` is told as each one starts."""
    assert stack.gateway is not None
    base_url = stack.gateway.base_url
    # The cross-port tests after the three layers; the faults layer last, before the shutdown: its storms
    # go through this gateway, and its own servers (a port it kills) are separate.
    # (`--layers faults` alone skips the cross-port tests too.)
    ordered = [layer for layer in MATRIX_LAYERS if layer != "faults" and layer in layers]
    for layer in (*ordered, "mixed") if ordered else ():
        if on_layer:
            on_layer(layer)
        result = run_layer(
            layer, base_url, out, settings, log=out / f"{layer}.log", port_urls=stack.port_urls()
        )
        column.record_reach(result.reach)
        column.cells.update(result.rows)
        column.seconds[layer] = result.seconds
        if result.note:
            column.notes.append(f"{layer}: {result.note}")
    if "faults" in layers:
        if on_layer:
            on_layer("faults")
        run_faults(column, base_url, out, settings, faults)


def _wait_all_upstreams(gateway: server.Server, path: str, rounds: int) -> str | None:
    """One readiness answer through the gateway per port: round robin has then asked every upstream."""
    for _ in range(rounds):
        problem = gateway.wait_ready(path, timeout=10.0)
        if problem:
            return problem
    return None


def _stop_all(gateway: Gateway, running: dict[str, server.Server], column: Column) -> Tally:
    """SIGTERM the gateway, then every port; each must exit 0 within the deadline."""
    tally = Tally()
    for name, instance in [("gateway", gateway.running), *running.items()]:
        problem = instance.stop()
        if problem is None:
            tally.passed += 1
        else:
            tally.failed += 1
            tally.failures.append(f"{name}: {problem}")
            column.notes.append(f"shutdown {name}: {problem}")
    return tally
