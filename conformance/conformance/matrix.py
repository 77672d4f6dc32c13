"""Run every layer against every port and start command, on a fresh database each, and collect the cells."""

from __future__ import annotations

import contextlib
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance import figures, logcheck, server
from conformance.coverage import Reach
from conformance.database import DatabaseError, postgres_database, sqlite_database
from conformance.junit import Tally
from conformance.layers import MATRIX_LAYERS, mixed_modules, run_layer
from conformance.paths import SPEC_DIR, WEB_DIR, behaviour_modules, faults_modules
from conformance.ports import Port, Start
from conformance.processes import kill_leftovers
from conformance.settings import FaultsTarget, ServerSettings

ALLOWED_ORIGIN = "https://allowed.example"

# Live-event timings short enough to test heartbeats and the end of a stream in seconds.
EVENTS_POLL_SECONDS = 1
EVENTS_HEARTBEAT_SECONDS = 2
EVENTS_STREAM_SECONDS = 8


def row_names(mixed: bool = False) -> list[str]:
    """The matrix rows, top to bottom; the mixed column adds its cross-port modules before the faults."""
    cross = mixed_modules() if mixed else []
    return ["contract", *behaviour_modules(), "transport", *cross, *faults_modules(), "shutdown", "logs"]


@dataclass
class Column:
    """One port served one way: its cells by row, and the time each layer took."""

    name: str
    cells: dict[str, Tally] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    mixed: bool = False  # the gateway column, with the cross-port rows
    figures: dict[str, Any] = field(default_factory=dict)  # the faults layer's, by experiment
    # The contract layer's reach: operationId to [cases answered 2xx, cases in all] (coverage.py).
    coverage: dict[str, list[int]] = field(default_factory=dict)

    def record_reach(self, reach: list[Reach]) -> None:
        """Keep the contract layer's per-operation 2xx counts, if this layer was the contract one."""
        self.coverage.update({entry.operation_id: [entry.success, entry.calls] for entry in reach})

    def fail_all(self, reason: str) -> None:
        """Mark every row not yet filled as failed for `reason`."""
        self.notes.append(reason)
        for row in row_names(self.mixed):
            self.cells.setdefault(row, Tally(failed=1, failures=[reason], broken=True))


def column_name(port: Port, start: Start) -> str:
    """The port's name, plus the start's when the port has several."""
    return port.name if len(port.starts) == 1 else f"{port.name}:{start.name}"


@contextlib.contextmanager
def fresh_database(kind: str, postgres_url: str | None, existing: str = "") -> Iterator[str]:
    """A new empty database of `kind` for one column; or `existing`, a user's, neither created nor dropped."""
    if existing:
        yield existing
    elif kind == "postgres":
        assert postgres_url is not None
        with postgres_database(postgres_url) as url:
            yield url
    else:
        with sqlite_database() as url:
            yield url


def faults_target(
    names: tuple[str, ...], start: str, kind: str, postgres_url: str | None, redis_url: str, existing: str
) -> FaultsTarget:
    """What the faults layer starts: on a user's existing database it makes none of its own, and its
    read-only experiment switches that database through a connection to it (its owner may)."""
    admin = existing if existing and kind == "postgres" else postgres_url or ""
    mixed = start == ""  # the mixed column runs every port's first start
    return FaultsTarget(names, start, mixed, kind, admin, redis_url, existing)


def setup(port: Port, log: Path) -> str | None:
    """Run the port's setup commands; None when they all succeeded, else why not."""
    with open(log, "wb") as sink:
        for step in port.setup:
            status = subprocess.run(
                server.resolve(step), cwd=port.directory, env=server.clean_env({}), stdout=sink,
                stderr=subprocess.STDOUT, timeout=900, check=False,
            ).returncode  # fmt: skip
            if status != 0:
                return f"setup {' '.join(step)} exited with status {status}; see {log}"
    return None


def run_column(
    port: Port,
    start: Start,
    kind: str,
    postgres_url: str | None,
    report_dir: Path,
    redis_url: str = "",
    layers: tuple[str, ...] = MATRIX_LAYERS,
    existing: str = "",
) -> Column:
    """Set up, serve on a fresh database (or `existing`), run every layer, stop; never raises for a port."""
    column = Column(column_name(port, start))
    out = report_dir / column.name.replace(":", "-")
    out.mkdir(parents=True, exist_ok=True)
    reason = setup(port, out / "setup.log")
    if reason:
        column.fail_all(reason)
        return column
    faults = faults_target((port.name,), start.name, kind, postgres_url, redis_url, existing)
    try:
        with fresh_database(kind, postgres_url, existing) as database_url:
            _serve_and_test(port, start, database_url, out, column, redis_url, layers, faults)
    except DatabaseError as exc:
        column.fail_all(str(exc))
    check_logs(column, out, ["server.log"])
    return column


def run_faults(
    column: Column, base_url: str, out: Path, settings: ServerSettings, faults: FaultsTarget
) -> None:
    """The faults layer (its own servers, or the mixed column's gateway), its rows and its figures."""
    # A report directory used before must not lend this run its logs or figures.
    shutil.rmtree(out / figures.FIGURES_DIR, ignore_errors=True)
    (out / figures.MERGED).unlink(missing_ok=True)
    try:
        result = run_layer("faults", base_url, out, settings, log=out / "faults.log", faults=faults)
    finally:
        # Even when interrupted: the servers a killed lane could not stop itself.
        leftovers = kill_leftovers(out / figures.FIGURES_DIR)
    if leftovers:
        column.notes.append(f"faults: servers left running, killed: {leftovers}")
    column.cells.update(result.rows)
    column.seconds["faults"] = result.seconds
    if result.note:
        column.notes.append(f"faults: {result.note}")
    column.figures = figures.merge(out)


def check_logs(column: Column, out: Path, names: list[str]) -> None:
    """The `logs` row, once every server of the column has stopped (unless the column never ran)."""
    if "logs" not in column.cells:
        column.cells["logs"] = logcheck.check(out, names)


def new_settings(redis_url: str = "") -> ServerSettings:
    """A random SECRET_KEY, the matrix's short live-event timings, and Redis when given."""
    return ServerSettings(
        secrets.token_urlsafe(32), EVENTS_HEARTBEAT_SECONDS, EVENTS_STREAM_SECONDS, redis_url
    )


def server_env(port: Port, database_url: str, settings: ServerSettings) -> dict[str, str]:
    """The environment every port is started with by the matrix, plus the port's own [env]."""
    return {
        "DATABASE_URL": database_url,
        "SECRET_KEY": settings.secret_key,
        "SPEC_DIR": str(SPEC_DIR),
        "WEB_DIR": str(WEB_DIR),
        "CORS_ALLOW_ORIGINS": ALLOWED_ORIGIN,
        "EVENTS_POLL_SECONDS": str(EVENTS_POLL_SECONDS),
        "EVENTS_HEARTBEAT_SECONDS": str(settings.events_heartbeat_seconds),
        "EVENTS_STREAM_SECONDS": str(settings.events_stream_seconds),
        # Without it a port polls the events table; with it Redis wakes its streams (spec: Live events).
        **({"REDIS_URL": settings.redis_url} if settings.redis_url else {}),
        **port.env,
    }


def _serve_and_test(
    port: Port,
    start: Start,
    database_url: str,
    out: Path,
    column: Column,
    redis_url: str,
    layers: tuple[str, ...],
    faults: FaultsTarget,
) -> None:
    settings = new_settings(redis_url)
    env = server_env(port, database_url, settings)
    running = server.start(start.command, port.directory, env, out / "server.log")
    try:
        not_ready = running.wait_ready(port.ready)
        if not_ready:
            column.fail_all(f"{not_ready}; server log tail:\n{server.log_tail(running.log)}")
            return
        for layer in layers:
            if layer == "faults":
                run_faults(column, running.base_url, out, settings, faults)
                continue
            result = run_layer(layer, running.base_url, out, settings, log=out / f"{layer}.log")
            column.record_reach(result.reach)
            column.cells.update(result.rows)
            column.seconds[layer] = result.seconds
            if result.note:
                column.notes.append(f"{layer}: {result.note}")
        problem = running.stop()
        column.cells["shutdown"] = Tally(passed=1) if problem is None else Tally(failed=1, failures=[problem])
        if problem:
            column.notes.append(f"shutdown: {problem}")
    finally:
        # Whatever happened, leave no server or worker behind.
        running.kill()
