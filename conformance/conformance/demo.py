"""`conformance demo`: every port behind the gateway on one SQLite database, the suite once, then serve."""

from __future__ import annotations

import re
import signal
import socket
import threading
import time
from pathlib import Path
from types import FrameType

from conformance import report, server
from conformance.database import DatabaseError
from conformance.figures import FIGURES_DIR
from conformance.junit import Tally
from conformance.layers import MATRIX_LAYERS, mixed_modules
from conformance.matrix import Column, check_logs, fresh_database, new_settings, setup
from conformance.mixed import MIXED, Stack, run_suite
from conformance.paths import behaviour_modules, faults_modules
from conformance.ports import Port
from conformance.processes import kill_leftovers
from conformance.settings import FaultsTarget

# Fixed local ports, so that the printed URLs are the same from one demo to the next (when free).
GATEWAY_PORT = 8080
FIRST_PORT = 8001
TICK_SECONDS = 15.0

# The layers in the order the demo runs them, and the matrix rows each one fills.
LAYER_ROWS = {
    "contract": lambda: ["contract"],
    "behaviour": behaviour_modules,
    "transport": lambda: ["transport"],
    "mixed": mixed_modules,
    "faults": faults_modules,
}


# The `mixed` layer is the cross-port tests (tests/mixed/).
LABELS = {"mixed": "cross-port"}


def say(text: str) -> None:
    """One progress line, at once (make pipes nothing, but a terminal may buffer)."""
    print(text, flush=True)


def _is_free(port: int) -> bool:
    with socket.socket() as sock:
        # As gunicorn and nginx bind: a port left in TIME_WAIT is free, one with a listener is not.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((server.HOST, port))
        except OSError:
            return False
    return True


def choose_ports(names: list[str], gateway: int = GATEWAY_PORT, first: int = FIRST_PORT) -> dict[str, int]:
    """The gateway's and each port's fixed local port, or a free one (with a note) where it is taken."""
    wanted = {"gateway": gateway, **{name: first + index for index, name in enumerate(names)}}
    chosen = {}
    for name, port in wanted.items():
        if _is_free(port):
            chosen[name] = port
        else:
            chosen[name] = server.free_port()
            say(f"   note: {server.HOST}:{port} is taken, {name} listens on {chosen[name]} instead")
    return chosen


def _pytest_progress(text: str) -> str:
    """`N tests done (P%)` from pytest -q's progress lines (one character per test, `[ P%]` at the end)."""
    done = failed = 0
    percent = ""
    for line in text.splitlines():
        match = re.fullmatch(r"([.FEsxX]+)\s*(?:\[\s*(\d+)%\])?", line.strip())
        if match:
            done += len(match.group(1))
            failed += sum(match.group(1).count(mark) for mark in "FE")
            percent = match.group(2) or percent
    text = f"{done} tests done" + (f" ({percent}%)" if percent else "")
    return text + (f", {failed} failed" if failed else "")


def _schemathesis_progress(text: str) -> str:
    """The phases schemathesis has finished (it prints one line per phase as it ends)."""
    phases = re.findall(r"^\s*\S+\s+(Examples|Coverage|Fuzzing|Stateful) \(in ", text, re.MULTILINE)
    return "phases done: " + (", ".join(phases) if phases else "none yet") + " of 4"


class Ticker(threading.Thread):
    """Every TICK_SECONDS, a line on the running layer: its time so far and what its log shows done."""

    def __init__(self, out: Path) -> None:
        super().__init__(daemon=True)
        self.out = out
        self.layer = ""
        self.since = time.monotonic()
        self.done = threading.Event()

    def start_layer(self, layer: str) -> None:
        """A new layer runs from now."""
        self.layer, self.since = layer, time.monotonic()

    def run(self) -> None:
        """Tick until `done` is set."""
        while not self.done.wait(TICK_SECONDS):
            if self.layer:
                elapsed = time.monotonic() - self.since
                say(f"   ... {LABELS.get(self.layer, self.layer)}: {elapsed:.0f} s, {self.progress()}")

    def progress(self) -> str:
        """What the running layer's log(s) show done so far."""
        # The faults layer's two lanes each write their own log while they run.
        names = (
            ["faults-storms.log", "faults-faults.log"] if self.layer == "faults" else [f"{self.layer}.log"]
        )
        text = "".join(
            (self.out / name).read_text(errors="replace") for name in names if (self.out / name).exists()
        )
        return _schemathesis_progress(text) if self.layer == "contract" else _pytest_progress(text)


def _sum(column: Column, rows: list[str]) -> Tally:
    total = Tally()
    for row in rows:
        tally = column.cells.get(row, Tally())
        total.passed += tally.passed
        total.failed += tally.failed
        total.skipped += tally.skipped
    return total


def layer_line(column: Column, layer: str) -> str:
    """`contract: pass 23 checks (41 s)`, with the failures' count and the skips when there are any."""
    tally = _sum(column, LAYER_ROWS[layer]())
    verdict = "pass" if not tally.failed else f"FAIL {tally.failed}/{tally.total}"
    skipped = f", {tally.skipped} skipped (not for this configuration)" if tally.skipped else ""
    seconds = column.seconds.get(layer)
    timing = f" ({seconds:.0f} s)" if seconds is not None else ""
    return f"{LABELS.get(layer, layer)}: {verdict}, {tally.passed} checks passed{skipped}{timing}"


def summary(column: Column, timings: dict[str, float]) -> str:
    """Checks passed per layer, then the time of each phase of the demo."""
    layers = [layer for layer in LAYER_ROWS if any(row in column.cells for row in LAYER_ROWS[layer]())]
    lines = [f"  {layer_line(column, layer)}" for layer in layers]
    logs = column.cells.get("logs")
    if logs is not None:
        lines.append(f"  logs: {report.cell_text(logs)} server logs without a traceback or a 500")
    total = _sum(column, [row for layer in layers for row in LAYER_ROWS[layer]()])
    lines.append(f"  all: {total.passed} checks passed, {total.failed} failed")
    lines.append("  time: " + ", ".join(f"{phase} {seconds:.0f} s" for phase, seconds in timings.items()))
    return "\n".join(lines)


def urls(stack: Stack) -> str:
    """Where to look: the gateway's pages, and each port on its own."""
    assert stack.gateway is not None
    gateway = stack.gateway.base_url
    lines = [
        f"  live page  {gateway}/        (through the gateway: each request to another port)",
        f"  API docs   {gateway}/docs",
    ]
    width = max(len(name) for name in stack.running)
    lines += [f"  {name.ljust(width)}  {instance.base_url}/" for name, instance in stack.running.items()]
    return "\n".join(lines)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # SIGTERM stops the demo exactly as Ctrl-C does


def run_demo(ports: list[Port], report_dir: Path, redis_url: str = "", install_seconds: float = 0.0) -> int:
    """Set up and start every port behind the gateway, run the whole suite through it, serve until Ctrl-C.

    Exit status 0 when every row passed, shutdown included; 1 otherwise (or when nothing could start).
    """
    # Ctrl-C even when started with SIGINT ignored (from a script's background job); SIGTERM alike.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    began = time.monotonic()
    timings = {"install": install_seconds} if install_seconds else {}
    column = Column(MIXED, mixed=True)
    out = report_dir / MIXED
    out.mkdir(parents=True, exist_ok=True)
    for port in ports:
        started = time.monotonic()
        reason = setup(port, out / f"{port.name}-setup.log")
        if reason:
            say(f"== setup {port.name}: {reason}")
            return 1
        say(f"== setup {port.name}: ok ({time.monotonic() - started:.0f} s)")
    names = tuple(port.name for port in ports)
    faults = FaultsTarget(names, "", True, "sqlite", "", redis_url)
    try:
        with fresh_database("sqlite", None) as database_url:
            timings["setup"] = time.monotonic() - began
            return _serve(ports, database_url, out, report_dir, column, faults, timings)
    except DatabaseError as exc:
        say(f"== database: {exc}")
        return 1
    finally:
        say(f"reports: {report_dir / 'matrix.md'}, server logs: {out}/")


def _serve(
    ports: list[Port],
    database_url: str,
    out: Path,
    report_dir: Path,
    column: Column,
    faults: FaultsTarget,
    timings: dict[str, float],
) -> int:
    settings = new_settings(faults.redis_url)
    redis = f"Redis {faults.redis_url}" if faults.redis_url else "no Redis (streams poll the events table)"
    say(f"== start: {', '.join(faults.ports)} (first start command each) on one SQLite database, {redis}")
    listen = choose_ports(list(faults.ports))
    stack = Stack()
    ticker = Ticker(out)
    layer = "start"

    def announce(name: str, running: server.Server, seconds: float) -> None:
        say(f"   {name} ready at {running.base_url}/ ({seconds:.1f} s)")

    def on_layer(name: str) -> None:
        nonlocal layer
        if layer in LAYER_ROWS:
            say(f"== {layer_line(column, layer)}")
        layer = name
        say(f"== {LABELS.get(name, name)}: running")
        ticker.start_layer(name)

    try:
        started = time.monotonic()
        problem = stack.start(ports, database_url, out, settings, listen, announce)
        timings["start"] = time.monotonic() - started
        if problem:
            say(f"== start failed: {problem}")
            return 1
        started = time.monotonic()
        ticker.start()
        run_suite(column, stack, out, settings, MATRIX_LAYERS, faults, on_layer)
        ticker.done.set()
        say(f"== {layer_line(column, layer)}")
        timings["suite"] = time.monotonic() - started
        check_logs(column, out, [f"{name}.log" for name in faults.ports])  # so far; again after the stop
        timings["total"] = sum(timings.values())
        report.write([column], "sqlite", report_dir)
        say("\n" + report.console([column]))
        say("(the shutdown row is checked when you stop the demo)\n")
        say("summary:\n" + summary(column, timings) + "\n")
        say("The stack is running; Ctrl-C stops it.\n" + urls(stack))
        layer = "serving"
        _watch(stack)
    except KeyboardInterrupt:
        say(f"\n== interrupted ({layer}): stopping everything")
    finally:
        # A second Ctrl-C (or the SIGTERM make passes on) must not cut the clean-up short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        ticker.done.set()
        killed = kill_leftovers(out / FIGURES_DIR)  # the faults layer's servers, if it was interrupted
        if killed:
            say(f"   the faults layer's servers, killed: {killed}")
        if layer == "serving":
            column.cells["shutdown"] = stack.stop_all(column)
        stack.close()
    if layer != "serving":
        return 130  # interrupted before the suite had finished: no verdict
    return _verdict(column, out, report_dir, faults.ports)


def _verdict(column: Column, out: Path, report_dir: Path, names: tuple[str, ...]) -> int:
    """The shutdown row, the logs row again (now that every server has stopped), the report, the status."""
    column.cells.pop("logs", None)
    check_logs(column, out, [f"{name}.log" for name in names])
    report.write([column], "sqlite", report_dir)
    shutdown = report.cell_text(column.cells["shutdown"])
    say(f"== shutdown: {shutdown} (the gateway and each port exit 0 within 15 s of SIGTERM)")
    say(f"== logs: {report.cell_text(column.cells['logs'])}")
    for note in column.notes:
        say(f"   note: {note[:500]}")
    ok = all(not tally.failed for tally in column.cells.values())
    say("== demo: " + ("every row passed" if ok else "some rows FAILED (see the report)"))
    return 0 if ok else 1


def _watch(stack: Stack) -> None:
    """Serve until interrupted, saying so once if a server stops on its own."""
    assert stack.gateway is not None
    everyone = {"gateway": stack.gateway.running, **stack.running}
    gone: set[str] = set()
    while True:
        time.sleep(1.0)
        for name, instance in everyone.items():
            if name not in gone and instance.process.poll() is not None:
                gone.add(name)
                say(f"   warning: {name} exited with status {instance.process.returncode}")
