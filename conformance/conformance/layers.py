"""Run one layer of the suite (contract, behaviour, transport, faults) as a subprocess; read its JUnit XML."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from conformance import coverage
from conformance.junit import Tally, tally
from conformance.paths import (
    BEHAVIOUR_TESTS,
    CONFORMANCE_DIR,
    FAULTS_TESTS,
    SCHEMATHESIS_CONFIG,
    SPEC_DIR,
    TRANSPORT_TESTS,
    behaviour_modules,
    faults_modules,
)
from conformance.settings import FaultsTarget, ServerSettings

LAYERS = ("contract", "behaviour", "transport")
# The matrix's layers: the three above against the column's server, then the faults layer, which starts
# servers of its own (it needs to know the column, not only a URL: `conformance run` cannot run it).
MATRIX_LAYERS = (*LAYERS, "faults")

# The cross-port tests of the gateway column (`conformance matrix --mixed`): they need every port's URL.
MIXED_TESTS = CONFORMANCE_DIR / "tests" / "mixed"

# How long an interrupted layer's tools get to clean up after SIGINT before they are killed.
INTERRUPT_GRACE = 15.0
# Upper bounds per layer, so that a hung server fails its column instead of hanging the matrix.
TIMEOUTS = {"contract": 900, "behaviour": 900, "transport": 300, "mixed": 600, "faults": 600}


def mixed_modules() -> list[str]:
    """Names of the cross-port modules, one row each in the mixed column."""
    return sorted(path.stem for path in MIXED_TESTS.glob("test_*.py"))


@dataclass
class LayerResult:
    """What one layer did: exit status, duration and the rows it fills in the matrix."""

    name: str
    returncode: int
    seconds: float
    rows: dict[str, Tally] = field(default_factory=dict)
    note: str = ""
    reach: list[coverage.Reach] = field(default_factory=list)  # the contract layer's, per operation

    @property
    def ok(self) -> bool:
        """A layer passes when its tool exits 0 and no row it owns has a failure."""
        return self.returncode == 0 and all(row.failed == 0 for row in self.rows.values())


def _command(
    layer: str,
    base_url: str,
    junit: Path,
    settings: ServerSettings,
    port_urls: dict[str, str],
    faults: FaultsTarget | None,
    tests: list[Path] | None = None,
) -> list[str]:
    if layer == "contract":
        schemathesis = str(Path(sys.executable).with_name("schemathesis"))
        return [
            schemathesis, "--config-file", str(SCHEMATHESIS_CONFIG), "run", str(SPEC_DIR / "openapi.yaml"),
            "--url", base_url, "--workers", "1",
            "--report", "junit", "--report-junit-path", str(junit),
        ]  # fmt: skip
    default = {"behaviour": BEHAVIOUR_TESTS, "transport": TRANSPORT_TESTS, "mixed": MIXED_TESTS}.get(layer)
    paths = [str(path) for path in (tests or [default or FAULTS_TESTS])]
    urls = ",".join(f"{name}={url}" for name, url in port_urls.items())
    extra = {
        "mixed": [f"--port-urls={urls}"],
        # Two test processes, one module each at a time: the modules share nothing (every test makes its
        # own users), so this cuts the layer's wall time by about a third on two cores.
        "behaviour": ["-n", "2", "--dist", "loadfile"],
        "faults": faults.pytest_args(junit.parent) if faults else [],
    }.get(layer, [])
    return [
        sys.executable, "-m", "pytest", *paths, "--rootdir", str(CONFORMANCE_DIR), "-q", "-rf",
        "--base-url", base_url, *settings.pytest_args(), *extra, "--junitxml", str(junit),
    ]  # fmt: skip


def _interrupt(processes: list[subprocess.Popen[bytes]]) -> None:
    """SIGINT each tool's process group, and wait for them (up to INTERRUPT_GRACE seconds in all)."""
    for process in processes:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGINT)
    deadline = time.monotonic() + INTERRUPT_GRACE
    for process in processes:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=max(deadline - time.monotonic(), 0.1))


def faults_lanes(database: str) -> dict[str, list[str]]:
    """The faults layer's two lanes: the modules each of two pytest processes runs, in order.

    The lanes run side by side, each experiment with servers of its own but for the storms, which
    share one (so both storms are in one lane, one process). What the lanes overlap is starting
    servers, registering users and reading records back: the phases that load the machine or measure a
    bound take the `quiet` lock (conformance/quiet.py), one at a time. The crash, SIGTERM and time
    experiments even the lanes out: with PostgreSQL the database and Redis lane is the long one.
    (pytest-xdist's --dist loadgroup would do this, but it cannot group under pytest 9.2: it renames
    items by `_nodeid`, which pytest no longer reads.)
    """
    lanes = {"storms": ["test_write_storm", "test_login_storm"], "faults": ["test_database", "test_redis"]}
    lanes["storms" if database == "postgres" else "faults"] += ["test_crash", "test_shutdown", "test_time"]
    placed = {module for modules in lanes.values() for module in modules}
    lanes["faults"] += [module for module in faults_modules() if module not in placed]  # a new experiment
    return lanes


def _invocations(
    layer: str,
    base_url: str,
    report_dir: Path,
    settings: ServerSettings,
    port_urls: dict[str, str],
    faults: FaultsTarget | None,
) -> list[tuple[list[str], Path]]:
    """The command(s) of a layer, each with its JUnit path: one, or one per lane for the faults layer."""
    if layer != "faults":
        junit = report_dir / f"{layer}.xml"
        return [(_command(layer, base_url, junit, settings, port_urls, faults), junit)]
    invocations = []
    for lane, modules in faults_lanes(faults.database if faults else "sqlite").items():
        junit = report_dir / f"faults-{lane}.xml"
        tests = [FAULTS_TESTS / f"{module}.py" for module in modules]
        invocations.append((_command(layer, base_url, junit, settings, port_urls, faults, tests), junit))
    return invocations


def _rows(layer: str, junits: list[Path]) -> dict[str, Tally]:
    found: dict[str, Tally] = {}
    for junit in junits:
        for key, counts in tally(junit, by_module=layer in ("behaviour", "mixed", "faults")).items():
            merged = found.setdefault(key, Tally())
            merged.passed += counts.passed
            merged.failed += counts.failed
            merged.skipped += counts.skipped
            merged.failures += counts.failures
    # Every module gets a row, even one whose tests never ran (a collection error, a crash).
    modules = {"behaviour": behaviour_modules, "mixed": mixed_modules, "faults": faults_modules}.get(layer)
    if modules:
        return {module: found.get(module, Tally()) for module in modules()}
    return {layer: found.get("all", Tally())}


def run_layer(
    layer: str,
    base_url: str,
    report_dir: Path,
    settings: ServerSettings,
    log: Path | None = None,
    port_urls: dict[str, str] | None = None,
    faults: FaultsTarget | None = None,
) -> LayerResult:
    """Run `layer`; its JUnit XML goes to report_dir/<layer>.xml, its output to `log` (or the console).

    `port_urls` (name to base URL of each port behind the gateway) is for the `mixed` layer alone;
    `faults` (what to start) for the `faults` layer, whose lanes write faults-<lane>.xml and .log, then
    `log` gets both; its figures and server logs go to report_dir too.
    """  # fmt: skip
    report_dir.mkdir(parents=True, exist_ok=True)
    invocations = _invocations(layer, base_url, report_dir, settings, port_urls or {}, faults)
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "conformance.hooks", "PYTHONUNBUFFERED": "1"}
    calls = report_dir / "contract-calls.jsonl"  # each generated call, recorded by conformance/hooks.py
    if layer == "contract":
        calls.unlink(missing_ok=True)
        env[coverage.CALLS_FILE] = str(calls.resolve())
    started = time.monotonic()
    note = ""
    logs = [log] if log and len(invocations) == 1 else [junit.with_suffix(".log") for _, junit in invocations]
    deadline = started + TIMEOUTS[layer]
    # One shared database (the user's, --database-url): a lane's read-only switch must not fail the other
    # lane's writes, so the lanes run one after the other.
    one_at_a_time = faults is not None and bool(faults.existing)
    returncode = 0
    with contextlib.ExitStack() as stack:
        processes: list[subprocess.Popen[bytes]] = []
        sinks = logs if log else [None] * len(invocations)
        try:
            for (command, junit), path in zip(invocations, sinks, strict=True):
                junit.unlink(missing_ok=True)
                sink = stack.enter_context(open(path, "w")) if path else None
                # A session of its own: on a timeout (or Ctrl-C) the tool goes with every process it
                # started (pytest-xdist's workers), not only the one we know.
                process = subprocess.Popen(
                    command,
                    cwd=CONFORMANCE_DIR,
                    env=env,
                    stdout=sink,
                    stderr=subprocess.STDOUT if sink else None,
                    start_new_session=True,
                )
                processes.append(process)
                if one_at_a_time:
                    process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            for process in processes:
                status = process.wait(timeout=max(deadline - time.monotonic(), 0.1))
                returncode = returncode or status
        except subprocess.TimeoutExpired:
            returncode, note = -1, f"timed out after {TIMEOUTS[layer]} s"
        except BaseException:
            # Interrupted (Ctrl-C, SIGTERM): first let each tool run its own clean-up (the faults layer's
            # fixtures stop their servers and drop their databases on SIGINT), then kill what is left.
            _interrupt(processes)
            raise
        finally:
            for process in processes:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    if log and len(invocations) > 1:
        # One log for the layer, lane after lane (the lanes wrote their own while running side by side).
        log.write_text("".join(f"== {path.stem}\n{path.read_text(errors='replace')}\n" for path in logs))
    rows = _rows(layer, [junit for _, junit in invocations])
    if returncode != 0 and not any(row.failed for row in rows.values()):
        # The tool failed without a failing test case (crash, usage error, timeout): blame every row.
        note = note or f"exit status {returncode} without a failing test case"
        for row in rows.values():
            row.failed += 1
            row.failures.append(note)
            row.broken = True
    reach = []
    if layer == "contract":
        reach = coverage.measure(calls)
        coverage.write(reach, report_dir)
        coverage.judge(reach, rows["contract"])
    return LayerResult(layer, returncode, time.monotonic() - started, rows, note, reach)
